// Optimisers (torch.optim semantics), parameter groups and gradient clipping.
//
// Updates run under NoGradGuard and write the parameters in place, so every module handle
// sees them. With `fused = true` (the default) each parameter's update is one pass of a kernel
// (sgd_step_kernel / adam_step_kernel of core/kernels.h, CPU and CUDA, math in double) when the
// parameter, its gradient and its state are contiguous and alike in dtype and device;
// `fused = false`, or anything else, uses the same formulas written with tensor ops.
// Parameters whose .grad() is undefined are skipped (as PyTorch).
//
//   SGD:   d = g + wd·p;  b = μ·b + (1-τ)·d (b = d at the first step);  d = nesterov ? d + μ·b : b
//          p -= lr·d
//   Adam:  g += wd·p (L2, coupled);   AdamW: p -= lr·wd·p (decoupled; = flax Adam's and
//          fairseq Adam's weight decay, BENCHMARKS.md §1.2, §2.3)
//          m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  t += 1
//          p -= lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + eps)
//
// State lives in the optimiser (STYLE.md practice 13) and is exported by state_dict() with
// PyTorch's numbering: parameters are indexed 0, 1, ... across groups in order, keys
// "state.<i>.step", "state.<i>.exp_avg", "state.<i>.exp_avg_sq", "state.<i>.momentum_buffer",
// and "param_groups.<g>.lr". nn/checkpoint.h writes these under the HDF5 group "optimizer".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nn/module.h"

namespace cfx::nn {

// What the caller passes: parameters plus optional per-group overrides.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr;            // unset: the optimiser's lr
  std::optional<double> weight_decay;  // unset: the optimiser's weight_decay
};

// Two groups from a module: "decay" (weights with dim >= 2) with `weight_decay`, and
// "no decay" (1-d params = biases and norm scales, plus any name in `skip`, e.g. "pos_embed")
// with 0, like timm's param_groups_weight_decay. Empty groups are dropped.
std::vector<ParamGroup> param_groups_no_decay(const Module& module, double weight_decay,
                                              const std::vector<std::string>& skip = {});

class Optimizer {
 public:
  // A resolved group: lr and weight_decay always set. initial_lr is what schedulers scale.
  struct Group {
    std::vector<Tensor> params;
    double lr;
    double weight_decay;
    double initial_lr;
  };

  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // set_to_none (default): grads become undefined; else zeroed.
  void zero_grad(bool set_to_none = true);

  std::vector<Group>& param_groups() { return groups_; }
  const std::vector<Group>& param_groups() const { return groups_; }
  void set_lr(double lr);  // every group
  double lr() const { return groups_.at(0).lr; }

  StateDict state_dict() const;
  // Checks every key and shape first; throws naming the key (and both shapes) on a mismatch.
  void load_state_dict(const StateDict& state);

 protected:
  Optimizer(std::vector<ParamGroup> groups, double lr, double weight_decay, std::vector<std::string> buffer_names,
            const char* name);
  // Per-parameter state, created at the parameter's first step.
  struct ParamState {
    int64_t step = 0;
    std::vector<Tensor> buffers;  // named by buffer_names_ (e.g. exp_avg, exp_avg_sq)
  };
  ParamState& state_of(size_t group, size_t index);
  bool has_state(size_t group, size_t index) const;

  std::vector<Group> groups_;
  std::vector<std::vector<std::optional<ParamState>>> state_;
  std::vector<std::string> buffer_names_;
  const char* name_;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool fused = true;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, const SGDOptions& opts);
  SGD(std::vector<Tensor> params, const SGDOptions& opts) : SGD({ParamGroup{std::move(params), std::nullopt, std::nullopt}}, opts) {}
  void step() override;
  SGDOptions options;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool fused = true;
};

// Adam with L2 weight decay added to the gradient (torch.optim.Adam).
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& opts, bool decoupled = false);
  Adam(std::vector<Tensor> params, const AdamOptions& opts) : Adam({ParamGroup{std::move(params), std::nullopt, std::nullopt}}, opts) {}
  void step() override;
  AdamOptions options;

 private:
  bool decoupled_;
};

// Adam with decoupled weight decay (torch.optim.AdamW; its default weight_decay is 0.01).
class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& opts) : Adam(std::move(groups), opts, true) {}
  AdamW(std::vector<Tensor> params, const AdamOptions& opts) : AdamW({ParamGroup{std::move(params), std::nullopt, std::nullopt}}, opts) {}
};

// RAdam as the UEA recipe runs it (mvts_transformer's optimizers.py, the LiyuanLucasLiu
// implementation; not torch.optim.RAdam, which differs in where eps goes and in decay):
//   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  t += 1
//   ρ∞ = 2/(1-β2) - 1;  ρt = ρ∞ - 2t·β2^t/(1-β2^t)
//   ρt >= 5:  p -= lr·wd·p;  r = √((1-β2^t)(ρt-4)(ρt-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρt));
//             p -= lr · r/(1-β1^t) · m / (√v + eps)          (eps on the uncorrected √v)
//   else, degenerated_to_sgd:  p -= lr·wd·p;  p -= lr/(1-β1^t) · m   (an SGD-momentum step)
//   else: no update.
// State keys as Adam's ("state.<i>.step", "exp_avg", "exp_avg_sq"). Written with tensor ops.
struct RAdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool degenerated_to_sgd = true;
};

class RAdam : public Optimizer {
 public:
  RAdam(std::vector<ParamGroup> groups, const RAdamOptions& opts);
  RAdam(std::vector<Tensor> params, const RAdamOptions& opts) : RAdam({ParamGroup{std::move(params), std::nullopt, std::nullopt}}, opts) {}
  void step() override;
  RAdamOptions options;
};

// Scales all gradients by min(1, max_norm / (‖g‖₂ + 1e-6)) where ‖g‖₂ is the norm of all
// gradients together (torch.nn.utils.clip_grad_norm_). Returns that total norm (before clipping).
// Reads the norm back once per device (not once per parameter).
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);

}  // namespace cfx::nn
