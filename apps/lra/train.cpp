// conflux-lra train: parse (commands.cpp) -> loaders -> model -> per step next_batch -> forward ->
// loss -> zero_grad -> backward -> step -> scheduler -> progress; periodic eval and checkpoints;
// a final evaluation and summary table. BENCHMARKS 1.2 for the optimiser and schedule.
#include "apps/lra/train.h"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <sstream>
#include <tuple>

#include "apps/cli.h"
#include "apps/lra/data.h"
#include "apps/lra/run_state.h"
#include "autograd/grad_mode.h"
#include "core/parallel.h"
#include "data/dataloader.h"
#include "nn/optim.h"
#include "nn/scheduler.h"
#include "ops/creation.h"
#include "ops/nn_ops.h"

namespace cfx::lra {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

int64_t count_correct(const Tensor& logits, const Tensor& targets) {
  const std::vector<int64_t> pred = to_vector<int64_t>(logits.argmax(1)), y = to_vector<int64_t>(targets);
  int64_t n = 0;
  for (size_t i = 0; i < y.size(); ++i) n += pred[i] == y[i];
  return n;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// On --resume, drops the log lines written after the checkpoint (they will be written again):
// keeps step < s, and step == s unless it is a final evaluation.
void truncate_log(const fs::path& file, int64_t step) {
  if (!fs::exists(file)) return;
  std::istringstream in(read_file(file));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto json = app::parse_json_object(line);
    if (!json.count("step")) {  // not a step record (e.g. an `eval --log` line): keep
      kept += line + "\n";
      continue;
    }
    const int64_t s = static_cast<int64_t>(app::json_number(json.at("step")));
    const auto final_it = json.find("final");
    const bool final = final_it != json.end() && std::get<bool>(final_it->second);
    if (s < step || (s == step && !final)) kept += line + "\n";
  }
  write_file_atomically(file, kept);
}

// Running means over the last `n` steps, for the progress line and the summary.
struct Window {
  size_t n;
  std::deque<std::pair<double, double>> items;  // (loss, acc)
  void add(double loss, double acc) {
    items.emplace_back(loss, acc);
    if (items.size() > n) items.pop_front();
  }
  double loss() const { return mean(&std::pair<double, double>::first); }
  double acc() const { return mean(&std::pair<double, double>::second); }
  double mean(double std::pair<double, double>::*m) const {
    double s = 0;
    for (const auto& it : items) s += it.*m;
    return items.empty() ? 0.0 : s / static_cast<double>(items.size());
  }
};

}  // namespace

EvalResult evaluate(LraModel& model, std::shared_ptr<const data::Dataset> dataset, const LraConfig& cfg,
                    int64_t max_batches) {
  NoGradGuard no_grad;
  const bool was_training = model.module().is_training();
  model.module().eval();
  data::DataLoader loader(std::move(dataset), loader_options(cfg, /*train=*/false));
  EvalResult r;
  double loss_sum = 0;
  int64_t correct = 0, batches = 0;
  while (auto next = loader.next_batch()) {
    const data::Batch batch = next->to(model.device());  // a no-op on the CPU
    const Tensor logits = model.forward(batch);
    loss_sum += cross_entropy(logits, batch.targets).item<float>() * static_cast<double>(batch.size());
    correct += count_correct(logits, batch.targets);
    r.examples += batch.size();
    if (max_batches > 0 && ++batches >= max_batches) break;
  }
  model.module().train(was_training);
  r.loss = r.examples ? loss_sum / static_cast<double>(r.examples) : 0.0;
  r.acc = r.examples ? static_cast<double>(correct) / static_cast<double>(r.examples) : 0.0;
  return r;
}

TrainSummary train(const LraConfig& cfg) {
  const auto t_start = Clock::now();
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const fs::path out = cfg.out_dir;
  const fs::path log_path = cfg.log_file.empty() ? out / "metrics.jsonl" : fs::path(cfg.log_file);
  fs::create_directories(out);

  // ---- loaders
  const auto train_set = load_split(cfg, data::Split::kTrain);
  const auto val_set = load_split(cfg, data::Split::kVal);
  const auto test_set = load_split(cfg, data::Split::kTest);
  BatchStream batches(train_set, loader_options(cfg, /*train=*/true));

  // ---- model and optimiser: flax Adam(b1, b2, eps) with decoupled decay on every parameter
  Generator init_gen(static_cast<uint64_t>(cfg.seed));
  LraModel model(cfg, &init_gen);
  const Device device = Device::parse(cfg.device);
  model.module().to(device);  // before the optimizer, whose state is made beside each parameter
  nn::AdamW optimizer(model.module().parameters(), {.lr = cfg.lr, .beta1 = cfg.beta1, .beta2 = cfg.beta2,
                                                    .eps = cfg.eps, .weight_decay = cfg.weight_decay});

  // ---- a fresh run, or the state of the last checkpoint
  RunState state;
  manual_seed(static_cast<uint64_t>(cfg.seed));  // dropout masks
  if (cfg.resume) {
    const auto saved = read_run_state(out);
    CFX_CHECK(saved.has_value(), "conflux-lra: --resume: no ", (out / "state.json").string(),
              "\nHINT: start the run without --resume, or point --out at an earlier run");
    state = *saved;
    load_run(out, state, model.module(), optimizer);
    batches.seek(state.epoch, state.batch);
    restore_rng(state);
    truncate_log(log_path, state.step);
    std::cerr << fmt::format("resuming {} at step {} (epoch {}, batch {})\n", (out / state.checkpoint).string(),
                             state.step, state.epoch, state.batch);
  } else {
    clear_run(out);  // an earlier run's checkpoints must not be mistaken for this one's
  }
  nn::LRScheduler scheduler(optimizer, make_schedule(cfg), state.step);
  app::MetricsLog log(log_path.string(), /*append=*/cfg.resume);

  TrainSummary summary;
  summary.params = model.module().num_parameters();
  summary.start_step = state.step;
  std::cerr << fmt::format("{} ({} attention): {} parameters, {} train / {} val / {} test examples, steps {} -> {}\n",
                           cfg.task, cfg.attention, summary.params, train_set->size(), val_set->size(),
                           test_set->size(), state.step, cfg.steps);

  // ---- what happens around each step: report, evaluate, checkpoint
  app::ProgressBar bar(cfg.steps, state.step, cfg.log_every);
  Window window{static_cast<size_t>(std::min<int64_t>(cfg.eval_every, 100)), {}};
  double train_s = 0;  // this session, steps only
  int64_t examples = 0;
  auto log_eval = [&](const char* split, const EvalResult& r, bool final) {
    log.write({{"step", state.step}, {"split", split}, {"loss", r.loss}, {"acc", r.acc},
               {"examples", r.examples}, {"final", final}});
  };
  auto report = [&](double loss, double acc, double lr) {
    window.add(loss, acc);
    const double rate = static_cast<double>(examples) / std::max(train_s, 1e-9);
    log.write({{"step", state.step}, {"split", "train"}, {"loss", loss}, {"acc", acc}, {"lr", lr},
               {"examples_per_s", rate}, {"elapsed_s", state.elapsed_s + train_s}});
    bar.update(state.step, {window.loss(), window.acc(), rate});
  };
  auto evaluate_periodically = [&] {
    std::string line = fmt::format("step {}:", state.step);
    for (auto [on, split, dataset] : {std::tuple{cfg.eval_val, "val", val_set}, {cfg.eval_test, "test", test_set}}) {
      if (!on) continue;
      const EvalResult r = evaluate(model, dataset, cfg, cfg.eval_batches);
      log_eval(split, r, false);
      line += fmt::format(" {} acc {:.2f}% (loss {:.4f})", split, 100 * r.acc, r.loss);
    }
    if (cfg.eval_val || cfg.eval_test) bar.message(line);
  };
  auto checkpoint = [&] {
    capture_rng(state);
    RunState saved = state;
    saved.elapsed_s += train_s;
    save_run(out, model.module(), optimizer, saved, cfg.keep_checkpoints);
  };

  // ---- steps
  while (state.step < cfg.steps) {
    const auto t_step = Clock::now();
    const data::Batch batch = batches.next_batch().to(device);
    const Tensor logits = model.forward(batch);  // [B, C]
    const Tensor loss = cross_entropy(logits, batch.targets);
    optimizer.zero_grad();
    loss.backward();
    const double lr = optimizer.lr();
    optimizer.step();
    scheduler.step();
    ++state.step;
    state.epoch = batches.epoch(), state.batch = batches.batch();
    train_s += seconds_since(t_step);
    examples += batch.size();
    report(loss.item<float>(), static_cast<double>(count_correct(logits, batch.targets)) / static_cast<double>(batch.size()), lr);

    const bool out_of_time = cfg.time_limit > 0 && train_s >= cfg.time_limit && state.step < cfg.steps;
    if (state.step % cfg.eval_every == 0 && state.step < cfg.steps) evaluate_periodically();
    if (state.step % cfg.checkpoint_every == 0 || state.step == cfg.steps || out_of_time) checkpoint();
    if (out_of_time) {
      bar.message(fmt::format("--time-limit {}s reached at step {} of {}", cfg.time_limit, state.step, cfg.steps));
      break;
    }
  }
  bar.finish();

  // ---- final evaluation (whole val and test splits) and summary
  const EvalResult val = evaluate(model, val_set, cfg), test = evaluate(model, test_set, cfg);
  log_eval("val", val, true);
  log_eval("test", test, true);
  summary.steps = state.step;
  summary.train_loss = window.loss();
  summary.val_acc = val.acc;
  summary.test_acc = test.acc;
  summary.wall_s = seconds_since(t_start);
  summary.examples_per_s = static_cast<double>(examples) / std::max(train_s, 1e-9);
  if (const auto saved = read_run_state(out)) summary.checkpoint = (out / saved->checkpoint).string();

  app::Table table({"task", "attention", "params", "steps", "train loss", "val acc", "test acc", "time", "examples/s"});
  table.add_row({cfg.task, cfg.attention, std::to_string(summary.params), std::to_string(summary.steps),
                 examples ? fmt::format("{:.4f}", summary.train_loss) : "-", fmt::format("{:.2f}%", 100 * val.acc),
                 fmt::format("{:.2f}%", 100 * test.acc), app::format_duration(summary.wall_s),
                 fmt::format("{:.1f}", summary.examples_per_s)});
  std::cout << "\n" << table.str() << "checkpoint: " << summary.checkpoint << "\nmetrics:    " << log_path.string() << "\n";
  return summary;
}

}  // namespace cfx::lra
