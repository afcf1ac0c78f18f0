#include "apps/rl/env/tasks.h"

#include <limits>

#include "core/error.h"

namespace cfx::rl {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// gym 0.18 hopper_v3.py, walker2d_v3.py, half_cheetah_v3.py (constructor defaults).
const TaskRules kTasks[] = {
    {.task = Task::Hopper, .name = "hopper", .gym_id = "Hopper-v3", .mjcf = "hopper.xml",
     .obs_dim = 11, .act_dim = 3, .frame_skip = 4, .ctrl_cost_weight = 1e-3, .healthy_reward = 1.0,
     .terminate_when_unhealthy = true, .z_min = 0.7, .z_max = kInf, .angle_min = -0.2, .angle_max = 0.2,
     .state_bound = 100.0, .reset_noise = 5e-3, .gaussian_qvel = false, .obs_qvel_clip = 10.0},
    {.task = Task::Walker2d, .name = "walker2d", .gym_id = "Walker2d-v3", .mjcf = "walker2d.xml",
     .obs_dim = 17, .act_dim = 6, .frame_skip = 4, .ctrl_cost_weight = 1e-3, .healthy_reward = 1.0,
     .terminate_when_unhealthy = true, .z_min = 0.8, .z_max = 2.0, .angle_min = -1.0, .angle_max = 1.0,
     .state_bound = 0.0, .reset_noise = 5e-3, .gaussian_qvel = false, .obs_qvel_clip = 10.0},
    {.task = Task::HalfCheetah, .name = "halfcheetah", .gym_id = "HalfCheetah-v3", .mjcf = "half_cheetah.xml",
     .obs_dim = 17, .act_dim = 6, .frame_skip = 5, .ctrl_cost_weight = 0.1, .healthy_reward = 0.0,
     .terminate_when_unhealthy = false, .z_min = -kInf, .z_max = kInf, .angle_min = -kInf, .angle_max = kInf,
     .state_bound = 0.0, .reset_noise = 0.1, .gaussian_qvel = true, .obs_qvel_clip = 0.0},
};

}  // namespace

const TaskRules& task_rules(Task task) {
  for (const TaskRules& r : kTasks)
    if (r.task == task) return r;
  CFX_FAIL("task_rules: unknown task ", static_cast<int>(task));
}

Task parse_task(std::string_view name) {
  for (const TaskRules& r : kTasks)
    if (name == r.name) return r.task;
  CFX_FAIL("unknown environment '", name, "'; expected hopper, walker2d or halfcheetah");
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const TaskRules& r : kTasks) names.emplace_back(r.name);
  return names;
}

}  // namespace cfx::rl
