// conflux-imagenet train / eval / predict: the DeiT recipe (BENCHMARKS 3.3) on the shared loop.
// AdamW (eps 1e-8, weight decay 0.05 except on 1-d parameters and pos_embed), lr = lr_base x
// batch / 512, timm's cosine stepped once per epoch after 5 warm-up epochs, clipping at 1.0,
// SoftTargetCrossEntropy on the Mixup/CutMix targets; val top-1 / top-5 after every
// --eval-every epochs, the best top-1 kept in best.h5.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "apps/common/run_state.h"
#include "apps/imagenet/data.h"
#include "apps/imagenet/imagenet.h"
#include "autograd/grad_mode.h"
#include "core/generator.h"
#include "core/parallel.h"
#include "data/image/decode.h"
#include "nn/checkpoint.h"
#include "nn/models.h"
#include "ops/creation.h"
#include "ops/nn_ops.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"

namespace cfx::imagenet {

namespace fs = std::filesystem;

namespace {

// Loss, top-1 and top-5 over the whole split, in file order.
app::EvalResult evaluate(const nn::FlowformerVision& model, ImageLoader& loader, Device device) {
  NoGradGuard no_grad;
  app::EvalResult r{"val"};
  double loss_sum = 0;
  int64_t top1 = 0, top5 = 0;
  loader.set_epoch(0);
  while (auto next = loader.next_batch()) {
    const data::TensorDict b = next->to(device);
    const Tensor logits = model.forward(b.at("x"));
    loss_sum += cross_entropy(logits, b.at("target")).item<double>() * static_cast<double>(b.batch_size());
    top1 += app::count_correct(logits, b.at("target"));
    top5 += app::count_top_k(logits, b.at("target"), 5);
    r.examples += b.batch_size();
  }
  CFX_CHECK(r.examples > 0, "conflux-imagenet: the val split has no image");
  const double n = static_cast<double>(r.examples);
  r.loss = loss_sum / n;
  r.acc = static_cast<double>(top1) / n;
  r.extra = {{"top5", static_cast<double>(top5) / n}};
  return r;
}

// timm's CosineLRScheduler as DeiT steps it: lr_scheduler.step(epoch) after each epoch, so epoch
// e trains at the schedule's value for e - 1, and epochs 0 and 1 both at warmup_lr.
nn::Schedule epoch_schedule(const ImageNetConfig& cfg, int64_t steps_per_epoch) {
  const double lr = scaled_lr(cfg);
  const nn::Schedule cosine =
      nn::schedule::timm_cosine(cfg.warmup_epochs, cfg.warmup_lr / lr, cfg.epochs, cfg.min_lr / lr);
  return nn::Schedule{[cosine, steps_per_epoch](int64_t t) {
    return cosine(std::max<int64_t>(t / steps_per_epoch - 1, 0));
  }};
}

fs::path checkpoint_of(const ImageNetConfig& cfg) {
  const fs::path file = cfg.checkpoint.empty() ? fs::path(cfg.out_dir) / "best.h5" : fs::path(cfg.checkpoint);
  CFX_CHECK(fs::exists(file), "conflux-imagenet: no checkpoint ", file.string(),
            "\nHINT: pass --out RUN_DIR of a training run, or --checkpoint FILE");
  return file;
}

}  // namespace

ImageNetTrainReport train(const ImageNetConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const ImageNetData d = load_folders(cfg);
  const int64_t num_classes = static_cast<int64_t>(d.classes.size());
  write_classes(cfg.out_dir, d.classes);
  const Device device = Device::parse(cfg.device);
  Generator init_gen(static_cast<uint64_t>(cfg.seed));
  nn::FlowformerVision model(model_config(cfg, num_classes), &init_gen);
  model.to(device);  // before the optimizer, whose state is made beside each parameter
  nn::AdamW optimizer(nn::param_groups_no_decay(model, cfg.weight_decay, {"pos_embed"}),
                      {.lr = scaled_lr(cfg), .eps = 1e-8, .weight_decay = cfg.weight_decay});
  manual_seed(static_cast<uint64_t>(cfg.seed));  // stochastic depth (a resumed run restores the position)

  const std::unique_ptr<ImageLoader> train_loader = make_train_loader(d.train, cfg, num_classes);
  const std::unique_ptr<ImageLoader> val_loader = make_eval_loader(d.val, cfg);
  data::BatchStream<data::TensorDict> batches(*train_loader);
  const int64_t per_epoch = train_loader->num_batches();
  app::TrainHooks hooks;
  hooks.micro_step = [&](double loss_scale) {
    const data::TensorDict b = batches.next_batch().to(device);
    const Tensor logits = model.forward(b.at("x"));
    const Tensor loss = soft_target_cross_entropy(logits, b.at("soft_target"));
    (loss_scale == 1.0 ? loss : loss * loss_scale).backward();
    // Accuracy against the unmixed label: a rough training signal under Mixup/CutMix.
    return app::StepStats{loss.item<double>(), app::count_correct(logits, b.at("target")), b.batch_size()};
  };
  hooks.position = [&] { return std::pair{batches.epoch(), batches.batch()}; };
  hooks.seek = [&](int64_t epoch, int64_t batch) { batches.seek(epoch, batch); };
  hooks.evaluate = [&](bool) {
    const bool was_training = model.is_training();
    model.eval();
    std::vector<app::EvalResult> r{evaluate(model, *val_loader, device)};
    model.train(was_training);
    return r;
  };

  app::TrainerOptions o;
  o.out_dir = cfg.out_dir;
  o.log_file = cfg.log_file;
  o.resume = cfg.resume;
  o.steps = cfg.epochs * per_epoch;
  o.steps_per_epoch = per_epoch;
  o.clip_grad_norm = cfg.clip;
  o.schedule = epoch_schedule(cfg, per_epoch);
  o.evaluate_at = [&](int64_t step) {
    return step > 0 && step % per_epoch == 0 && ((step / per_epoch) % cfg.eval_every == 0 || step == o.steps);
  };
  o.best_metric = "val acc";
  o.checkpoint_every = cfg.checkpoint_every * per_epoch;
  o.keep_checkpoints = cfg.keep_checkpoints;
  o.log_every = cfg.log_every;
  o.time_limit = cfg.time_limit;
  o.unit = "img";
  o.name = fmt::format("imagenet/{} ({} classes, {} px; {} train / {} val images)", cfg.preset, num_classes,
                       cfg.img_size, d.train->size(), d.val->size());
  ImageNetTrainReport report;
  report.summary = app::train(model, optimizer, o, hooks);
  report.steps_per_epoch = per_epoch;
  report.num_classes = num_classes;
  const app::EvalResult& last = report.summary.final.at(0);
  report.last_top1 = last.acc;
  report.last_top5 = last.extra.at(0).second;
  report.best_top1 = report.summary.best.value_or(report.last_top1);
  report.best_epoch = report.summary.best_step / per_epoch;

  app::Table table({"preset", "params", "epochs", "best val top-1", "at epoch", "last top-1", "last top-5", "chance",
                    "time"});
  table.add_row({cfg.preset, fmt::format("{:.2f}M", static_cast<double>(report.summary.params) / 1e6),
                 std::to_string(report.summary.steps / per_epoch), fmt::format("{:.2f}%", 100 * report.best_top1),
                 std::to_string(report.best_epoch), fmt::format("{:.2f}%", 100 * report.last_top1),
                 fmt::format("{:.2f}%", 100 * report.last_top5), fmt::format("{:.2f}%", 100.0 / num_classes),
                 app::format_duration(report.summary.wall_s)});
  std::cout << "\n" << table.str() << "paper (Flowformer, ImageNet-1K, 224 px, 300 epochs): 80.6% top-1, 94.9% top-5, "
            << "41M params\nbest model: " << (fs::path(cfg.out_dir) / "best.h5").string()
            << "\nmetrics:    " << report.summary.log_file.string() << "\n";
  return report;
}

app::EvalResult evaluate_checkpoint(const ImageNetConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const fs::path file = checkpoint_of(cfg);
  const ImageNetData d = load_folders(cfg);
  CFX_CHECK(d.classes == read_classes(cfg.out_dir), "conflux-imagenet eval: the classes of --data differ from the "
            "run's ", (fs::path(cfg.out_dir) / "classes.txt").string());
  nn::FlowformerVision model(model_config(cfg, static_cast<int64_t>(d.classes.size())));
  nn::load(model, file);
  const Device device = Device::parse(cfg.device);
  model.to(device);
  model.eval();
  const std::unique_ptr<ImageLoader> loader = make_eval_loader(d.val, cfg);
  return evaluate(model, *loader, device);
}

std::vector<std::vector<Prediction>> predict(const ImageNetConfig& cfg, const std::vector<std::string>& files,
                                             int64_t k) {
  CFX_CHECK(!files.empty(), "conflux-imagenet predict: no image files given");
  const std::vector<std::string> classes = read_classes(cfg.out_dir);
  const int64_t num_classes = static_cast<int64_t>(classes.size());
  nn::FlowformerVision model(model_config(cfg, num_classes));
  nn::load(model, checkpoint_of(cfg));
  model.eval();
  NoGradGuard no_grad;
  std::vector<std::vector<Prediction>> out;
  for (const std::string& file : files) {
    const Tensor x = eval_tensor(data::read_image(file), cfg).unsqueeze(0);  // [1, 3, img, img]
    const std::vector<double> p = to_vector<double>(softmax(model.forward(x), 1).to(kFloat64).contiguous());
    std::vector<int64_t> order(p.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    const int64_t top = std::min(k, num_classes);
    std::partial_sort(order.begin(), order.begin() + top, order.end(),
                      [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    std::vector<Prediction>& row = out.emplace_back();
    for (int64_t j = 0; j < top; ++j) row.push_back({order[j], classes[order[j]], p[order[j]]});
  }
  return out;
}

}  // namespace cfx::imagenet
