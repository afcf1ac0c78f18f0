// conflux-lm settings: one struct holding every flag of train / eval / generate, the paper's
// WikiText-103 preset (../shared/BENCHMARKS.md section 2: fairseq transformer_lm with causal
// Flow-Attention, clamp 5, and the verbatim fairseq-train flags) and a small preset that learns
// on 2 CPU cores in minutes.
#pragma once

#include <cstdint>
#include <string>

#include "apps/common/cli.h"

namespace cfx::lm {

struct LmConfig {
  // ---- what and where
  std::string preset = "wikitext103";
  std::string data_dir;     // what `conflux-lm prepare` wrote: dict.txt, train.tok, valid.tok, test.tok
  std::string out_dir;      // checkpoints, state.json, config.json, metrics.jsonl, best.h5
  std::string log_file;     // "" = <out>/metrics.jsonl
  std::string checkpoint;   // eval / generate: "" = <out>/best.h5
  bool resume = false;

  // ---- model (2.2): pre-LN decoder, tied embeddings scaled by sqrt(d), sinusoidal positions
  int64_t layers = 6, d_model = 512, heads = 8, d_ff = 2048;
  double dropout = 0.1;
  std::string attention = "flow";   // flow (causal, clamp 5) | softmax
  int64_t tokens_per_sample = 512;  // block length T (--tokens-per-sample)

  // ---- recipe (2.3)
  int64_t max_tokens = 2048;   // tokens per micro-batch: max_tokens / T blocks
  int64_t update_freq = 16;    // micro-batches per update (gradient accumulation)
  int64_t max_update = 150000;
  double lr = 1e-3, warmup_init_lr = 1e-7;
  int64_t warmup_updates = 6000;  // inverse_sqrt schedule
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-8, weight_decay = 0.01;
  double clip = 0.0;            // --clip-norm 0: none
  int64_t eval_every = 1000;    // updates between validations (blocks of T, as fairseq validates)
  int64_t checkpoint_every = 1000;
  int64_t keep_checkpoints = 2;
  double time_limit = 0;        // seconds of training in this session (0 = none)

  // ---- evaluation (eval-lm) and generation
  int64_t context_window = 400;  // final / eval: windows of T tokens scoring T - context_window
  int64_t eval_batch = 2;        // windows per batch (--batch-size 2)
  std::string split = "test";    // eval: valid | test
  std::string prompt;            // generate
  int64_t gen_tokens = 50;
  double temperature = 1.0;      // 0 = greedy
  int64_t top_k = 0;             // 0 = off
  double top_p = 1.0;            // 1 = off
  // "state": carry causal Flow-Attention's running state, O(1) per token (flow only);
  // "rerun": run the model over the whole prefix for every token, O(position) per token.
  std::string decode = "state";

  // ---- machine
  int64_t seed = 1;            // fairseq's default
  int64_t threads = 0;         // 0 = CONFLUX_NUM_THREADS or all cores
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int64_t log_every = 20;
};

// "wikitext103": the paper's model and recipe. "small": 2 layers of 128, blocks of 128,
// 8 blocks per update, 800 updates, eval windows scoring 96 after 32 of context
// (WikiText-2-sized data on 2 CPU cores in minutes).
LmConfig preset(const std::string& name);
void add_flags(app::Flags& flags, LmConfig& cfg);
void validate(const LmConfig& cfg);

}  // namespace cfx::lm
