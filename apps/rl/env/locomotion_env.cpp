#include "apps/rl/env/locomotion_env.h"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/detail/rng.h"

namespace cfx::rl {

LocomotionEnv::LocomotionEnv(Task task, uint64_t seed) : LocomotionEnv(task, MujocoModel::builtin(task), seed) {}

LocomotionEnv::LocomotionEnv(Task task, std::shared_ptr<const MujocoModel> model, uint64_t seed)
    : rules_(&task_rules(task)), model_(std::move(model)), gen_(std::make_unique<Generator>(seed)) {
  CFX_CHECK(model_, "LocomotionEnv: the model is null");
  const int expected_nq = rules_->obs_dim - (rules_->obs_dim - 1) / 2;  // obs = nq - 1 + nv, nv = nq
  CFX_CHECK(model_->nq() == expected_nq && model_->nv() == expected_nq && model_->nu() == rules_->act_dim,
            "LocomotionEnv: ", model_->name(), " has nq ", model_->nq(), ", nv ", model_->nv(), ", nu ", model_->nu(),
            "; ", rules_->gym_id, " expects nq = nv = ", expected_nq, ", nu ", rules_->act_dim);
  data_.reset(mj_makeData(model_->get()));
  CFX_CHECK(data_ != nullptr, "LocomotionEnv: mj_makeData failed for ", model_->name());
}

void LocomotionEnv::DeleteData::operator()(mjData_* data) const { mj_deleteData(data); }

std::vector<double> LocomotionEnv::reset() {
  const mjModel* m = model_->get();
  mj_resetData(m, data_.get());
  data::detail::Rng rng(*gen_);
  const double noise = rules_->reset_noise;
  for (int i = 0; i < m->nq; ++i) data_->qpos[i] = m->qpos0[i] + rng.uniform(-noise, noise);
  for (int i = 0; i < m->nv; ++i) {
    if (rules_->gaussian_qvel) {
      // Rng::normal()'s Box-Muller, kept inline: (noise * r) * cos rounds differently from
      // noise * (r * cos), and the seeded episodes are kept bit for bit.
      const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
      data_->qvel[i] = noise * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    } else {
      data_->qvel[i] = rng.uniform(-noise, noise);
    }
  }
  mj_forward(m, data_.get());
  steps_ = 0;
  started_ = true;
  done_ = false;
  return observation();
}

StepResult LocomotionEnv::step(std::span<const double> action) {
  CFX_CHECK(started_, rules_->gym_id, ": step() before reset()");
  CFX_CHECK(!done_, rules_->gym_id, ": step() after the episode ended (at step ", steps_, "); call reset()");
  CFX_CHECK(static_cast<int>(action.size()) == rules_->act_dim, rules_->gym_id, ": action has ", action.size(),
            " values, expected ", rules_->act_dim);
  double ctrl_cost = 0.0;
  for (size_t i = 0; i < action.size(); ++i) {
    CFX_CHECK(std::isfinite(action[i]), rules_->gym_id, ": action[", i, "] = ", action[i], " at step ", steps_);
    data_->ctrl[i] = action[i];
    ctrl_cost += action[i] * action[i];
  }
  const mjModel* m = model_->get();
  const int bad_before = data_->warning[mjWARN_BADQACC].number + data_->warning[mjWARN_BADQVEL].number +
                         data_->warning[mjWARN_BADQPOS].number;
  const double x_before = data_->qpos[0];
  for (int k = 0; k < rules_->frame_skip; ++k) mj_step(m, data_.get());
  const int bad_after = data_->warning[mjWARN_BADQACC].number + data_->warning[mjWARN_BADQVEL].number +
                        data_->warning[mjWARN_BADQPOS].number;
  CFX_CHECK(bad_after == bad_before, rules_->gym_id, ": the simulation became unstable at step ", steps_,
            " (MuJoCo reset it: a non-finite or huge state)");
  ++steps_;

  StepResult r;
  const double forward_velocity = (data_->qpos[0] - x_before) / dt();
  const bool is_healthy = healthy();
  // gym: healthy_reward counts when healthy or when unhealthy ends the episode, i.e. always here.
  const double healthy_reward = (is_healthy || rules_->terminate_when_unhealthy) ? rules_->healthy_reward : 0.0;
  r.reward = forward_velocity + healthy_reward - rules_->ctrl_cost_weight * ctrl_cost;
  r.terminated = rules_->terminate_when_unhealthy && !is_healthy;
  r.truncated = !r.terminated && steps_ >= kMaxEpisodeSteps;
  r.obs = observation();
  done_ = r.terminated || r.truncated;
  return r;
}

bool LocomotionEnv::healthy() const {
  const double z = data_->qpos[1], angle = data_->qpos[2];
  const TaskRules& r = *rules_;
  if (!(r.z_min < z && z < r.z_max) || !(r.angle_min < angle && angle < r.angle_max)) return false;
  if (r.state_bound > 0) {
    const mjModel* m = model_->get();
    for (int i = 2; i < m->nq; ++i)
      if (!(-r.state_bound < data_->qpos[i] && data_->qpos[i] < r.state_bound)) return false;
    for (int i = 0; i < m->nv; ++i)
      if (!(-r.state_bound < data_->qvel[i] && data_->qvel[i] < r.state_bound)) return false;
  }
  return true;
}

std::vector<double> LocomotionEnv::observation() const {
  const mjModel* m = model_->get();
  std::vector<double> obs;
  obs.reserve(static_cast<size_t>(rules_->obs_dim));
  for (int i = 1; i < m->nq; ++i) obs.push_back(data_->qpos[i]);  // x is left out: the policy must not see it
  const double c = rules_->obs_qvel_clip;
  for (int i = 0; i < m->nv; ++i) obs.push_back(c > 0 ? std::clamp(data_->qvel[i], -c, c) : data_->qvel[i]);
  return obs;
}

void LocomotionEnv::set_state(std::span<const double> qpos, std::span<const double> qvel) {
  const mjModel* m = model_->get();
  CFX_CHECK(static_cast<int>(qpos.size()) == m->nq && static_cast<int>(qvel.size()) == m->nv, rules_->gym_id,
            ": set_state got qpos ", qpos.size(), ", qvel ", qvel.size(), "; expected ", m->nq, ", ", m->nv);
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
  std::copy(qvel.begin(), qvel.end(), data_->qvel);
  mj_forward(m, data_.get());
  started_ = true;
  done_ = false;
}

std::span<const double> LocomotionEnv::qpos() const { return {data_->qpos, static_cast<size_t>(model_->nq())}; }
std::span<const double> LocomotionEnv::qvel() const { return {data_->qvel, static_cast<size_t>(model_->nv())}; }
double LocomotionEnv::dt() const { return model_->timestep() * rules_->frame_skip; }

}  // namespace cfx::rl
