// conflux-lra train and eval: the LRA task plugged into the shared loop (apps/common/trainer.h),
// evaluation, and the final summary table.
#pragma once

#include <cstdint>
#include <memory>

#include "apps/common/trainer.h"
#include "apps/lra/config.h"
#include "apps/lra/model.h"
#include "data/dataset.h"

namespace cfx::lra {

// Mean loss and accuracy over the first `max_batches` batches of `dataset` (0 = all), in order.
app::EvalResult evaluate(LraModel& model, std::shared_ptr<const data::Dataset> dataset, const LraConfig& cfg,
                         const char* split, int64_t max_batches = 0);

// The whole run described by cfg (a fresh one, or --resume from <out>/state.json). Writes
// metrics, checkpoints and the final summary table (stdout).
app::TrainSummary train(const LraConfig& cfg);

}  // namespace cfx::lra
