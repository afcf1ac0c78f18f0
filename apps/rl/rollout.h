// Rolling a policy out in a batch of environments, episodes in lockstep: the evaluation of a
// trained model, the recorder of D4RL-layout data, and the `rollout` command all use it.
//
//   EnvBatch envs(Task::Hopper, 10, /*seed=*/100);
//   RolloutResult r = rollout(envs, policy, {.record = true});
//   r.mean_score;                         // D4RL normalised return x 100
//   write_d4rl(to_d4rl(r), "hopper_scripted-v2.hdf5");
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "apps/rl/env/env_batch.h"
#include "apps/rl/policy.h"
#include "data/d4rl/d4rl_file.h"

namespace cfx::rl {

// One episode; the per-step arrays are filled only when RolloutOptions::record is set.
struct Episode {
  double ret = 0.0;
  int64_t length = 0;
  bool terminated = false;  // ended by falling, not by the time limit
  // Per step t: the observation and state before the step, the action, its reward.
  std::vector<double> observations, actions, rewards, qpos, qvel;
  std::vector<double> final_observation;  // after the last step
};

struct RolloutOptions {
  bool record = false;
  // Called after every step with (step, running episodes): a progress bar.
  std::function<void(int64_t, int64_t)> on_step;
};

struct RolloutResult {
  Task task = Task::Hopper;
  std::vector<Episode> episodes;
  double mean_return = 0.0, std_return = 0.0;  // population std over the episodes, as numpy's np.std
  double mean_score = 0.0, std_score = 0.0;    // normalised, x 100
  double mean_length = 0.0;
  int64_t env_steps = 0;
  double wall_s = 0.0;
};

// Resets every environment and runs until all episodes end (terminated or 1000 steps).
RolloutResult rollout(EnvBatch& envs, Policy& policy, const RolloutOptions& options = {});

// The recorded episodes in D4RL's layout, in episode order: terminals where an episode fell,
// timeouts at the time limit, next_observations, infos/qpos and infos/qvel.
data::d4rl::D4rlDataset to_d4rl(const RolloutResult& result);

}  // namespace cfx::rl
