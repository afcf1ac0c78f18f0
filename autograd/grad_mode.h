// Whether ops record history. Thread-local, like torch.no_grad().
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

}  // namespace cfx
