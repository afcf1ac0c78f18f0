// conflux-uea: the paper's UEA time-series benchmark (../shared/BENCHMARKS.md section 4) as one
// program, on the shared app layer (apps/common/).
//
//   conflux-uea train    --dataset JapaneseVowels --data DIR [--out DIR] [--resume] [--seeds N] [flags]
//   conflux-uea eval     --out RUN_DIR [--checkpoint FILE]     (default: the run's best.h5)
//   conflux-uea generate --out DIR [--dataset Synthetic ...]   a synthetic set in the .ts format
//   conflux-uea presets                                        the 10 sets, recipe, paper accuracy
//
// Reported metric, as the paper's: the best test accuracy over the evaluations at epoch 0,
// epoch 1, every --eval-every epochs and the last (the official code validates on the TEST
// file); the last epoch's accuracy is reported beside it.
#pragma once

#include <string>
#include <vector>

#include "apps/common/trainer.h"
#include "apps/uea/config.h"

namespace cfx::uea {

// The whole program: args without argv[0]. Returns the exit code; errors propagate as cfx::Error.
int run(const std::vector<std::string>& args);

// train/eval flags: the dataset's preset, then <out>/config.json (eval, --resume), then the
// command line. Sets *help when --help was given.
UeaConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help = nullptr);

struct UeaTrainReport {
  app::TrainSummary summary;
  double best_acc = 0.0, last_acc = 0.0;  // test accuracy: best over the evaluations, and at the end
  int64_t best_epoch = 0;
  int64_t steps_per_epoch = 0;
};
UeaTrainReport train(const UeaConfig& cfg);

// --seeds N: one run per seed (seed, seed+1, ...) in <out>/seed_<s>/, then the mean and sample
// standard deviation of their best and last test accuracy next to the paper's number, as a
// table and as <out>/summary.json.
struct SeedsSummary {
  std::vector<UeaTrainReport> runs;
  double best_mean = 0.0, best_std = 0.0, last_mean = 0.0, last_std = 0.0;
};
SeedsSummary train_seeds(const UeaConfig& cfg);

// Test accuracy of a checkpoint (default <out>/best.h5).
app::EvalResult evaluate_checkpoint(const UeaConfig& cfg);

}  // namespace cfx::uea
