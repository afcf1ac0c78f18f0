// The per-thread autograd switches: grad mode (like torch.no_grad()) and anomaly mode (like
// torch.autograd.set_detect_anomaly). Both are thread-local and live in engine.cpp, beside
// record(), which tests the anomaly flag inline.
#pragma once

namespace cfx {

bool grad_mode_enabled();
void set_grad_mode_enabled(bool enabled);

// Disables gradient recording for its scope (optimizer steps, evaluation, backward itself).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_mode_enabled()) { set_grad_mode_enabled(false); }
  ~NoGradGuard() { set_grad_mode_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

namespace autograd {

// Anomaly mode: every op that records a node checks its output for NaN/Inf, the engine checks
// every gradient a backward returns, and each node keeps a backtrace of its creation so the
// error says where the op was created (autograd/anomaly.h has the rules and the messages).
// Slow: a debugging aid. Off, it costs one thread-local read and one predictable branch per
// recorded op (conflux-bench-anomaly).
//
// Thread-local, like grad mode (the engine runs backward on the calling thread). A thread's
// first query takes the process default: CONFLUX_DETECT_ANOMALY=1 turns it on for every
// thread of the process ("0" or unset: off; any other value is an error), read once.
bool anomaly_mode_enabled();
void set_anomaly_mode_enabled(bool enabled);

// Turns anomaly mode on (or, with false, off) for its scope and restores the previous state;
// nests. Like torch::autograd::DetectAnomalyGuard.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool enabled = true) : previous_(anomaly_mode_enabled()) {
    set_anomaly_mode_enabled(enabled);
  }
  ~DetectAnomalyGuard() { set_anomaly_mode_enabled(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace autograd
}  // namespace cfx
