// The shared training loop (apps/common/trainer.h).
#include "apps/common/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/common/cli.h"
#include "apps/common/run_state.h"
#include "core/error.h"
#include "nn/checkpoint.h"
#include "ops/creation.h"
#include "ops/reduce.h"

namespace cfx::app {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// On --resume, drops the log lines written after the checkpoint (they will be written again):
// keeps step < s, and step == s unless it is a final evaluation.
void truncate_log(const fs::path& file, int64_t step) {
  if (!fs::exists(file)) return;
  std::istringstream in(read_file(file));
  std::string line, kept;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    std::map<std::string, JsonValue> json;
    try {
      json = parse_json_object(line);
    } catch (const std::exception& e) {
      // A write cut short (killed inside write(2), a full disk) leaves part of the last line.
      // It was being written when the run stopped, after its last checkpoint: drop it like
      // the other lines after the checkpoint, or no --resume could ever read this log again.
      if (in.peek() == std::char_traits<char>::eof()) break;
      CFX_FAIL("resume: line ", n, " of '", file.string(), "' is not a JSON object: ", e.what());
    }
    if (!json.count("step")) {  // not a step record (e.g. an `eval --log` line): keep
      kept += line + "\n";
      continue;
    }
    const int64_t s = static_cast<int64_t>(json_number(json.at("step")));
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
  double mean(double std::pair<double, double>::*m) const {
    double s = 0;
    for (const auto& it : items) s += it.*m;
    return items.empty() ? 0.0 : s / static_cast<double>(items.size());
  }
};

// "<split> loss" (lower is better), "<split> acc" or "<split> <extra figure>" (higher is better).
struct Metric {
  std::string split, figure;
  bool empty() const { return split.empty(); }
  std::optional<double> of(const std::vector<EvalResult>& results) const {
    for (const EvalResult& r : results) {
      if (r.split != split) continue;
      if (figure == "acc") return r.acc;
      if (figure == "loss") return r.has_loss ? std::optional<double>(r.loss) : std::nullopt;
      for (const auto& [name, value] : r.extra)
        if (name == figure) return value;
    }
    return std::nullopt;
  }
  bool better(double a, double b) const { return figure == "loss" ? a < b : a > b; }
};

Metric parse_metric(const std::string& text) {
  if (text.empty()) return {};
  const size_t space = text.rfind(' ');
  CFX_CHECK(space != std::string::npos && space > 0 && space + 1 < text.size(),
            "trainer: best_metric must be \"<split> <figure>\" (figure: acc, loss or an extra figure), got \"", text, "\"");
  return {text.substr(0, space), text.substr(space + 1)};
}

}  // namespace

int64_t count_correct(const Tensor& logits, const Tensor& targets) {
  const std::vector<int64_t> pred = to_vector<int64_t>(logits.argmax(1).to(Device::cpu()));
  const std::vector<int64_t> y = to_vector<int64_t>(targets.to(Device::cpu()));
  int64_t n = 0;
  for (size_t i = 0; i < y.size(); ++i) n += pred[i] == y[i];
  return n;
}

int64_t count_top_k(const Tensor& logits, const Tensor& targets, int64_t k) {
  CFX_CHECK(logits.dim() == 2 && targets.dim() == 1 && targets.size(0) == logits.size(0) && k >= 1,
            "count_top_k: expected logits [N, C], targets [N] and k >= 1, got ", logits.shape(), ", ", targets.shape(),
            " and k = ", k);
  const int64_t n = logits.size(0), c = logits.size(1);
  const std::vector<double> x = to_vector<double>(logits.detach().to(Device::cpu()).to(kFloat64).contiguous());
  const std::vector<int64_t> y = to_vector<int64_t>(targets.to(Device::cpu()));
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    CFX_CHECK(y[i] >= 0 && y[i] < c, "count_top_k: target ", y[i], " of row ", i, " is out of range for ", c, " classes");
    const double* row = x.data() + i * c;
    int64_t higher = 0;
    for (int64_t j = 0; j < c; ++j) higher += row[j] > row[y[i]];
    hits += higher < k;
  }
  return hits;
}

TrainSummary train(nn::Module& model, nn::Optimizer& optimizer, const TrainerOptions& opt, const TrainHooks& hooks) {
  CFX_CHECK(opt.steps > 0 && opt.accumulate >= 1 && opt.keep_checkpoints >= 1 && opt.steps_per_epoch >= 0, opt.name,
            ": steps and keep_checkpoints must be positive, accumulate >= 1 and steps_per_epoch >= 0");
  CFX_CHECK(hooks.micro_step && hooks.position && hooks.seek && hooks.evaluate, opt.name, ": every TrainHooks member is needed");
  const auto t_start = Clock::now();
  const fs::path out = opt.out_dir;
  const fs::path log_path = opt.log_file.empty() ? out / "metrics.jsonl" : opt.log_file;
  const Metric best_metric = parse_metric(opt.best_metric);
  fs::create_directories(out);

  // ---- a fresh run, or the state of the last checkpoint
  RunState state;
  if (opt.resume) {
    const auto saved = read_run_state(out);
    CFX_CHECK(saved.has_value(), opt.name, ": --resume: no ", (out / "state.json").string(),
              "\nHINT: start the run without --resume, or point --out at an earlier run");
    state = *saved;
    load_run(out, state, model, optimizer);
    hooks.seek(state.epoch, state.batch);
    restore_rng(state);
    truncate_log(log_path, state.step);
    std::cerr << fmt::format("resuming {} at step {} (epoch {}, batch {})\n", (out / state.checkpoint).string(),
                             state.step, state.epoch, state.batch);
  } else {
    clear_run(out);  // an earlier run's checkpoints must not be mistaken for this one's
    fs::remove(out / "best.h5");
  }
  nn::LRScheduler scheduler(optimizer, opt.schedule, state.step);
  MetricsLog log(log_path.string(), /*append=*/opt.resume);

  TrainSummary summary;
  summary.params = model.num_parameters();
  summary.start_step = state.step;
  summary.log_file = log_path;

  // ---- what happens around each step: report, evaluate, checkpoint
  ProgressBar bar(opt.steps, state.step, opt.log_every);
  Window window{static_cast<size_t>(std::clamp<int64_t>(opt.eval_every, 1, 100)), {}};
  double train_s = 0;  // this session, steps only
  int64_t examples = 0;
  // {"step": s, "epoch": s / steps_per_epoch (runs by epochs), ...rest}
  auto log_line = [&](JsonObject rest) {
    JsonObject line{{"step", state.step}};
    if (opt.steps_per_epoch > 0)
      line.emplace_back("epoch", static_cast<double>(state.step) / static_cast<double>(opt.steps_per_epoch));
    line.insert(line.end(), rest.begin(), rest.end());
    log.write(line);
  };
  auto record_evals = [&](const std::vector<EvalResult>& results, bool final) {
    for (const EvalResult& r : results) {
      JsonObject line{{"split", r.split}};
      if (r.has_loss) line.emplace_back("loss", r.loss);
      if (opt.accuracy) line.emplace_back("acc", r.acc);
      for (const auto& [name, value] : r.extra) line.emplace_back(name, value);
      line.emplace_back("examples", r.examples);
      line.emplace_back("final", final);
      log_line(line);
    }
    const std::optional<double> value = best_metric.empty() ? std::nullopt : best_metric.of(results);
    if (value && (!state.best || best_metric.better(*value, *state.best))) {
      state.best = *value;
      state.best_step = state.step;
      nn::save(model, optimizer, out / "best.h5");  // written to a temporary file and renamed
    }
  };
  auto evaluate_periodically = [&] {
    const std::vector<EvalResult> results = hooks.evaluate(false);
    record_evals(results, false);
    std::string line = fmt::format("step {}:", state.step);
    for (const EvalResult& r : results) {
      if (opt.accuracy) line += fmt::format(" {} acc {:.2f}% (loss {:.4f})", r.split, 100 * r.acc, r.loss);
      else if (r.has_loss) line += fmt::format(" {} loss {:.4f}", r.split, r.loss);
      else line += " " + r.split;
      for (const auto& [name, value] : r.extra) line += fmt::format(" {} {:.4g}", name, value);
    }
    if (!results.empty()) bar.message(line);
  };
  auto due = [&](int64_t step) {
    return opt.evaluate_at ? opt.evaluate_at(step) : opt.eval_every > 0 && step % opt.eval_every == 0 && step > 0;
  };
  RunState committed = state;  // what state.json says now (the resumed run's, then each checkpoint's)
  auto checkpoint = [&] {
    capture_rng(state);
    committed = state;
    committed.elapsed_s += train_s;
    save_run(out, model, optimizer, committed, opt.keep_checkpoints);
  };

  std::cerr << fmt::format("{}: {} parameters, steps {} -> {}\n", opt.name, summary.params, state.step, opt.steps);
  if (state.step == 0 && due(0)) evaluate_periodically();  // before training (the UEA recipe's epoch 0)

  // ---- steps
  while (state.step < opt.steps) {
    const auto t_step = Clock::now();
    optimizer.zero_grad();
    StepStats step;
    for (int64_t k = 0; k < opt.accumulate; ++k) {
      const StepStats micro = hooks.micro_step(1.0 / static_cast<double>(opt.accumulate));
      step.loss += micro.loss / static_cast<double>(opt.accumulate);
      step.correct += micro.correct;
      step.examples += micro.examples;
    }
    if (opt.clip_grad_norm > 0) nn::clip_grad_norm_(model.parameters(), opt.clip_grad_norm);
    const double lr = optimizer.lr();
    optimizer.step();
    scheduler.step();
    ++state.step;
    std::tie(state.epoch, state.batch) = hooks.position();
    train_s += seconds_since(t_step);
    examples += step.examples;

    const double acc = step.examples ? static_cast<double>(step.correct) / static_cast<double>(step.examples) : 0.0;
    window.add(step.loss, acc);
    const double rate = static_cast<double>(examples) / std::max(train_s, 1e-9);
    JsonObject line{{"split", "train"}, {"loss", step.loss}};
    if (opt.accuracy) line.emplace_back("acc", acc);
    line.insert(line.end(), {{"lr", lr}, {"examples_per_s", rate}, {"elapsed_s", state.elapsed_s + train_s}});
    log_line(line);
    bar.update(state.step, {.loss = window.mean(&std::pair<double, double>::first),
                            .acc = window.mean(&std::pair<double, double>::second),
                            .examples_per_s = rate, .show_acc = opt.accuracy, .unit = opt.unit});

    const bool out_of_time = opt.time_limit > 0 && train_s >= opt.time_limit && state.step < opt.steps;
    if (due(state.step) && state.step < opt.steps) evaluate_periodically();
    if ((opt.checkpoint_every > 0 && state.step % opt.checkpoint_every == 0) || state.step == opt.steps || out_of_time)
      checkpoint();
    if (out_of_time) {
      bar.message(fmt::format("--time-limit {}s reached at step {} of {}", opt.time_limit, state.step, opt.steps));
      break;
    }
  }
  bar.finish();

  // ---- final evaluation (whole splits) and summary; the best metric is saved with it
  summary.final = hooks.evaluate(true);
  record_evals(summary.final, true);
  if (state.best != committed.best) {  // a best found by the final evaluation: state.json carries it for a later --resume
    committed.best = state.best;
    committed.best_step = state.best_step;
    write_run_state(out, committed);
  }
  summary.steps = state.step;
  summary.train_loss = window.mean(&std::pair<double, double>::first);
  summary.train_acc = window.mean(&std::pair<double, double>::second);
  summary.best = state.best;
  summary.best_step = state.best_step;
  summary.wall_s = seconds_since(t_start);
  summary.examples_per_s = static_cast<double>(examples) / std::max(train_s, 1e-9);
  summary.checkpoint = out / committed.checkpoint;
  return summary;
}

}  // namespace cfx::app
