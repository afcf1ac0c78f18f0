#include "apps/rl/policy.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "data/detail/rng.h"
#include "ops/creation.h"
#include "ops/shape_ops.h"

namespace cfx::rl {

std::vector<double> RandomPolicy::act(std::span<const int64_t> alive, const std::vector<std::vector<double>>&) {
  data::detail::Rng rng(gen_);
  std::vector<double> actions(alive.size() * static_cast<size_t>(act_dim_));
  for (double& a : actions) a = rng.uniform(-1.0, 1.0);
  return actions;
}

std::vector<double> ScriptedPolicy::act(std::span<const int64_t> alive, const std::vector<std::vector<double>>& obs) {
  const TaskRules& rules = task_rules(task_);
  const auto act_dim = static_cast<size_t>(rules.act_dim);
  std::vector<double> actions(alive.size() * act_dim);
  data::detail::Rng rng(gen_);
  for (size_t e = 0; e < alive.size(); ++e) {
    const std::vector<double>& o = obs[e];
    double* a = actions.data() + e * act_dim;
    if (task_ == Task::HalfCheetah) {
      // An open-loop gallop: every joint a sinusoid of period 10 steps (0.5 s), each joint of a
      // leg 0.5 rad behind the one above it, the front leg a quarter period behind the back.
      const double phase = 2.0 * M_PI * static_cast<double>(t_) / 10.0;
      for (size_t j = 0; j < 6; ++j)
        a[j] = std::sin(phase + (j < 3 ? 0.0 : 1.5 * M_PI) + 0.5 * static_cast<double>(j % 3));
    } else {
      // obs = [z, pitch, joints (J), root velocities (3), joint velocities (J)]. Every joint is
      // held straight by a PD controller; the pitch of the torso (positive = leaning forward,
      // +y axis) is corrected through the ankles (Hopper) or the hips (Walker2d). Gains found by
      // a small sweep over episodes of seeds 0-2: both stand for the whole 1000 steps.
      const size_t joints = act_dim;
      const bool hopper = task_ == Task::Hopper;
      const double kp = hopper ? 1.0 : 3.0, kd = 0.1, k_pitch = -6.0;
      const size_t pitch_joint = hopper ? 2 : 0;  // ankle | hip, in each leg's (hip, knee, ankle)
      for (size_t j = 0; j < joints; ++j) {
        const double q = o[2 + j], qd = o[2 + joints + 3 + j];
        a[j] = -kp * q - kd * qd + (j % 3 == pitch_joint ? k_pitch * o[1] : 0.0);
      }
    }
    for (size_t j = 0; j < act_dim; ++j) a[j] = std::clamp(a[j] + (noise_ > 0 ? noise_ * rng.normal() : 0.0), -1.0, 1.0);
  }
  ++t_;
  return actions;
}

DtPolicy::DtPolicy(const nn::DecisionTransformer& model, StateNormalizer norm, DtPolicyOptions options)
    : model_(model), norm_(std::move(norm)), options_(options) {
  const auto obs_dim = static_cast<size_t>(model_.config.state_dim);
  CFX_CHECK(norm_.mean.size() == obs_dim && norm_.std.size() == obs_dim, "DtPolicy: state mean/std have ",
            norm_.mean.size(), "/", norm_.std.size(), " values, the model takes ", obs_dim, "-dim states");
  CFX_CHECK(options_.context > 0 && options_.return_scale > 0, "DtPolicy: context and return_scale must be positive");
}

void DtPolicy::begin(int64_t episodes) {
  episodes_.assign(static_cast<size_t>(episodes), History{});
  for (History& h : episodes_) h.rtg.push_back(static_cast<float>(options_.target_return / options_.return_scale));
  t_ = 0;
}

std::vector<double> DtPolicy::act(std::span<const int64_t> alive, const std::vector<std::vector<double>>& obs) {
  const int64_t obs_dim = model_.config.state_dim, act_dim = model_.config.act_dim;
  const int64_t n = static_cast<int64_t>(alive.size());
  const int64_t k = std::min<int64_t>(t_ + 1, options_.context);  // the last <= K steps, no padding
  const int64_t first = t_ + 1 - k;
  std::vector<float> states(static_cast<size_t>(n * k * obs_dim)), actions(static_cast<size_t>(n * k * act_dim));
  std::vector<float> rtg(static_cast<size_t>(n * k));
  std::vector<int64_t> timesteps(static_cast<size_t>(n * k));
  for (int64_t e = 0; e < n; ++e) {
    History& h = episodes_.at(static_cast<size_t>(alive[static_cast<size_t>(e)]));
    for (int64_t j = 0; j < obs_dim; ++j)
      h.states.push_back(static_cast<float>((obs[static_cast<size_t>(e)][static_cast<size_t>(j)] - norm_.mean[static_cast<size_t>(j)]) /
                                            norm_.std[static_cast<size_t>(j)]));
    h.actions.resize(h.actions.size() + static_cast<size_t>(act_dim), 0.0f);  // this step's slot, still zero
    std::copy_n(h.states.begin() + first * obs_dim, k * obs_dim, states.begin() + e * k * obs_dim);
    std::copy_n(h.actions.begin() + first * act_dim, k * act_dim, actions.begin() + e * k * act_dim);
    std::copy_n(h.rtg.begin() + first, k, rtg.begin() + e * k);
    for (int64_t s = 0; s < k; ++s) timesteps[static_cast<size_t>(e * k + s)] = first + s;
  }
  std::vector<float> predicted;
  {
    NoGradGuard no_grad;
    const Device d = options_.device;
    const nn::DecisionTransformerOutput out =
        model_.forward(tensor(states, {n, k, obs_dim}).to(d), tensor(actions, {n, k, act_dim}).to(d),
                       tensor(rtg, {n, k, 1}).to(d), tensor(timesteps, {n, k}).to(d));
    predicted = to_vector<float>(out.action_preds.select(1, k - 1).contiguous().to(Device::cpu()));
  }
  std::vector<double> result(predicted.begin(), predicted.end());
  for (int64_t e = 0; e < n; ++e) {  // the action taken fills this step's slot
    History& h = episodes_[static_cast<size_t>(alive[static_cast<size_t>(e)])];
    std::copy_n(predicted.begin() + e * act_dim, act_dim, h.actions.end() - act_dim);
  }
  ++t_;
  return result;
}

void DtPolicy::observe(std::span<const int64_t> alive, std::span<const double> rewards) {
  for (size_t e = 0; e < alive.size(); ++e) {
    History& h = episodes_.at(static_cast<size_t>(alive[e]));
    h.rtg.push_back(h.rtg.back() - static_cast<float>(rewards[e] / options_.return_scale));
  }
}

}  // namespace cfx::rl
