// conflux-lra train and eval: the training loop, evaluation, and the final summary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apps/lra/config.h"
#include "apps/lra/model.h"
#include "data/dataset.h"

namespace cfx::lra {

struct EvalResult {
  double loss = 0.0;
  double acc = 0.0;      // fraction correct
  int64_t examples = 0;
};
// Mean loss and accuracy over the first `max_batches` batches of `dataset` (0 = all), in order.
EvalResult evaluate(LraModel& model, std::shared_ptr<const data::Dataset> dataset, const LraConfig& cfg,
                    int64_t max_batches = 0);

struct TrainSummary {
  int64_t params = 0;
  int64_t start_step = 0, steps = 0;  // this session ran (start_step, steps]
  double train_loss = 0.0;            // mean over the last eval_every steps
  double val_acc = 0.0, test_acc = 0.0;
  double wall_s = 0.0;                // this session
  double examples_per_s = 0.0;        // training throughput of this session
  std::string checkpoint;             // the final checkpoint
};

// The whole run described by cfg (a fresh one, or --resume from <out>/state.json). Writes
// metrics, checkpoints and the final summary table (stdout).
TrainSummary train(const LraConfig& cfg);

}  // namespace cfx::lra
