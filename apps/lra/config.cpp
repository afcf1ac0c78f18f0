// LRA presets and flags (see config.h). Section numbers refer to ../shared/BENCHMARKS.md.
#include "apps/lra/config.h"

#include <algorithm>

#include "core/error.h"
#include "cuda/context.h"
#include "data/lra/lra.h"

namespace cfx::lra {

const std::vector<std::string>& lra_tasks() {
  static const std::vector<std::string> tasks{"listops", "text", "retrieval", "image", "pathfinder"};
  return tasks;
}

// One row of the 1.3 table. Base config values the table does not list stay at LraConfig's.
LraConfig preset(const std::string& task) {
  LraConfig c;
  c.task = task;
  c.out_dir = "runs/lra/" + task;
  if (task == "listops") {  // eval: the official script evaluates on the test set every 50 steps
    c.layers = 1, c.d_model = 512, c.qkv_dim = 512, c.heads = 2, c.mlp_dim = 1024, c.dropout = 0.1;
    c.max_len = 2000, c.batch_size = 32, c.steps = 5000, c.lr = 0.005, c.warmup = 1000, c.weight_decay = 0.1;
    c.eval_every = 50, c.eval_test = true;
  } else if (task == "text") {  // the eval set is the IMDB test split (val == test)
    c.layers = 1, c.d_model = 256, c.qkv_dim = 256, c.heads = 4, c.mlp_dim = 1024, c.dropout = 0.1;
    c.max_len = 1000, c.batch_size = 32, c.steps = 20000, c.lr = 0.005, c.warmup = 8000, c.weight_decay = 0.1;
    c.eval_every = 100, c.eval_test = false;
  } else if (task == "retrieval") {  // dual encoder, first-token pooling (1.1)
    c.layers = 4, c.d_model = 128, c.qkv_dim = 128, c.heads = 4, c.mlp_dim = 512, c.dropout = 0.1;
    c.max_len = 4000, c.batch_size = 32, c.steps = 5000, c.lr = 0.05, c.warmup = 8000, c.weight_decay = 0.1;
    c.eval_every = 100, c.eval_test = true, c.pooling = "first";
  } else if (task == "image") {  // 175 steps = one epoch; test once at the end
    c.layers = 1, c.d_model = 128, c.qkv_dim = 64, c.heads = 4, c.mlp_dim = 128, c.dropout = 0.3;
    c.positions = "learned";
    c.max_len = 1024, c.batch_size = 256, c.steps = 35000, c.lr = 5e-4, c.weight_decay = 0.0;
    c.schedule = "cosine", c.warmup = 175, c.cycle = 35000;
    c.eval_every = 175, c.eval_test = false;
  } else if (task == "pathfinder") {  // pathfinder32 hard; val every 312 steps (39 batches)
    c.layers = 1, c.d_model = 256, c.qkv_dim = 128, c.heads = 8, c.mlp_dim = 256, c.dropout = 0.2;
    c.pooling = "mean";
    c.max_len = 1024, c.batch_size = 512, c.steps = 62400, c.lr = 1e-4, c.weight_decay = 0.0;
    c.schedule = "cosine", c.warmup = 312, c.cycle = 62400;
    c.eval_every = 312, c.eval_batches = 39, c.eval_test = false;
  } else {
    CFX_FAIL("conflux-lra: unknown task '", task, "'; expected listops, text, retrieval, image or pathfinder");
  }
  c.checkpoint_every = 10 * c.eval_every;
  return c;
}

void add_flags(app::Flags& f, LraConfig& c) {
  f.add("task", &c.task, "listops | text | retrieval | image | pathfinder");
  f.add("data", &c.data_dir, "data directory in the LRA release layout (see `generate`)");
  f.add("out", &c.out_dir, "run directory: checkpoints, state.json, config.json, metrics.jsonl");
  f.add("log", &c.log_file, "JSONL metrics file (\"\" = <out>/metrics.jsonl)");
  f.add("resume", &c.resume, "continue from the last checkpoint in --out");
  f.add("checkpoint", &c.checkpoint, "eval: checkpoint file (\"\" = the last one in --out)");
  f.add("split", &c.split, "eval: train | val | test");
  f.add("attention", &c.attention, "flow | softmax");
  f.add("layers", &c.layers, "encoder layers");
  f.add("d-model", &c.d_model, "embedding width (emb_dim)");
  f.add("qkv-dim", &c.qkv_dim, "width of q/k/v over all heads");
  f.add("heads", &c.heads, "attention heads");
  f.add("mlp-dim", &c.mlp_dim, "MLP hidden width (also the head's)");
  f.add("dropout", &c.dropout, "dropout rate everywhere");
  f.add("positions", &c.positions, "sinusoidal | learned");
  f.add("pooling", &c.pooling, "cls | mean | first (retrieval)");
  f.add("max-len", &c.max_len, "tokens per sequence (longer inputs are cut)");
  f.add("mask-padding", &c.mask_padding, "keep padded tokens out of attention (the official code does not)");
  f.add("pad-batch", &c.pad_batch, "pad each batch to its longest row instead of --max-len");
  f.add("batch-size", &c.batch_size, "examples per step");
  f.add("steps", &c.steps, "optimizer updates");
  f.add("lr", &c.lr, "base learning rate");
  f.add("schedule", &c.schedule, "rsqrt | cosine | constant (each after linear warmup)");
  f.add("warmup", &c.warmup, "linear warmup steps");
  f.add("cycle", &c.cycle, "cosine cycle length (0 = --steps)");
  f.add("weight-decay", &c.weight_decay, "decoupled weight decay on every parameter");
  f.add("beta1", &c.beta1, "Adam beta1");
  f.add("beta2", &c.beta2, "Adam beta2");
  f.add("eps", &c.eps, "Adam epsilon");
  f.add("eval-every", &c.eval_every, "steps between evaluations");
  f.add("eval-batches", &c.eval_batches, "batches per periodic evaluation (0 = whole split)");
  f.add("eval-val", &c.eval_val, "evaluate on val periodically");
  f.add("eval-test", &c.eval_test, "evaluate on test periodically (always at the end)");
  f.add("checkpoint-every", &c.checkpoint_every, "steps between checkpoints (and one at the end)");
  f.add("keep-checkpoints", &c.keep_checkpoints, "step checkpoints kept on disk");
  f.add("log-every", &c.log_every, "steps between progress lines when stderr is not a terminal");
  f.add("time-limit", &c.time_limit, "stop after this many seconds of training (0 = no limit), then checkpoint and evaluate");
  f.add("seed", &c.seed, "initialisation, dropout and shuffling seed");
  f.add("threads", &c.threads, "compute threads (0 = CONFLUX_NUM_THREADS or all cores)");
  f.add("workers", &c.workers, "batch collating threads");
  f.add("device", &c.device, "where the model runs: cpu, cuda or cuda:N");
}

void validate(const LraConfig& c) {
  auto one_of = [](const std::string& v, std::initializer_list<const char*> ok, const char* flag) {
    std::string list;
    for (const char* o : ok) {
      if (v == o) return;
      list += list.empty() ? o : std::string(", ") + o;
    }
    CFX_FAIL("conflux-lra: --", flag, " must be one of ", list, ", got '", v, "'");
  };
  one_of(c.task, {"listops", "text", "retrieval", "image", "pathfinder"}, "task");
  one_of(c.attention, {"flow", "softmax"}, "attention");
  one_of(c.positions, {"sinusoidal", "learned"}, "positions");
  one_of(c.pooling, c.paired() ? std::initializer_list<const char*>{"first"} : std::initializer_list<const char*>{"cls", "mean"},
         "pooling");
  one_of(c.schedule, {"rsqrt", "cosine", "constant"}, "schedule");
  one_of(c.split, {"train", "val", "test"}, "split");
  for (auto [v, name] : {std::pair{c.layers, "layers"}, {c.d_model, "d-model"}, {c.qkv_dim, "qkv-dim"}, {c.heads, "heads"},
                         {c.mlp_dim, "mlp-dim"}, {c.max_len, "max-len"}, {c.batch_size, "batch-size"},
                         {c.eval_every, "eval-every"}, {c.checkpoint_every, "checkpoint-every"}, {c.log_every, "log-every"},
                         {c.keep_checkpoints, "keep-checkpoints"}})
    CFX_CHECK(v > 0, "conflux-lra: --", name, " must be positive, got ", v);
  for (auto [v, name] : {std::pair{c.steps, "steps"}, {c.warmup, "warmup"}, {c.cycle, "cycle"},
                         {c.eval_batches, "eval-batches"}, {c.seed, "seed"}, {c.threads, "threads"}, {c.workers, "workers"}})
    CFX_CHECK(v >= 0, "conflux-lra: --", name, " must be >= 0, got ", v);
  CFX_CHECK(c.qkv_dim % c.heads == 0, "conflux-lra: --heads ", c.heads, " must divide --qkv-dim ", c.qkv_dim);
  CFX_CHECK(c.dropout >= 0 && c.dropout < 1, "conflux-lra: --dropout must be in [0, 1), got ", c.dropout);
  CFX_CHECK(c.time_limit >= 0, "conflux-lra: --time-limit must be >= 0, got ", c.time_limit);
  CFX_CHECK(c.lr >= 0 && c.weight_decay >= 0, "conflux-lra: --lr and --weight-decay must be >= 0");
  CFX_CHECK(!c.out_dir.empty(), "conflux-lra: --out must name a directory");
  const Device device = Device::parse(c.device);
  CFX_CHECK(device.is_cpu() || device.index < cuda::device_count(), "conflux-lra: --device ", c.device,
            " is not available: ", cuda::device_count() == 0 ? cuda::unavailable_reason()
                                                              : std::to_string(cuda::device_count()) + " CUDA device(s)");
  if (c.task == "image" || c.task == "pathfinder")
    CFX_CHECK(c.max_len == 1024, "conflux-lra: --max-len is fixed at 1024 pixels for ", c.task, ", got ", c.max_len);
}

int64_t LraConfig::num_classes() const { return task == "listops" || task == "image" ? 10 : 2; }

int64_t LraConfig::vocab_size() const {
  if (task == "listops") return data::kListOpsVocabSize;
  if (task == "text" || task == "retrieval") return data::kByteVocabSize;
  return 256;
}

nn::FlowformerClassifierConfig model_config(const LraConfig& c) {
  // Start from the library preset (GELU-tanh, pre-LN, bias-free attention, flax LN eps, LRA
  // flow options) and put the flags on top.
  nn::FlowformerClassifierConfig m = nn::FlowformerClassifierConfig::lra_listops();
  m.vocab_size = c.vocab_size();
  m.max_len = c.max_len;
  m.num_classes = c.num_classes();
  m.n_layers = c.layers;
  m.layer.d_model = c.d_model;
  m.layer.d_qkv = c.qkv_dim;
  m.layer.n_heads = c.heads;
  m.layer.d_ff = c.mlp_dim;
  m.layer.attention = c.attention == "softmax" ? nn::AttentionKind::Softmax : nn::AttentionKind::Flow;
  m.layer.flow = FlowAttentionOptions::lra();
  m.layer.dropout = c.dropout;
  m.layer.activation_dropout = c.dropout;
  m.embedding_dropout = c.dropout;
  m.head_hidden = c.mlp_dim;
  m.positions = c.positions == "learned" ? nn::Positions::Learned : nn::Positions::Sinusoidal;
  m.pooling = c.pooling == "mean" ? nn::Pooling::Mean : nn::Pooling::CLS;
  m.mask_attention = c.mask_padding;
  return m;
}

nn::Schedule make_schedule(const LraConfig& c) {
  using namespace nn::schedule;
  // flax multiplies "constant * linear_warmup * <decay>"; warmup 0 means no warmup factor.
  const nn::Schedule warm = c.warmup > 0 ? linear_warmup(c.warmup) : constant();
  if (c.schedule == "rsqrt") return warm * rsqrt_decay(std::max<int64_t>(c.warmup, 1));
  if (c.schedule == "cosine") return warm * cosine_cycles(c.warmup, c.cycle > 0 ? c.cycle : std::max<int64_t>(c.steps, 1));
  return warm;
}

}  // namespace cfx::lra
