// conflux-rl presets and flags (config.h). Section numbers refer to ../shared/BENCHMARKS.md.
#include "apps/rl/config.h"

#include <fmt/format.h>

#include <filesystem>
#include <sstream>

#include "core/error.h"

namespace cfx::rl {

const std::vector<RlPreset>& rl_presets() {
  // 5.6, Flowformer column (pic/RL_results.png)
  static const std::vector<RlPreset> presets = {
      {"halfcheetah-medium-expert", "halfcheetah", "medium-expert", 90.8, 0.4},
      {"hopper-medium-expert", "hopper", "medium-expert", 109.9, 1.0},
      {"walker2d-medium-expert", "walker2d", "medium-expert", 108.0, 0.4},
      {"halfcheetah-medium", "halfcheetah", "medium", 42.2, 0.2},
      {"hopper-medium", "hopper", "medium", 66.9, 2.5},
      {"walker2d-medium", "walker2d", "medium", 71.7, 2.5},
      {"halfcheetah-medium-replay", "halfcheetah", "medium-replay", 34.7, 1.5},
      {"hopper-medium-replay", "hopper", "medium-replay", 75.5, 14.5},
      {"walker2d-medium-replay", "walker2d", "medium-replay", 62.0, 3.1},
  };
  return presets;
}

std::optional<RlPreset> find_preset(const std::string& task) {
  for (const RlPreset& p : rl_presets())
    if (task == p.task) return p;
  return std::nullopt;
}

RlConfig preset(const std::string& task) {
  RlConfig c;
  c.task = task;
  c.out_dir = "runs/rl_" + task;
  if (const auto p = find_preset(task)) c.env = p->env;
  else if (const size_t dash = task.find('-'); dash != std::string::npos) c.env = task.substr(0, dash);
  else c.env = task;
  return c;
}

std::vector<double> default_targets(Task env) {
  switch (env) {
    case Task::HalfCheetah: return {12000, 6000};
    case Task::Hopper: return {3600, 1800};
    case Task::Walker2d: return {5000, 2500};
  }
  return {};
}

std::vector<double> eval_targets(const RlConfig& cfg) {
  if (cfg.targets.empty()) return default_targets(parse_task(cfg.env));
  std::vector<double> targets;
  std::stringstream in(cfg.targets);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CFX_CHECK(used == item.size() && !item.empty(), "conflux-rl: --targets takes comma-separated numbers, got '",
              cfg.targets, "'");
    targets.push_back(v);
  }
  return targets;
}

double normalized_score(Task env, double episode_return) {
  // d4rl/infos.py REF_MIN_SCORE / REF_MAX_SCORE ('<env>-random-v0'; the v2 sets reuse them)
  double lo = 0, hi = 1;
  switch (env) {
    case Task::HalfCheetah: lo = -280.178953, hi = 12135.0; break;
    case Task::Hopper: lo = -20.272305, hi = 3234.3; break;
    case Task::Walker2d: lo = 1.629008, hi = 4592.3; break;
  }
  return 100.0 * (episode_return - lo) / (hi - lo);
}

std::string data_file(const RlConfig& cfg) {
  if (!cfg.data_file.empty()) return cfg.data_file;
  // D4RL's file names: hopper_medium_replay-v2.hdf5 for the task hopper-medium-replay
  std::string dataset = cfg.task.size() > cfg.env.size() + 1 ? cfg.task.substr(cfg.env.size() + 1) : "medium";
  for (char& ch : dataset)
    if (ch == '-') ch = '_';
  return (std::filesystem::path(cfg.data_dir) / fmt::format("{}_{}-v2.hdf5", cfg.env, dataset)).string();
}

uint64_t episode_seed(const RlConfig& cfg) {
  return static_cast<uint64_t>(cfg.eval_seed >= 0 ? cfg.eval_seed : cfg.seed + 100);
}

void add_flags(app::Flags& f, RlConfig& c) {
  f.add("task", &c.task, "<env>-<dataset> (conflux-rl presets lists the paper's 9); names the run");
  f.add("env", &c.env, "hopper | walker2d | halfcheetah");
  f.add("data", &c.data_dir, "folder of the D4RL files (<env>_<dataset>-v2.hdf5)");
  f.add("data-file", &c.data_file, "the D4RL HDF5 file itself (overrides --data)");
  f.add("out", &c.out_dir, "run directory: checkpoints, state.json, config.json, metrics.jsonl, best.h5");
  f.add("log", &c.log_file, "metrics file (default <out>/metrics.jsonl)");
  f.add("checkpoint", &c.checkpoint, "eval/rollout: model to load (default <out>/best.h5)");
  f.add("resume", &c.resume, "continue the run in --out from its last checkpoint");
  f.add("context", &c.context, "K: steps per sample (3K tokens)");
  f.add("max-ep-len", &c.max_ep_len, "timestep embedding size (timesteps clipped to it - 1)");
  f.add("return-scale", &c.return_scale, "returns-to-go are divided by it");
  f.add("hidden", &c.hidden, "model width");
  f.add("layers", &c.layers, "transformer layers");
  f.add("heads", &c.heads, "attention heads");
  f.add("d-ff", &c.d_ff, "MLP width");
  f.add("dropout", &c.dropout, "dropout (embeddings, attention output, MLP)");
  f.add("attention", &c.attention, "flow (causal Flow-Attention, clamp 10) | softmax (the Decision Transformer baseline)");
  f.add("iterations", &c.iterations, "training iterations, each followed by an evaluation");
  f.add("steps-per-iteration", &c.steps_per_iteration, "optimizer steps per iteration");
  f.add("batch-size", &c.batch_size, "samples per batch (drawn with replacement)");
  f.add("warmup", &c.warmup, "linear warm-up steps, then a constant lr");
  f.add("lr", &c.lr, "AdamW learning rate");
  f.add("weight-decay", &c.weight_decay, "AdamW decoupled weight decay");
  f.add("clip", &c.clip, "max global gradient norm (0 = none)");
  f.add("checkpoint-every", &c.checkpoint_every, "steps between checkpoints");
  f.add("keep-checkpoints", &c.keep_checkpoints, "step checkpoints kept on disk");
  f.add("time-limit", &c.time_limit, "seconds of training in this session (0 = none), then checkpoint + evaluation");
  f.add("targets", &c.targets, "returns to condition on, comma-separated (default: the env's two of the paper)");
  f.add("eval-episodes", &c.eval_episodes, "episodes per target after each iteration");
  f.add("final-episodes", &c.final_episodes, "episodes per target after the last iteration");
  f.add("eval-seed", &c.eval_seed, "episode i resets with eval-seed + i (-1 = seed + 100, as the official code)");
  f.add("seed", &c.seed, "seed of the initialisation, the sampling and dropout");
  f.add("seeds", &c.seeds, "runs of consecutive seeds (each in <out>/seed_<s>/), then their mean ± std vs the paper");
  f.add("threads", &c.threads, "CPU threads (0 = CONFLUX_NUM_THREADS or all cores)");
  f.add("device", &c.device, "cpu | cuda | cuda:N");
  f.add("log-every", &c.log_every, "progress line every N steps when stderr is not a terminal");
}

void validate(const RlConfig& c) {
  parse_task(c.env);  // throws for an unknown env
  CFX_CHECK(c.attention == "flow" || c.attention == "softmax", "conflux-rl: --attention takes flow or softmax, got '",
            c.attention, "'");
  CFX_CHECK(c.context > 0 && c.max_ep_len > 0 && c.return_scale > 0, "conflux-rl: --context, --max-ep-len and "
            "--return-scale must be positive");
  CFX_CHECK(c.hidden > 0 && c.layers > 0 && c.heads > 0 && c.d_ff > 0 && c.hidden % c.heads == 0,
            "conflux-rl: --hidden, --layers, --heads, --d-ff must be positive and heads must divide hidden, got ",
            c.hidden, ", ", c.layers, ", ", c.heads, ", ", c.d_ff);
  CFX_CHECK(c.iterations > 0 && c.steps_per_iteration > 0 && c.batch_size > 0 && c.warmup >= 0 &&
                c.checkpoint_every > 0 && c.keep_checkpoints > 0,
            "conflux-rl: --iterations, --steps-per-iteration, --batch-size, --checkpoint-every, --keep-checkpoints "
            "must be positive and --warmup >= 0");
  CFX_CHECK(c.lr > 0 && c.weight_decay >= 0 && c.clip >= 0 && c.dropout >= 0 && c.dropout < 1,
            "conflux-rl: --lr must be positive, --weight-decay and --clip >= 0, --dropout in [0, 1)");
  CFX_CHECK(c.eval_episodes > 0 && c.final_episodes > 0, "conflux-rl: --eval-episodes and --final-episodes must be positive");
  CFX_CHECK(c.seeds >= 1, "conflux-rl: --seeds must be >= 1, got ", c.seeds);
  eval_targets(c);  // throws for a malformed list
}

}  // namespace cfx::rl
