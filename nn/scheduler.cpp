// Learning-rate schedules (nn/scheduler.h): each factory returns the closed form of its header comment.
#include "nn/scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace cfx::nn {

Schedule operator*(const Schedule& a, const Schedule& b) {
  return {[a, b](int64_t t) { return a(t) * b(t); }};
}

namespace schedule {

namespace {
double d(int64_t x) { return static_cast<double>(x); }
void check_warmup(const char* who, int64_t warmup) {
  CFX_CHECK(warmup >= 0, who, ": warmup must be >= 0, got ", warmup);
}
// t / w during warm-up (1 when w == 0).
double warm(int64_t t, int64_t w) { return w > 0 ? std::min(1.0, d(t) / d(w)) : 1.0; }
}  // namespace

Schedule constant() { return {[](int64_t) { return 1.0; }}; }

Schedule linear_warmup(int64_t warmup) {
  check_warmup("linear_warmup", warmup);
  return {[warmup](int64_t t) { return warm(t, warmup); }};
}

Schedule rsqrt_decay(int64_t warmup) {
  CFX_CHECK(warmup > 0, "rsqrt_decay: warmup must be > 0, got ", warmup);
  return {[warmup](int64_t t) { return 1.0 / std::sqrt(d(std::max(t, warmup))); }};
}

Schedule cosine_cycles(int64_t warmup, int64_t cycle) {
  check_warmup("cosine_cycles", warmup);
  CFX_CHECK(cycle > 0, "cosine_cycles: steps per cycle must be > 0, got ", cycle);
  return {[warmup, cycle](int64_t t) {
    const double p = std::max(0.0, d(t - warmup) / d(cycle));
    return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * std::fmod(p, 1.0))));
  }};
}

Schedule warmup_cosine(int64_t warmup, int64_t total, double min_factor) {
  check_warmup("warmup_cosine", warmup);
  CFX_CHECK(total > warmup, "warmup_cosine: total steps ", total, " must exceed warmup ", warmup);
  return {[=](int64_t t) {
    if (t < warmup) return d(t) / d(warmup);
    const double p = std::min(1.0, d(t - warmup) / d(total - warmup));
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  }};
}

Schedule warmup_linear(int64_t warmup, int64_t total, double min_factor) {
  check_warmup("warmup_linear", warmup);
  CFX_CHECK(total > warmup, "warmup_linear: total steps ", total, " must exceed warmup ", warmup);
  return {[=](int64_t t) {
    if (t < warmup) return d(t) / d(warmup);
    return std::max(min_factor, 1.0 - (1.0 - min_factor) * d(t - warmup) / d(total - warmup));
  }};
}

Schedule inverse_sqrt(int64_t warmup, double init_factor) {
  CFX_CHECK(warmup > 0, "inverse_sqrt: warmup must be > 0, got ", warmup);
  return {[=](int64_t t) {
    if (t < warmup) return init_factor + (1.0 - init_factor) * d(t) / d(warmup);
    return std::sqrt(d(warmup) / d(t));
  }};
}

Schedule warmup_constant(int64_t warmup) {
  CFX_CHECK(warmup > 0, "warmup_constant: warmup must be > 0, got ", warmup);
  return {[warmup](int64_t t) { return std::min(d(t + 1) / d(warmup), 1.0); }};
}

Schedule timm_cosine(int64_t warmup, double init_factor, int64_t t_initial, double min_factor) {
  check_warmup("timm_cosine", warmup);
  CFX_CHECK(t_initial > 0, "timm_cosine: t_initial must be > 0, got ", t_initial);
  return {[=](int64_t t) {
    if (t < warmup) return init_factor + (1.0 - init_factor) * d(t) / d(warmup);
    if (t >= t_initial) return min_factor;
    return min_factor + 0.5 * (1.0 - min_factor) * (1.0 + std::cos(std::numbers::pi * d(t) / d(t_initial)));
  }};
}

Schedule per_epoch(Schedule s, int64_t steps_per_epoch) {
  CFX_CHECK(s.f, "per_epoch: empty schedule");
  CFX_CHECK(steps_per_epoch > 0, "per_epoch: steps_per_epoch must be > 0, got ", steps_per_epoch);
  return {[s = std::move(s), steps_per_epoch](int64_t t) { return s(t / steps_per_epoch); }};
}

}  // namespace schedule

LRScheduler::LRScheduler(Optimizer& optimizer, Schedule schedule, int64_t start_step)
    : optimizer_(optimizer), schedule_(std::move(schedule)), t_(start_step) {
  CFX_CHECK(schedule_.f, "LRScheduler: empty schedule");
  CFX_CHECK(start_step >= 0, "LRScheduler: start_step must be >= 0, got ", start_step);
  apply();
}

void LRScheduler::step() {
  ++t_;
  apply();
}

void LRScheduler::apply() {
  const double f = schedule_(t_);
  for (auto& g : optimizer_.param_groups()) g.lr = g.initial_lr * f;
}

std::vector<double> LRScheduler::last_lr() const {
  std::vector<double> out;
  for (const auto& g : optimizer_.param_groups()) out.push_back(g.lr);
  return out;
}

}  // namespace cfx::nn
