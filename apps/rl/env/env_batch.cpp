#include "apps/rl/env/env_batch.h"

#include "core/error.h"
#include "core/parallel.h"

namespace cfx::rl {

EnvBatch::EnvBatch(Task task, int64_t n, uint64_t seed) {
  CFX_CHECK(n >= 1, "EnvBatch: needs at least one environment, got ", n);
  const auto model = MujocoModel::builtin(task);
  envs_.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) envs_.emplace_back(task, model, seed + static_cast<uint64_t>(i));
}

std::vector<std::vector<double>> EnvBatch::reset() {
  std::vector<std::vector<double>> obs(envs_.size());
  parallel_for(0, size(), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) obs[static_cast<size_t>(i)] = envs_[static_cast<size_t>(i)].reset();
  });
  return obs;
}

std::vector<StepResult> EnvBatch::step(std::span<const double> actions) {
  const auto act_dim = static_cast<size_t>(rules().act_dim);
  CFX_CHECK(actions.size() == envs_.size() * act_dim, "EnvBatch::step: ", actions.size(), " action values for ",
            envs_.size(), " environments of ", act_dim);
  std::vector<StepResult> results(envs_.size());
  parallel_for(0, size(), 1, [&](int64_t b, int64_t e) {
    for (auto i = static_cast<size_t>(b); i < static_cast<size_t>(e); ++i)
      if (!envs_[i].done()) results[i] = envs_[i].step(actions.subspan(i * act_dim, act_dim));
  });
  return results;
}

int64_t EnvBatch::running() const {
  int64_t n = 0;
  for (const LocomotionEnv& env : envs_) n += env.done() ? 0 : 1;
  return n;
}

}  // namespace cfx::rl
