// conflux-rl settings: one struct holding every flag, the paper's preset for each of the 9
// D4RL tasks (../shared/BENCHMARKS.md section 5: data 5.1, samples 5.2, model 5.3, recipe 5.4,
// evaluation 5.5, the paper's table 5.6), and the flags that override it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "apps/rl/env/tasks.h"

namespace cfx::rl {

struct RlConfig {
  // ---- what and where
  std::string task = "hopper-medium";  // <env>-<dataset>: names the run and picks the preset
  std::string env = "hopper";          // hopper | walker2d | halfcheetah
  std::string data_file;               // D4RL HDF5; "" = <data>/<env>_<dataset with _>-v2.hdf5
  std::string data_dir;                // the folder of the D4RL files (gym_mujoco_v2/)
  std::string out_dir;                 // checkpoints, state.json, config.json, metrics.jsonl, best.h5
  std::string log_file;                // "" = <out>/metrics.jsonl
  std::string checkpoint;              // eval / rollout: "" = <out>/best.h5
  bool resume = false;

  // ---- samples (5.2) and model (5.3)
  int64_t context = 20;        // K steps per sample: 3K tokens
  int64_t max_ep_len = 1000;   // timestep table; timesteps are clipped to max_ep_len - 1
  double return_scale = 1000;  // returns-to-go are divided by it
  int64_t hidden = 256, layers = 3, heads = 4, d_ff = 1024;
  double dropout = 0.1;
  std::string attention = "flow";  // flow (causal, clamp 10) | softmax (the DT baseline)

  // ---- recipe (5.4)
  int64_t iterations = 10, steps_per_iteration = 10000, batch_size = 64, warmup = 10000;
  double lr = 1e-3, weight_decay = 1e-4, clip = 0.25;
  int64_t checkpoint_every = 1000;  // steps
  int64_t keep_checkpoints = 2;
  double time_limit = 0;            // seconds of training in this session (0 = none)

  // ---- evaluation (5.5)
  std::string targets;           // comma-separated returns to condition on; "" = the env's two
  int64_t eval_episodes = 10;    // per target after each iteration
  int64_t final_episodes = 100;  // per target after the last
  int64_t eval_seed = -1;        // episode i of an evaluation resets with eval_seed + i; -1 = seed + 100 (official env.seed(seed + 100))

  // ---- machine
  int64_t seed = 1;
  int64_t seeds = 1;            // > 1: runs seed, seed+1, ... into <out>/seed_<s>/ and summarises them (the paper: 3)
  int64_t threads = 0;          // 0 = CONFLUX_NUM_THREADS or all cores
  std::string device = "cpu";   // cpu | cuda | cuda:N
  int64_t log_every = 100;      // progress line when stderr is not a terminal
};

// One cell of the paper's table (5.6).
struct RlPreset {
  const char* task;       // "hopper-medium"
  const char* env;        // "hopper"
  const char* dataset;    // "medium"
  double paper_score;     // Flowformer's normalised return, mean over 3 seeds
  double paper_std;
};
const std::vector<RlPreset>& rl_presets();
RlConfig preset(const std::string& task);
std::optional<RlPreset> find_preset(const std::string& task);

// The conditioning returns of 5.5 (HalfCheetah 12000, 6000; Hopper 3600, 1800; Walker2d 5000, 2500).
std::vector<double> default_targets(Task env);
std::vector<double> eval_targets(const RlConfig& cfg);

// D4RL's normalised score, x 100: 100 (R - random) / (expert - random), d4rl/infos.py's
// REF_MIN_SCORE / REF_MAX_SCORE (the same for every dataset of an env).
double normalized_score(Task env, double episode_return);
std::string data_file(const RlConfig& cfg);
uint64_t episode_seed(const RlConfig& cfg);  // the first evaluation episode's reset seed

void add_flags(app::Flags& flags, RlConfig& cfg);
void validate(const RlConfig& cfg);

}  // namespace cfx::rl
