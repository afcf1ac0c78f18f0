#include "apps/rl/rollout.h"

#include <chrono>
#include <cmath>

#include "apps/rl/config.h"
#include "core/error.h"

namespace cfx::rl {

RolloutResult rollout(EnvBatch& envs, Policy& policy, const RolloutOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = envs.size();
  const TaskRules& rules = envs.rules();
  RolloutResult result;
  result.task = rules.task;
  result.episodes.assign(static_cast<size_t>(n), Episode{});

  std::vector<std::vector<double>> obs = envs.reset();  // current observation of every episode
  policy.begin(n);
  std::vector<int64_t> alive(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) alive[static_cast<size_t>(i)] = i;
  const auto act_dim = static_cast<size_t>(rules.act_dim);
  for (int64_t t = 0; !alive.empty(); ++t) {
    std::vector<std::vector<double>> alive_obs;
    alive_obs.reserve(alive.size());
    for (int64_t i : alive) alive_obs.push_back(obs[static_cast<size_t>(i)]);
    const std::vector<double> actions = policy.act(alive, alive_obs);
    CFX_CHECK(actions.size() == alive.size() * act_dim, "rollout: the policy returned ", actions.size(),
              " action values for ", alive.size(), " episodes of ", act_dim);
    // The batch steps every running env; finished ones get no action (their slot is skipped).
    std::vector<double> all_actions(static_cast<size_t>(n) * act_dim, 0.0);
    for (size_t e = 0; e < alive.size(); ++e)
      std::copy_n(actions.begin() + static_cast<std::ptrdiff_t>(e * act_dim), act_dim,
                  all_actions.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(alive[e]) * act_dim));
    if (options.record)
      for (size_t e = 0; e < alive.size(); ++e) {
        Episode& ep = result.episodes[static_cast<size_t>(alive[e])];
        LocomotionEnv& env = envs.env(alive[e]);
        ep.observations.insert(ep.observations.end(), alive_obs[e].begin(), alive_obs[e].end());
        ep.qpos.insert(ep.qpos.end(), env.qpos().begin(), env.qpos().end());
        ep.qvel.insert(ep.qvel.end(), env.qvel().begin(), env.qvel().end());
        ep.actions.insert(ep.actions.end(), actions.begin() + static_cast<std::ptrdiff_t>(e * act_dim),
                          actions.begin() + static_cast<std::ptrdiff_t>((e + 1) * act_dim));
      }
    const std::vector<StepResult> steps = envs.step(all_actions);
    std::vector<double> rewards;
    std::vector<int64_t> still;
    rewards.reserve(alive.size());
    for (int64_t i : alive) {
      const StepResult& r = steps[static_cast<size_t>(i)];
      Episode& ep = result.episodes[static_cast<size_t>(i)];
      ep.ret += r.reward;
      ++ep.length;
      ++result.env_steps;
      if (options.record) ep.rewards.push_back(r.reward);
      rewards.push_back(r.reward);
      obs[static_cast<size_t>(i)] = r.obs;
      if (r.terminated || r.truncated) {
        ep.terminated = r.terminated;
        if (options.record) ep.final_observation = r.obs;
      } else {
        still.push_back(i);
      }
    }
    policy.observe(alive, rewards);
    alive = std::move(still);
    if (options.on_step) options.on_step(t + 1, static_cast<int64_t>(alive.size()));
  }

  double sum = 0, ss = 0, len = 0;
  for (const Episode& ep : result.episodes) sum += ep.ret, len += static_cast<double>(ep.length);
  result.mean_return = sum / static_cast<double>(n);
  for (const Episode& ep : result.episodes) ss += (ep.ret - result.mean_return) * (ep.ret - result.mean_return);
  result.std_return = std::sqrt(ss / static_cast<double>(n));
  result.mean_length = len / static_cast<double>(n);
  // The score is linear in the return: its mean and spread follow from the return's.
  result.mean_score = normalized_score(rules.task, result.mean_return);
  result.std_score = normalized_score(rules.task, result.std_return) - normalized_score(rules.task, 0.0);
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

data::d4rl::D4rlDataset to_d4rl(const RolloutResult& result) {
  const TaskRules& rules = task_rules(result.task);
  data::d4rl::D4rlDataset d;
  d.obs_dim = rules.obs_dim;
  d.act_dim = rules.act_dim;
  const auto obs_dim = static_cast<size_t>(rules.obs_dim);
  for (const Episode& ep : result.episodes) {
    CFX_CHECK(ep.rewards.size() == static_cast<size_t>(ep.length), "to_d4rl: the rollout was not recorded "
              "(RolloutOptions::record)");
    if (ep.length == 0) continue;
    if (d.nq == 0) {
      d.nq = static_cast<int64_t>(ep.qpos.size()) / ep.length;
      d.nv = static_cast<int64_t>(ep.qvel.size()) / ep.length;
    }
    d.observations.insert(d.observations.end(), ep.observations.begin(), ep.observations.end());
    d.actions.insert(d.actions.end(), ep.actions.begin(), ep.actions.end());
    d.rewards.insert(d.rewards.end(), ep.rewards.begin(), ep.rewards.end());
    d.qpos.insert(d.qpos.end(), ep.qpos.begin(), ep.qpos.end());
    d.qvel.insert(d.qvel.end(), ep.qvel.begin(), ep.qvel.end());
    // next observation of step t = observation of step t + 1, then the one after the last step
    d.next_observations.insert(d.next_observations.end(), ep.observations.begin() + static_cast<std::ptrdiff_t>(obs_dim),
                               ep.observations.end());
    d.next_observations.insert(d.next_observations.end(), ep.final_observation.begin(), ep.final_observation.end());
    for (int64_t t = 0; t < ep.length; ++t) {
      const bool last = t == ep.length - 1;
      d.terminals.push_back(last && ep.terminated ? 1 : 0);
      d.timeouts.push_back(last && !ep.terminated ? 1 : 0);
    }
  }
  return d;
}

}  // namespace cfx::rl
