// One gym v3 locomotion environment (Hopper-v3, Walker2d-v3, HalfCheetah-v3) on libmujoco,
// with gym's rules (apps/rl/env/tasks.h) and its 1000-step time limit:
//
//   LocomotionEnv env(Task::Hopper, /*seed=*/100);
//   std::vector<double> obs = env.reset();
//   while (true) {
//     StepResult r = env.step(action);                    // ctrl = action, frame_skip mj_steps
//     if (r.terminated || r.truncated) break;             // fell over / 1000 steps
//   }
//
// reset: mj_resetData, qpos0 + noise, qvel noise, mj_forward. step: reward = forward
// velocity (x after - x before) / dt + healthy reward - ctrl_cost_weight * |a|^2, health
// judged on the state after the step. The noise comes from a Philox stream seeded by `seed`:
// the same seed gives the same episodes (numpy's stream, which gym uses, is not reproduced).
// Actions outside [-1, 1] are clamped by MuJoCo (ctrllimited), but cost as given, as in gym.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "apps/rl/env/mujoco_model.h"
#include "apps/rl/env/tasks.h"
#include "core/generator.h"

struct mjData_;

namespace cfx::rl {

struct StepResult {
  std::vector<double> obs;
  double reward = 0.0;
  bool terminated = false;  // unhealthy (Hopper, Walker2d)
  bool truncated = false;   // the time limit
};

class LocomotionEnv {
 public:
  static constexpr int64_t kMaxEpisodeSteps = 1000;  // gym's TimeLimit for all three tasks

  // The built-in model of the task.
  LocomotionEnv(Task task, uint64_t seed);
  // Any model with the task's joints (gym's own XML in the tests).
  LocomotionEnv(Task task, std::shared_ptr<const MujocoModel> model, uint64_t seed);
  LocomotionEnv(LocomotionEnv&&) noexcept = default;
  LocomotionEnv& operator=(LocomotionEnv&&) noexcept = default;

  // Starts an episode; returns its first observation.
  std::vector<double> reset();
  // One step; throws before the first reset(), after the episode ended, for a wrong action
  // size or a non-finite action.
  StepResult step(std::span<const double> action);

  // gym's set_state: positions and velocities, then mj_forward (time and step count kept).
  void set_state(std::span<const double> qpos, std::span<const double> qvel);
  std::span<const double> qpos() const;
  std::span<const double> qvel() const;
  std::vector<double> observation() const;
  bool healthy() const;

  const TaskRules& rules() const { return *rules_; }
  double dt() const;  // seconds per step: timestep * frame_skip
  int64_t elapsed_steps() const { return steps_; }
  bool done() const { return done_; }

 private:
  const TaskRules* rules_;
  std::shared_ptr<const MujocoModel> model_;
  struct DeleteData {
    void operator()(mjData_* data) const;
  };
  std::unique_ptr<mjData_, DeleteData> data_;
  std::unique_ptr<Generator> gen_;  // the reset noise
  int64_t steps_ = 0;
  bool started_ = false, done_ = false;
};

}  // namespace cfx::rl
