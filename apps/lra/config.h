// conflux-lra settings: one struct holding every flag, the official Flowformer preset of each
// LRA task (../shared/BENCHMARKS.md 1.2-1.3), and the flags that override it.
//
// Not here: building the model (model.h), reading data (data.h), the loops (train.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "nn/models.h"
#include "nn/scheduler.h"

namespace cfx::lra {

struct LraConfig {
  // ---- what and where
  std::string task = "listops";  // listops | text | retrieval | image | pathfinder
  std::string data_dir;          // the task's release directory (data/lra/lra.h)
  std::string out_dir;           // checkpoints, state.json, config.json, metrics.jsonl
  std::string log_file;          // "" = <out>/metrics.jsonl
  std::string checkpoint;        // eval: "" = the last one in <out>
  std::string split = "test";    // eval: train | val | test
  bool resume = false;

  // ---- model (BENCHMARKS 1.1, 1.3)
  std::string attention = "flow";  // flow (FlowAttentionOptions::lra()) | softmax
  int64_t layers = 1, d_model = 512, qkv_dim = 512, heads = 2, mlp_dim = 1024;
  double dropout = 0.1;
  std::string positions = "sinusoidal";  // sinusoidal | learned
  std::string pooling = "cls";           // cls | mean (retrieval: first token of each document)
  int64_t max_len = 2000;                // tokens per sequence, without CLS
  bool mask_padding = false;  // Conflux extension: padded keys leave attention (official: they stay in)
  bool pad_batch = false;     // pad each batch to its longest row (official: every row to max_len)

  // ---- optimiser and schedule (1.2): Adam(b1, b2, eps) + decoupled decay on every parameter
  int64_t batch_size = 32, steps = 5000;
  double lr = 0.005, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.98, eps = 1e-9;
  std::string schedule = "rsqrt";  // rsqrt: warmup·rsqrt_decay | cosine: warmup·cosine_cycles | constant: warmup only
  int64_t warmup = 1000, cycle = 0;  // cycle: cosine period (0 = steps)

  // ---- evaluation, logging, checkpoints
  int64_t eval_every = 50;
  int64_t eval_batches = 0;     // periodic evals: batches per split (0 = the whole split)
  bool eval_val = true;         // periodic eval on val
  bool eval_test = true;        // periodic eval on test (the official ListOps/Retrieval configs do)
  int64_t checkpoint_every = 500;
  int64_t keep_checkpoints = 2;  // how many step checkpoints stay on disk
  int64_t log_every = 50;       // progress line when stderr is not a terminal
  double time_limit = 0;        // seconds of training in this session (0 = none), then checkpoint + final eval

  // ---- machine
  int64_t seed = 0;
  int64_t threads = 0;  // 0 = CONFLUX_NUM_THREADS or all cores
  int64_t workers = 1;  // DataLoader collating threads
  std::string device = "cpu";  // cpu | cuda | cuda:N: where the model trains (batches are collated on the CPU)

  bool paired() const { return task == "retrieval"; }
  int64_t num_classes() const;
  int64_t vocab_size() const;
};

const std::vector<std::string>& lra_tasks();
// The official Flowformer settings of `task` (BENCHMARKS 1.3); throws cfx::Error for an unknown task.
LraConfig preset(const std::string& task);
// Registers every field of cfg as a flag (the defaults shown are cfg's values now).
void add_flags(app::Flags& flags, LraConfig& cfg);
// Checks the values (names of choices, positive sizes, heads divide qkv_dim, ...).
void validate(const LraConfig& cfg);

// The encoder/classifier config for cfg (the dual encoder reuses its encoder fields).
nn::FlowformerClassifierConfig model_config(const LraConfig& cfg);
// lr(t) = lr · schedule(t), flax's create_learning_rate_scheduler factors.
nn::Schedule make_schedule(const LraConfig& cfg);

}  // namespace cfx::lra
