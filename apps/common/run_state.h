// What a training run of any app keeps on disk so that --resume continues it exactly:
//
//   <out>/ckpt_<step>.h5   model + optimiser state (nn::save, written to .tmp and renamed)
//   <out>/state.json       the commit point, written after the checkpoint (also tmp + rename):
//                          {"checkpoint": "ckpt_000500.h5", "step": 500, "epoch": 3, "batch": 12,
//                           "rng_seed": 1, "rng_offset": 81920, "elapsed_s": 61.2}
//   <out>/config.json      every flag of the run (eval and --resume start from it)
//   <out>/best.h5          model + optimiser at the best evaluation so far, when the app tracks one
//
// A crash between the checkpoint and state.json leaves state.json naming the previous
// checkpoint, which is still on disk (the newest `keep` checkpoints are kept).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "nn/module.h"
#include "nn/optim.h"

namespace cfx::app {

struct RunState {
  std::string checkpoint;     // file name inside the run directory
  int64_t step = 0;           // optimiser updates done
  int64_t epoch = 0;          // the training loader's epoch of the next batch
  int64_t batch = 0;          // batches already taken from that epoch
  uint64_t rng_seed = 0;      // the default generator (dropout masks) ...
  uint64_t rng_offset = 0;    // ... and how far it has been drawn
  double elapsed_s = 0.0;     // training wall time of all sessions so far
  std::optional<double> best;  // the best value of the tracked metric so far (apps/common/trainer.h)
  int64_t best_step = -1;      // ... and the step it was reached at (best.h5 holds that model)
};

// Writes text to path.tmp, then renames it over path.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

// state.json alone (atomically), e.g. to record a new best value after the last checkpoint.
void write_run_state(const std::filesystem::path& out, const RunState& state);
// ckpt_<step>.h5 then state.json; then deletes all but the newest `keep` step checkpoints.
// Fills state.checkpoint.
void save_run(const std::filesystem::path& out, const nn::Module& model, const nn::Optimizer& optimizer,
              RunState& state, int64_t keep);
// Removes the step checkpoints and state.json of an earlier run in `out` (a fresh start).
void clear_run(const std::filesystem::path& out);
// state.json of a run directory, or nullopt when there is none.
std::optional<RunState> read_run_state(const std::filesystem::path& out);
// Loads the model and optimiser from state.checkpoint (throws naming the file on any mismatch).
void load_run(const std::filesystem::path& out, const RunState& state, nn::Module& model, nn::Optimizer& optimizer);

// The default generator's position (what dropout draws from), and setting it back.
void capture_rng(RunState& state);
void restore_rng(const RunState& state);

}  // namespace cfx::app
