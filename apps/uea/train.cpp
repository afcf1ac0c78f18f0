// conflux-uea train: the UEA recipe (BENCHMARKS 4.3-4.4) on the shared loop: Flowformer
// (uea preset), RAdam or Adam at a constant lr, batch 16, clipping at 4.0, cross-entropy;
// evaluations at epoch 0, 1, every --eval-every and the last, the best one kept in best.h5.
#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "apps/common/cli.h"
#include "apps/common/run_state.h"
#include "apps/common/seeds.h"
#include "apps/uea/data.h"
#include "apps/uea/uea.h"
#include "autograd/grad_mode.h"
#include "core/generator.h"
#include "core/parallel.h"
#include "nn/checkpoint.h"
#include "nn/models.h"
#include "ops/creation.h"
#include "ops/nn_ops.h"
#include "ops/reduce.h"

namespace cfx::uea {

namespace fs = std::filesystem;

namespace {

nn::FlowformerClassifierConfig model_config(const UeaConfig& cfg, const UeaData& d) {
  nn::FlowformerClassifierConfig m =
      nn::FlowformerClassifierConfig::uea(d.train.channels, d.max_len, static_cast<int64_t>(d.classes.size()));
  m.n_layers = cfg.layers;
  m.layer.d_model = cfg.d_model;
  m.layer.n_heads = cfg.heads;
  m.layer.d_ff = cfg.d_ff;
  m.input_scale = std::sqrt(static_cast<double>(cfg.d_model));
  m.layer.dropout = m.layer.activation_dropout = m.embedding_dropout = cfg.dropout;
  return m;
}

// Mean loss and accuracy over the whole test set, in order, batch by batch.
app::EvalResult evaluate(nn::FlowformerClassifier& model, const UeaData& d, int64_t batch_size, Device device) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  app::EvalResult r{"test"};
  double loss_sum = 0;
  int64_t correct = 0;
  const std::unique_ptr<UeaLoader> loader = make_loader(d.test, d.test_targets, d.max_len, batch_size, false, 0);
  while (auto next = loader->next_batch()) {
    const data::TensorDict b = next->to(device);
    const Tensor logits = model.forward(b.at("x"), b.at("x_padding"));
    loss_sum += cross_entropy(logits, b.at("target")).item<double>() * static_cast<double>(b.batch_size());
    correct += app::count_correct(logits, b.at("target"));
    r.examples += b.batch_size();
  }
  model.train(was_training);
  r.loss = loss_sum / static_cast<double>(r.examples);
  r.acc = static_cast<double>(correct) / static_cast<double>(r.examples);
  return r;
}

std::unique_ptr<nn::Optimizer> make_optimizer(const UeaConfig& cfg, nn::Module& model) {
  if (cfg.optimizer == "adam") return std::make_unique<nn::Adam>(model.parameters(), nn::AdamOptions{.lr = cfg.lr});
  return std::make_unique<nn::RAdam>(model.parameters(), nn::RAdamOptions{.lr = cfg.lr});
}

}  // namespace

UeaTrainReport train(const UeaConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const UeaData d = load_uea(cfg);
  const Device device = Device::parse(cfg.device);
  Generator init_gen(static_cast<uint64_t>(cfg.seed));
  nn::FlowformerClassifier model(model_config(cfg, d), &init_gen);
  model.to(device);  // before the optimizer, whose state is made beside each parameter
  const std::unique_ptr<nn::Optimizer> optimizer = make_optimizer(cfg, model);
  manual_seed(static_cast<uint64_t>(cfg.seed));  // dropout masks (a resumed run restores the position)

  // ---- one epoch = every training series once, in a seeded order, the last batch smaller
  const std::unique_ptr<UeaLoader> loader =
      make_loader(d.train, d.train_targets, d.max_len, cfg.batch_size, true, static_cast<uint64_t>(cfg.seed));
  data::BatchStream<data::TensorDict> batches(*loader);
  const int64_t n = d.train.size(), per_epoch = loader->num_batches();
  app::TrainHooks hooks;
  hooks.micro_step = [&](double loss_scale) {
    const data::TensorDict b = batches.next_batch().to(device);
    const Tensor logits = model.forward(b.at("x"), b.at("x_padding"));
    const Tensor loss = cross_entropy(logits, b.at("target"));
    (loss_scale == 1.0 ? loss : loss * loss_scale).backward();
    return app::StepStats{loss.item<double>(), app::count_correct(logits, b.at("target")), b.batch_size()};
  };
  hooks.position = [&] { return std::pair{batches.epoch(), batches.batch()}; };
  hooks.seek = [&](int64_t epoch, int64_t batch) { batches.seek(epoch, batch); };
  hooks.evaluate = [&](bool) { return std::vector<app::EvalResult>{evaluate(model, d, cfg.batch_size, device)}; };

  app::TrainerOptions o;
  o.out_dir = cfg.out_dir;
  o.log_file = cfg.log_file;
  o.resume = cfg.resume;
  o.steps = cfg.epochs * per_epoch;
  o.steps_per_epoch = per_epoch;
  o.clip_grad_norm = cfg.clip;
  o.evaluate_at = [&](int64_t step) {  // the official schedule, in epochs
    if (step % per_epoch != 0) return false;
    const int64_t e = step / per_epoch;
    return e <= 1 || e % cfg.eval_every == 0 || e == cfg.epochs;
  };
  o.best_metric = "test acc";
  o.checkpoint_every = cfg.checkpoint_every * per_epoch;
  o.keep_checkpoints = cfg.keep_checkpoints;
  o.log_every = cfg.log_every;
  o.time_limit = cfg.time_limit;
  o.name = fmt::format("{} ({} channels, {} classes, length {}; {} train / {} test series)", cfg.dataset,
                       d.train.channels, d.classes.size(), d.max_len, n, d.test.size());
  UeaTrainReport report;
  report.summary = app::train(model, *optimizer, o, hooks);
  report.steps_per_epoch = per_epoch;
  report.last_acc = report.summary.final.at(0).acc;
  report.best_acc = report.summary.best.value_or(report.last_acc);
  report.best_epoch = report.summary.best_step / per_epoch;

  const auto paper = paper_accuracy(cfg.dataset);
  app::Table table({"dataset", "params", "epochs", "best test acc", "at epoch", "last test acc", "paper", "time"});
  table.add_row({cfg.dataset, std::to_string(report.summary.params), std::to_string(report.summary.steps / per_epoch),
                 fmt::format("{:.2f}%", 100 * report.best_acc), std::to_string(report.best_epoch),
                 fmt::format("{:.2f}%", 100 * report.last_acc), paper ? fmt::format("{:.1f}%", *paper) : "-",
                 app::format_duration(report.summary.wall_s)});
  std::cout << "\n" << table.str() << "best model: " << (fs::path(cfg.out_dir) / "best.h5").string()
            << "\nmetrics:    " << report.summary.log_file.string() << "\n";
  return report;
}

SeedsSummary train_seeds(const UeaConfig& cfg) {
  SeedsSummary s;
  const auto paper = paper_accuracy(cfg.dataset);
  app::JsonObject about{{"dataset", cfg.dataset}};
  if (paper) about.emplace_back("paper_acc", *paper / 100);
  const app::SeedsReport seeds = app::run_seeds(cfg.seed, cfg.seeds, cfg.out_dir, [&](int64_t seed, const fs::path& dir) {
    UeaConfig one = cfg;
    one.seeds = 1;
    one.seed = seed;
    one.out_dir = dir.string();
    one.log_file.clear();
    s.runs.push_back(train(one));
    return app::Figures{{"best_acc", s.runs.back().best_acc}, {"last_acc", s.runs.back().last_acc}};
  }, about);
  s.best_mean = seeds.mean("best_acc"), s.best_std = seeds.std("best_acc");
  s.last_mean = seeds.mean("last_acc"), s.last_std = seeds.std("last_acc");

  app::Table table({"dataset", "seeds", "best test acc", "last test acc", "paper"});
  table.add_row({cfg.dataset, fmt::format("{}..{}", cfg.seed, cfg.seed + cfg.seeds - 1),
                 fmt::format("{:.2f} ± {:.2f}%", 100 * s.best_mean, 100 * s.best_std),
                 fmt::format("{:.2f} ± {:.2f}%", 100 * s.last_mean, 100 * s.last_std),
                 paper ? fmt::format("{:.1f}%", *paper) : "-"});
  std::cout << "\n" << table.str();
  return s;
}

app::EvalResult evaluate_checkpoint(const UeaConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const fs::path file = cfg.checkpoint.empty() ? fs::path(cfg.out_dir) / "best.h5" : fs::path(cfg.checkpoint);
  CFX_CHECK(fs::exists(file), "conflux-uea eval: no checkpoint ", file.string(),
            "\nHINT: pass --out RUN_DIR of a training run, or --checkpoint FILE");
  const UeaData d = load_uea(cfg);
  nn::FlowformerClassifier model(model_config(cfg, d));
  nn::load(model, file);
  const Device device = Device::parse(cfg.device);
  model.to(device);
  return evaluate(model, d, cfg.batch_size, device);
}

}  // namespace cfx::uea
