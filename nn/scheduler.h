// Learning-rate schedules as closed forms lr(t) = initial_lr · f(t), and the LRScheduler that
// applies one to an optimiser's groups (torch LambdaLR semantics: the constructor sets the
// lr for step 0; each step() advances t by one; t counts optimiser updates from 0).
//
// The paper's recipes (../shared/BENCHMARKS.md):
//   LRA ListOps/Text/Retrieval  linear_warmup(w) * rsqrt_decay(w)             (flax, §1.2)
//   LRA Image/Pathfinder        linear_warmup(w) * cosine_cycles(w, cycle)    (flax, §1.2)
//   WikiText-103                inverse_sqrt(6000, 1e-7/1e-3)                  (fairseq, §2.3)
//   ImageNet (per epoch)        timm_cosine(5, 1e-6/lr, 300, 1e-5/lr)         (timm, §3.3)
//   D4RL                        warmup_constant(10000)                        (LambdaLR, §5.4)
// Generic ones: warmup_cosine, warmup_linear.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "nn/optim.h"

namespace cfx::nn {

// A factor f(t) >= 0. Schedules compose by product, like flax's "constant*linear_warmup*rsqrt_decay".
struct Schedule {
  std::function<double(int64_t)> f;
  double operator()(int64_t t) const { return f(t); }
};
Schedule operator*(const Schedule& a, const Schedule& b);

namespace schedule {
Schedule constant();                                   // 1
Schedule linear_warmup(int64_t warmup);                // min(1, t / warmup)
Schedule rsqrt_decay(int64_t warmup);                  // 1 / √max(t, warmup)
// max(0, ½(1 + cos(π · (p mod 1)))), p = max(0, (t - warmup) / cycle)   (flax cosine_decay)
Schedule cosine_cycles(int64_t warmup, int64_t cycle);
// t < w: t / w;  else  m + (1 - m) · ½(1 + cos(π · min(1, (t - w) / (total - w))))
Schedule warmup_cosine(int64_t warmup, int64_t total, double min_factor = 0.0);
// t < w: t / w;  else  max(m, 1 - (1 - m) · (t - w) / (total - w))
Schedule warmup_linear(int64_t warmup, int64_t total, double min_factor = 0.0);
// fairseq inverse_sqrt: t < w: i + (1 - i) · t / w;  else √(w / t)   (i = warmup_init_lr / lr)
Schedule inverse_sqrt(int64_t warmup, double init_factor = 0.0);
// Decision Transformer LambdaLR: min((t + 1) / warmup, 1)
Schedule warmup_constant(int64_t warmup);
// timm CosineLRScheduler (warmup_prefix=False): t < w: i + (1 - i) · t / w;
// t < T: m + ½(1 - m)(1 + cos(π t / T));  else m   (i = warmup_lr_init / lr, m = lr_min / lr)
Schedule timm_cosine(int64_t warmup, double init_factor, int64_t t_initial, double min_factor);
// An epoch-wise schedule (t = epochs, as timm's and torch's epoch schedulers step) on the
// per-update clock: f(t) = s(t / steps_per_epoch), so the lr holds for a whole epoch and
// changes at its end, e.g. per_epoch(timm_cosine(5, ...), batches_per_epoch).
Schedule per_epoch(Schedule s, int64_t steps_per_epoch);
}  // namespace schedule

class LRScheduler {
 public:
  // Sets every group's lr to initial_lr · f(start_step).
  LRScheduler(Optimizer& optimizer, Schedule schedule, int64_t start_step = 0);
  void step();                          // t += 1, then set the lrs
  int64_t current_step() const { return t_; }
  std::vector<double> last_lr() const;  // the lr of each group now

 private:
  void apply();
  Optimizer& optimizer_;
  Schedule schedule_;
  int64_t t_;
};

}  // namespace cfx::nn
