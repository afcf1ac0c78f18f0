// The three D4RL locomotion tasks and gym v3's rules for each (gym/envs/mujoco/*_v3.py, the
// constructor defaults): frame skip, reward weights, health ranges, reset noise, observation.
// One table (tasks.cpp) is the only place these numbers live.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cfx::rl {

enum class Task { Hopper, Walker2d, HalfCheetah };

struct TaskRules {
  Task task;
  const char* name;      // "hopper": D4RL's file prefix and our flag value
  const char* gym_id;    // "Hopper-v3": the evaluation environment of the paper
  const char* mjcf;      // model file name (apps/rl/env/models/)
  int obs_dim, act_dim;
  int frame_skip;              // mj_step calls per env step
  double ctrl_cost_weight;     // reward -= w * sum(a^2), the raw action
  double healthy_reward;       // added every step (0: no health term)
  bool terminate_when_unhealthy;
  // Healthy (all strict): z_min < qpos[1] < z_max, angle_min < qpos[2] < angle_max and, when
  // state_bound > 0, every entry of qpos[2:] and qvel inside (-state_bound, state_bound).
  double z_min, z_max, angle_min, angle_max, state_bound;
  // Reset: qpos0 + U(-noise, noise); qvel U(-noise, noise), or noise * N(0, 1) when gaussian_qvel.
  double reset_noise;
  bool gaussian_qvel;
  double obs_qvel_clip;  // observation = qpos[1:] ++ clip(qvel, -c, c); 0 = unclipped
};

const TaskRules& task_rules(Task task);
// "hopper" | "walker2d" | "halfcheetah" (the D4RL names); throws listing them otherwise.
Task parse_task(std::string_view name);
std::vector<std::string> task_names();

}  // namespace cfx::rl
