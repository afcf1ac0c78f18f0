// The training loop every app shares: steps, gradient accumulation and clipping, the
// learning-rate schedule, periodic evaluation with a best-metric checkpoint, atomic
// checkpoints, resume, a time limit, progress and JSONL metrics, the final evaluation.
// An app supplies its data and its model's forward through TrainHooks; the loop reads like
// llm.c's (STYLE.md):
//
//   for step in (start, steps]:
//     zero_grad; repeat accumulate times: hooks.micro_step(1/accumulate)   (forward, backward)
//     clip_grad_norm_; optimizer.step; scheduler.step; log; evaluate?; checkpoint?; time up?
//   final evaluation; summary
//
// Files in out_dir (apps/common/run_state.h): ckpt_<step>.h5 and state.json (the commit
// point), best.h5 (model and optimizer at the best value of options.best_metric so far),
// metrics.jsonl: {"step", "split": "train", "loss", "acc", "lr", "examples_per_s",
// "elapsed_s"} per step and {"step", "split", "loss", "acc", "examples", "final"} per
// evaluation, each with "epoch" after "step" when the run trains by epochs. On --resume the lines after the checkpoint are dropped (they are written
// again), so the log of an interrupted run equals an uninterrupted one's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "nn/optim.h"
#include "nn/scheduler.h"

namespace cfx::app {

// One micro-batch's forward and backward: its mean loss, correct predictions, size.
struct StepStats {
  double loss = 0.0;
  int64_t correct = 0;
  int64_t examples = 0;
};

// Rows of `logits` [N, C] whose argmax equals `targets` [N] (int64), on any device: what the
// classification apps report as accuracy.
int64_t count_correct(const Tensor& logits, const Tensor& targets);
// Rows of `logits` [N, C] whose target is among the k largest logits (top-5 accuracy): fewer
// than k other classes score strictly higher, so a tie at the k-th place counts as a hit.
int64_t count_top_k(const Tensor& logits, const Tensor& targets, int64_t k);

struct EvalResult {
  std::string split;  // "val", "test", ...
  double loss = 0.0;
  double acc = 0.0;   // fraction correct (unused when TrainerOptions::accuracy is false)
  int64_t examples = 0;
  // More named figures of the evaluation (a language model's "ppl", a policy's "score"), logged
  // and printed after loss.
  std::vector<std::pair<std::string, double>> extra = {};
  bool has_loss = true;  // false: an evaluation without a loss (policy rollouts); none is logged
};

struct TrainHooks {
  // Takes the next training micro-batch, runs forward and backward of loss * loss_scale.
  std::function<StepStats(double loss_scale)> micro_step;
  // (epoch, batch) of the next training batch, and moving there on resume.
  std::function<std::pair<int64_t, int64_t>()> position;
  std::function<void(int64_t epoch, int64_t batch)> seek;
  // Evaluation of every split the app reports; `final` = at the end of the run (whole splits).
  std::function<std::vector<EvalResult>(bool final)> evaluate;
};

struct TrainerOptions {
  std::filesystem::path out_dir;
  std::filesystem::path log_file;  // "" = out_dir / metrics.jsonl
  bool resume = false;
  int64_t steps = 0;               // optimizer updates of the whole run
  // Updates per epoch when the app trains by epochs (steps = epochs x this): every metrics
  // line then also carries "epoch" (= step / steps_per_epoch, fractional between epochs), the
  // x axis of per-epoch plots. 0 = the run counts steps only.
  int64_t steps_per_epoch = 0;
  int64_t accumulate = 1;          // micro-batches per update
  double clip_grad_norm = 0.0;     // max global L2 norm; 0 = no clipping
  nn::Schedule schedule = nn::schedule::constant();  // lr(t) = lr · schedule(t)
  int64_t eval_every = 0;          // evaluate every N updates (0 = never, unless evaluate_at says so)
  std::function<bool(int64_t step)> evaluate_at;  // overrides eval_every when set (step 0 = before training)
  // "<split> <figure>" to track, with best.h5: figure = acc or an EvalResult::extra name (higher is
  // better) or loss (lower is better); "" = none.
  std::string best_metric;
  int64_t checkpoint_every = 0;    // also at the last step and when time runs out
  int64_t keep_checkpoints = 2;
  int64_t log_every = 50;          // progress line when stderr is not a terminal
  double time_limit = 0.0;         // seconds of training in this session; 0 = none
  std::string name = "train";      // names the run in messages
  bool accuracy = true;            // false: no "acc" in the log lines and the progress bar (language models)
  const char* unit = "ex";         // what StepStats::examples counts, for the rate ("tok": tokens)
};

struct TrainSummary {
  int64_t params = 0;
  int64_t start_step = 0, steps = 0;  // this session ran (start_step, steps]
  double train_loss = 0.0, train_acc = 0.0;  // means over the last min(eval_every, 100) steps
  std::vector<EvalResult> final;      // the final evaluation
  std::optional<double> best;         // best value of best_metric over the evaluations (all sessions)
  int64_t best_step = -1;
  double wall_s = 0.0;                // this session
  double examples_per_s = 0.0;
  std::filesystem::path checkpoint;   // the final checkpoint
  std::filesystem::path log_file;
};

// Runs (or resumes) the run; the model and optimizer are on their device already.
TrainSummary train(nn::Module& model, nn::Optimizer& optimizer, const TrainerOptions& options, const TrainHooks& hooks);

}  // namespace cfx::app
