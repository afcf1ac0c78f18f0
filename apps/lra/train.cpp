// conflux-lra train: the data, the model and AdamW of an LRA task (BENCHMARKS 1.2 for the
// optimiser and schedule), handed to the shared loop (apps/common/trainer.h) as a micro-step
// (next batch -> forward -> cross-entropy -> backward) and an evaluation; then the summary table.
#include "apps/lra/train.h"

#include <fmt/format.h>

#include <iostream>

#include "apps/common/cli.h"
#include "apps/common/run_state.h"
#include "apps/lra/data.h"
#include "autograd/grad_mode.h"
#include "core/parallel.h"
#include "data/dataloader.h"
#include "nn/optim.h"
#include "nn/scheduler.h"
#include "ops/creation.h"
#include "ops/nn_ops.h"

namespace cfx::lra {

namespace {

data::DataLoaderOptions loader_options(const LraConfig& cfg, bool train) {
  data::DataLoaderOptions o;
  o.batch_size = cfg.batch_size;
  o.shuffle = train;
  o.seed = static_cast<uint64_t>(cfg.seed);
  o.drop_last = train;  // fixed-size training batches, like padded_batch(drop_remainder=True)
  o.pad_to = cfg.pad_batch ? 0 : cfg.max_len;
  o.num_workers = static_cast<int>(cfg.workers);
  return o;
}

}  // namespace

app::EvalResult evaluate(LraModel& model, std::shared_ptr<const data::Dataset> dataset, const LraConfig& cfg,
                         const char* split, int64_t max_batches) {
  NoGradGuard no_grad;
  const bool was_training = model.module().is_training();
  model.module().eval();
  data::DataLoader loader(std::move(dataset), loader_options(cfg, /*train=*/false));
  app::EvalResult r{split};
  double loss_sum = 0;
  int64_t correct = 0, batches = 0;
  while (auto next = loader.next_batch()) {
    const data::Batch batch = next->to(model.device());  // a no-op on the CPU
    const Tensor logits = model.forward(batch);
    loss_sum += cross_entropy(logits, batch.targets).item<float>() * static_cast<double>(batch.size());
    correct += app::count_correct(logits, batch.targets);
    r.examples += batch.size();
    if (max_batches > 0 && ++batches >= max_batches) break;
  }
  model.module().train(was_training);
  r.loss = r.examples ? loss_sum / static_cast<double>(r.examples) : 0.0;
  r.acc = r.examples ? static_cast<double>(correct) / static_cast<double>(r.examples) : 0.0;
  return r;
}

app::TrainSummary train(const LraConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));

  // ---- data
  const auto train_set = load_split(cfg, data::Split::kTrain);
  const auto val_set = load_split(cfg, data::Split::kVal);
  const auto test_set = load_split(cfg, data::Split::kTest);
  data::DataLoader train_loader(train_set, loader_options(cfg, /*train=*/true));
  data::BatchStream<data::Batch> batches(train_loader);

  // ---- model and optimiser: flax Adam(b1, b2, eps) with decoupled decay on every parameter
  Generator init_gen(static_cast<uint64_t>(cfg.seed));
  LraModel model(cfg, &init_gen);
  const Device device = Device::parse(cfg.device);
  model.module().to(device);  // before the optimizer, whose state is made beside each parameter
  nn::AdamW optimizer(model.module().parameters(), {.lr = cfg.lr, .beta1 = cfg.beta1, .beta2 = cfg.beta2,
                                                    .eps = cfg.eps, .weight_decay = cfg.weight_decay});
  manual_seed(static_cast<uint64_t>(cfg.seed));  // dropout masks (a resumed run restores the position)

  // ---- the task, as the shared loop sees it
  app::TrainHooks hooks;
  hooks.micro_step = [&](double loss_scale) {
    const data::Batch batch = batches.next_batch().to(device);
    const Tensor logits = model.forward(batch);  // [B, C]
    const Tensor loss = cross_entropy(logits, batch.targets);
    (loss_scale == 1.0 ? loss : loss * loss_scale).backward();
    return app::StepStats{loss.item<float>(), app::count_correct(logits, batch.targets), batch.size()};
  };
  hooks.position = [&] { return std::pair{batches.epoch(), batches.batch()}; };
  hooks.seek = [&](int64_t epoch, int64_t batch) { batches.seek(epoch, batch); };
  hooks.evaluate = [&](bool final) {
    std::vector<app::EvalResult> results;
    const int64_t max_batches = final ? 0 : cfg.eval_batches;  // the final evaluation reads whole splits
    if (final || cfg.eval_val) results.push_back(evaluate(model, val_set, cfg, "val", max_batches));
    if (final || cfg.eval_test) results.push_back(evaluate(model, test_set, cfg, "test", max_batches));
    return results;
  };

  app::TrainerOptions options;
  options.out_dir = cfg.out_dir;
  options.log_file = cfg.log_file;
  options.resume = cfg.resume;
  options.steps = cfg.steps;
  options.schedule = make_schedule(cfg);
  options.eval_every = cfg.eval_every;
  options.checkpoint_every = cfg.checkpoint_every;
  options.keep_checkpoints = cfg.keep_checkpoints;
  options.log_every = cfg.log_every;
  options.time_limit = cfg.time_limit;
  options.name = fmt::format("{} ({} attention, {} train / {} val / {} test examples)", cfg.task, cfg.attention,
                             train_set->size(), val_set->size(), test_set->size());
  const app::TrainSummary summary = app::train(model.module(), optimizer, options, hooks);

  // ---- summary table
  const double val_acc = summary.final.at(0).acc, test_acc = summary.final.at(1).acc;
  const bool trained = summary.steps > summary.start_step;
  app::Table table({"task", "attention", "params", "steps", "train loss", "val acc", "test acc", "time", "examples/s"});
  table.add_row({cfg.task, cfg.attention, std::to_string(summary.params), std::to_string(summary.steps),
                 trained ? fmt::format("{:.4f}", summary.train_loss) : "-", fmt::format("{:.2f}%", 100 * val_acc),
                 fmt::format("{:.2f}%", 100 * test_acc), app::format_duration(summary.wall_s),
                 fmt::format("{:.1f}", summary.examples_per_s)});
  std::cout << "\n" << table.str() << "checkpoint: " << summary.checkpoint.string()
            << "\nmetrics:    " << summary.log_file.string() << "\n";
  return summary;
}

}  // namespace cfx::lra
