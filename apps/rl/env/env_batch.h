// N environments of one task stepped together, one per thread-pool chunk: the rollouts of
// evaluation and recording run many episodes in lockstep so that the policy sees a batch.
//
//   EnvBatch envs(Task::Hopper, 10, /*seed=*/100);   // env i draws its noise from seed + i
//   auto obs = envs.reset();                          // [n][obs_dim]
//   auto results = envs.step(actions);                // actions: n * act_dim, row-major
//
// An env whose episode has ended is not stepped again: its slot in step()'s result is
// {obs = {}, reward = 0, terminated = truncated = false} until the next reset().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "apps/rl/env/locomotion_env.h"

namespace cfx::rl {

class EnvBatch {
 public:
  EnvBatch(Task task, int64_t n, uint64_t seed);

  int64_t size() const { return static_cast<int64_t>(envs_.size()); }
  const TaskRules& rules() const { return envs_.front().rules(); }
  LocomotionEnv& env(int64_t i) { return envs_.at(static_cast<size_t>(i)); }

  std::vector<std::vector<double>> reset();
  std::vector<StepResult> step(std::span<const double> actions);
  int64_t running() const;  // environments whose episode has not ended

 private:
  std::vector<LocomotionEnv> envs_;
};

}  // namespace cfx::rl
