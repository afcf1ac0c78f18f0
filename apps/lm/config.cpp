// conflux-lm presets and flags (config.h). Section numbers refer to ../shared/BENCHMARKS.md.
#include "apps/lm/config.h"

#include "core/error.h"

namespace cfx::lm {

LmConfig preset(const std::string& name) {
  LmConfig c;  // the defaults are the paper's (2.2, 2.3)
  c.preset = name;
  c.out_dir = "runs/lm_" + name;
  if (name == "wikitext103") return c;
  CFX_CHECK(name == "small", "conflux-lm: unknown --preset '", name, "'; expected wikitext103 or small");
  c.layers = 2, c.d_model = 128, c.heads = 4, c.d_ff = 512;
  c.tokens_per_sample = 128, c.context_window = 32;
  c.max_tokens = 1024, c.update_freq = 1, c.max_update = 800;
  c.lr = 2e-3, c.warmup_updates = 150;
  c.eval_every = 200, c.checkpoint_every = 200;
  c.eval_batch = 16;
  return c;
}

void add_flags(app::Flags& f, LmConfig& c) {
  f.add("preset", &c.preset, "wikitext103 (the paper's) | small (minutes on a CPU)");
  f.add("data", &c.data_dir, "folder written by `conflux-lm prepare` (dict.txt, {train,valid,test}.tok)");
  f.add("out", &c.out_dir, "run directory: checkpoints, state.json, config.json, metrics.jsonl, best.h5");
  f.add("log", &c.log_file, "metrics file (default <out>/metrics.jsonl)");
  f.add("checkpoint", &c.checkpoint, "eval / generate: checkpoint (default <out>/best.h5)");
  f.add("resume", &c.resume, "continue the run in --out from its last checkpoint");
  f.add("layers", &c.layers, "decoder layers");
  f.add("d-model", &c.d_model, "model width");
  f.add("heads", &c.heads, "attention heads");
  f.add("d-ff", &c.d_ff, "FFN width");
  f.add("dropout", &c.dropout, "dropout (embeddings, residual branches)");
  f.add("attention", &c.attention, "flow (causal Flow-Attention, clamp 5) | softmax");
  f.add("tokens-per-sample", &c.tokens_per_sample, "block length T");
  f.add("max-tokens", &c.max_tokens, "tokens per micro-batch (a multiple of --tokens-per-sample)");
  f.add("update-freq", &c.update_freq, "micro-batches per update (gradient accumulation)");
  f.add("max-update", &c.max_update, "optimizer updates");
  f.add("lr", &c.lr, "peak learning rate (inverse_sqrt schedule)");
  f.add("warmup-init-lr", &c.warmup_init_lr, "learning rate at update 0");
  f.add("warmup-updates", &c.warmup_updates, "linear warm-up updates, then lr * sqrt(warmup / t)");
  f.add("beta1", &c.beta1, "Adam beta1");
  f.add("beta2", &c.beta2, "Adam beta2");
  f.add("eps", &c.eps, "Adam epsilon");
  f.add("weight-decay", &c.weight_decay, "decoupled weight decay (fairseq Adam), every parameter");
  f.add("clip", &c.clip, "max global gradient norm (0 = none)");
  f.add("eval-every", &c.eval_every, "updates between validations");
  f.add("checkpoint-every", &c.checkpoint_every, "updates between checkpoints");
  f.add("keep-checkpoints", &c.keep_checkpoints, "step checkpoints kept on disk");
  f.add("time-limit", &c.time_limit, "seconds of training in this session (0 = none), then checkpoint + final eval");
  f.add("context-window", &c.context_window, "eval-lm: unscored tokens of context before each window's T - C scored ones");
  f.add("eval-batch", &c.eval_batch, "eval-lm: windows per batch");
  f.add("split", &c.split, "eval: valid | test");
  f.add("prompt", &c.prompt, "generate: the text to continue (words of the dictionary)");
  f.add("gen-tokens", &c.gen_tokens, "generate: tokens to sample");
  f.add("temperature", &c.temperature, "generate: softmax temperature (0 = greedy)");
  f.add("top-k", &c.top_k, "generate: sample among the k most likely tokens (0 = all)");
  f.add("top-p", &c.top_p, "generate: sample within the smallest set of probability >= p (1 = all)");
  f.add("decode", &c.decode, "generate: state (Flow-Attention's running state, constant time per token) | rerun "
        "(the whole prefix again for every token)");
  f.add("seed", &c.seed, "seed of the initialisation, the block order, dropout and sampling");
  f.add("threads", &c.threads, "CPU threads (0 = CONFLUX_NUM_THREADS or all cores)");
  f.add("device", &c.device, "cpu | cuda | cuda:N");
  f.add("log-every", &c.log_every, "progress line every N updates when stderr is not a terminal");
}

void validate(const LmConfig& c) {
  CFX_CHECK(!c.data_dir.empty(), "conflux-lm: --data is required (the folder `conflux-lm prepare --out` wrote)");
  CFX_CHECK(c.attention == "flow" || c.attention == "softmax", "conflux-lm: --attention takes flow or softmax, got '",
            c.attention, "'");
  CFX_CHECK(c.layers > 0 && c.d_model > 0 && c.heads > 0 && c.d_ff > 0 && c.d_model % c.heads == 0,
            "conflux-lm: --layers, --d-model, --heads, --d-ff must be positive and heads must divide d-model");
  CFX_CHECK(c.tokens_per_sample > 0 && c.max_tokens >= c.tokens_per_sample && c.max_tokens % c.tokens_per_sample == 0,
            "conflux-lm: --max-tokens (", c.max_tokens, ") must be a positive multiple of --tokens-per-sample (",
            c.tokens_per_sample, ")");
  CFX_CHECK(c.context_window >= 0 && c.context_window < c.tokens_per_sample, "conflux-lm: --context-window (",
            c.context_window, ") must be in [0, --tokens-per-sample = ", c.tokens_per_sample, ")");
  CFX_CHECK(c.update_freq > 0 && c.max_update > 0 && c.warmup_updates > 0 && c.eval_every > 0 &&
                c.checkpoint_every > 0 && c.keep_checkpoints > 0 && c.eval_batch > 0,
            "conflux-lm: --update-freq, --max-update, --warmup-updates, --eval-every, --checkpoint-every, "
            "--keep-checkpoints and --eval-batch must be positive");
  CFX_CHECK(c.lr > 0 && c.warmup_init_lr >= 0 && c.clip >= 0 && c.dropout >= 0 && c.dropout < 1,
            "conflux-lm: --lr must be positive, --warmup-init-lr and --clip >= 0, --dropout in [0, 1)");
  CFX_CHECK(c.split == "valid" || c.split == "test", "conflux-lm: --split takes valid or test, got '", c.split, "'");
  CFX_CHECK(c.decode == "state" || c.decode == "rerun", "conflux-lm: --decode takes state or rerun, got '", c.decode,
            "'");
  CFX_CHECK(c.decode == "rerun" || c.attention == "flow", "conflux-lm: --decode state needs --attention flow (softmax "
            "attention has no fixed-size state); use --decode rerun");
  CFX_CHECK(c.gen_tokens >= 0 && c.temperature >= 0 && c.top_k >= 0 && c.top_p > 0 && c.top_p <= 1,
            "conflux-lm: --gen-tokens, --temperature, --top-k must be >= 0 and --top-p in (0, 1]");
}

}  // namespace cfx::lm
