// SGD, Adam, AdamW, parameter groups and clip_grad_norm_ (nn/optim.h).
#include "nn/optim.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "autograd/grad_mode.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "core/kernels.h"
#include "ops/reduce.h"
#include "core/profiler.h"

namespace cfx::nn {

namespace {

// Whether a step may run as one fused kernel (sgd_step_kernel / adam_step_kernel, on the CPU
// and on CUDA alike): the kernels index p, g and the state buffers by one flat offset, so all
// must be contiguous with p's shape, dtype and device. Anything else (a strided view as a
// parameter, a gradient of another dtype, state left on another device) takes the tensor-op
// path, which handles any layout and reports device mixing as an error.
bool fused_ok(bool fused, const Tensor& p, const Tensor& g, const std::vector<Tensor>& buffers, bool has_kernel) {
  if (!fused || !has_kernel) return false;
  auto same = [&](const Tensor& t) {
    return t.is_contiguous() && t.dtype() == p.dtype() && t.device() == p.device() && t.shape() == p.shape();
  };
  if (!same(p) || !same(g)) return false;
  for (const Tensor& b : buffers)
    if (!same(b)) return false;
  return true;
}

}  // namespace

std::vector<ParamGroup> param_groups_no_decay(const Module& module, double weight_decay,
                                              const std::vector<std::string>& skip) {
  ParamGroup decay, no_decay;
  decay.weight_decay = weight_decay;
  no_decay.weight_decay = 0.0;
  for (auto& [name, p] : module.named_parameters()) {
    if (!p.requires_grad()) continue;
    bool skipped = p.dim() <= 1;  // biases, LayerNorm weights, LayerScale
    for (const auto& s : skip) {
      const std::string dotted = "." + s;  // "pos_embed" also matches "encoder.pos_embed"
      const bool suffix = name.size() > dotted.size() && name.compare(name.size() - dotted.size(), dotted.size(), dotted) == 0;
      skipped = skipped || name == s || suffix;
    }
    (skipped ? no_decay : decay).params.push_back(p);
  }
  std::vector<ParamGroup> groups;
  if (!decay.params.empty()) groups.push_back(std::move(decay));
  if (!no_decay.params.empty()) groups.push_back(std::move(no_decay));
  return groups;
}

// ---- Optimizer base ---------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<ParamGroup> groups, double lr, double weight_decay,
                     std::vector<std::string> buffer_names, const char* name)
    : buffer_names_(std::move(buffer_names)), name_(name) {
  CFX_CHECK(lr >= 0, name_, ": learning rate must be >= 0, got ", lr);
  CFX_CHECK(weight_decay >= 0, name_, ": weight_decay must be >= 0, got ", weight_decay);
  for (auto& g : groups) {
    for (const Tensor& p : g.params) {
      CFX_CHECK(p.defined() && p.is_leaf() && is_floating(p.dtype()), name_,
                ": parameters must be defined float leaf tensors");
    }
    const double glr = g.lr.value_or(lr);
    groups_.push_back(Group{std::move(g.params), glr, g.weight_decay.value_or(weight_decay), glr});
    state_.emplace_back(groups_.back().params.size());
  }
  CFX_CHECK(!groups_.empty(), name_, ": got no parameter groups");
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& g : groups_)
    for (Tensor& p : g.params) {
      if (!p.grad().defined()) continue;
      if (set_to_none) p.unsafe_impl()->grad.reset();
      else p.grad().zero_();
    }
}

void Optimizer::set_lr(double lr) {
  for (auto& g : groups_) g.lr = lr;
}

bool Optimizer::has_state(size_t group, size_t index) const { return state_[group][index].has_value(); }

Optimizer::ParamState& Optimizer::state_of(size_t group, size_t index) {
  auto& s = state_[group][index];
  if (!s) {
    s.emplace();
    for (size_t b = 0; b < buffer_names_.size(); ++b) s->buffers.push_back(zeros_like(groups_[group].params[index]));
  }
  return *s;
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  size_t i = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t k = 0; k < groups_[g].params.size(); ++k, ++i) {
      if (!state_[g][k]) continue;
      const std::string prefix = "state." + std::to_string(i) + ".";
      out.emplace_back(prefix + "step", scalar_tensor(static_cast<double>(state_[g][k]->step), {kInt64}));
      for (size_t b = 0; b < buffer_names_.size(); ++b) out.emplace_back(prefix + buffer_names_[b], state_[g][k]->buffers[b]);
    }
    out.emplace_back("param_groups." + std::to_string(g) + ".lr", scalar_tensor(groups_[g].lr, {kFloat64}));
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  std::map<std::string, Tensor> given(state.begin(), state.end());
  // Validate everything before changing anything.
  std::ostringstream problems;
  std::map<std::string, bool> allowed;
  size_t i = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    allowed["param_groups." + std::to_string(g) + ".lr"] = true;
    for (size_t k = 0; k < groups_[g].params.size(); ++k, ++i) {
      const std::string prefix = "state." + std::to_string(i) + ".";
      allowed[prefix + "step"] = true;
      for (const auto& b : buffer_names_) allowed[prefix + b] = true;
      if (!given.count(prefix + "step")) continue;  // this parameter has not stepped yet
      for (const auto& b : buffer_names_) {
        auto it = given.find(prefix + b);
        if (it == given.end())
          problems << "\n  missing key '" << prefix << b << "' (parameter shape "
                   << shape_str(groups_[g].params[k].shape()) << ")";
        else if (it->second.shape() != groups_[g].params[k].shape())
          problems << "\n  shape mismatch for '" << prefix << b << "': checkpoint " << shape_str(it->second.shape())
                   << " vs parameter " << shape_str(groups_[g].params[k].shape());
      }
    }
  }
  for (const auto& [key, t] : given)
    if (!allowed.count(key)) problems << "\n  unexpected key '" << key << "' (shape " << shape_str(t.shape()) << ")";
  const std::string p = problems.str();
  CFX_CHECK(p.empty(), name_, ".load_state_dict: the saved state does not match this optimizer's parameters:", p);

  NoGradGuard no_grad;
  i = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t k = 0; k < groups_[g].params.size(); ++k, ++i) {
      const std::string prefix = "state." + std::to_string(i) + ".";
      auto it = given.find(prefix + "step");
      if (it == given.end()) {
        state_[g][k].reset();
        continue;
      }
      ParamState& s = state_of(g, k);
      s.step = static_cast<int64_t>(std::llround(it->second.item<double>()));
      for (size_t b = 0; b < buffer_names_.size(); ++b) s.buffers[b].copy_(given.at(prefix + buffer_names_[b]));
    }
    auto lr = given.find("param_groups." + std::to_string(g) + ".lr");
    if (lr != given.end()) groups_[g].lr = lr->second.item<double>();
  }
}

// ---- SGD ------------------------------------------------------------------------------------------

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& opts)
    : Optimizer(std::move(groups), opts.lr, opts.weight_decay,
                opts.momentum != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{}, "SGD"),
      options(opts) {
  CFX_CHECK(opts.momentum >= 0, "SGD: momentum must be >= 0, got ", opts.momentum);
  CFX_CHECK(!opts.nesterov || (opts.momentum > 0 && opts.dampening == 0),
            "SGD: nesterov needs momentum > 0 and dampening = 0, got momentum ", opts.momentum, " and dampening ",
            opts.dampening);
}

void SGD::step() {
  CFX_PROFILE_OP("SGD.step");
  NoGradGuard no_grad;
  const double mu = options.momentum, tau = options.dampening;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const double lr = groups_[gi].lr, wd = groups_[gi].weight_decay;
    for (size_t k = 0; k < groups_[gi].params.size(); ++k) {
      Tensor p = groups_[gi].params[k];
      const Tensor g = p.grad();
      if (!g.defined()) continue;
      ParamState& s = state_of(gi, k);
      const bool first = s.step == 0;
      ++s.step;
      if (fused_ok(options.fused, p, g, s.buffers, sgd_step_kernel.has(p.device()))) {
        // One pass over p (and b) in a kernel of the table; on a GPU that is one launch per
        // parameter instead of the tensor-op path's chain of launches and temporaries.
        Tensor none;  // no momentum: the kernel takes an undefined buffer
        Tensor& b = mu != 0 ? s.buffers[0] : none;
        const SgdStep args{.lr = lr, .weight_decay = wd, .momentum = mu, .dampening = tau,
                           .nesterov = options.nesterov, .first = first};
        sgd_step_kernel(p.device(), p, g, b, args);
        continue;
      }
      Tensor d = wd != 0 ? g + p * wd : g;
      if (mu != 0) {
        Tensor& b = s.buffers[0];
        b.copy_(first ? d : b * mu + d * (1 - tau));
        d = options.nesterov ? d + b * mu : b;
      }
      p.copy_(p - d * lr);
    }
  }
}

namespace {
// The betas and eps of the Adam family (Adam, AdamW, RAdam).
void check_adam_hyperparameters(const char* name, double beta1, double beta2, double eps) {
  CFX_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, name, ": betas must be in [0, 1), got (", beta1, ", ",
            beta2, ")");
  CFX_CHECK(eps >= 0, name, ": eps must be >= 0, got ", eps);
}
}  // namespace

// ---- Adam / AdamW --------------------------------------------------------------------------------

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& opts, bool decoupled)
    : Optimizer(std::move(groups), opts.lr, opts.weight_decay, {"exp_avg", "exp_avg_sq"}, decoupled ? "AdamW" : "Adam"),
      options(opts), decoupled_(decoupled) {
  check_adam_hyperparameters(name_, opts.beta1, opts.beta2, opts.eps);
}

void Adam::step() {
  CFX_PROFILE_OP("Adam.step");
  NoGradGuard no_grad;
  const double b1 = options.beta1, b2 = options.beta2, eps = options.eps;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const double lr = groups_[gi].lr, wd = groups_[gi].weight_decay;
    for (size_t k = 0; k < groups_[gi].params.size(); ++k) {
      Tensor p = groups_[gi].params[k];
      const Tensor g = p.grad();
      if (!g.defined()) continue;
      ParamState& s = state_of(gi, k);
      ++s.step;
      const double bc1 = 1 - std::pow(b1, static_cast<double>(s.step));
      const double bc2 = 1 - std::pow(b2, static_cast<double>(s.step));
      const double step_size = lr / bc1, inv_sqrt_bc2 = 1 / std::sqrt(bc2);
      const double l2 = decoupled_ ? 0.0 : wd;            // coupled: g += wd·p
      const double shrink = decoupled_ ? 1 - lr * wd : 1.0;  // decoupled: p *= 1 - lr·wd
      Tensor& m = s.buffers[0];
      Tensor& v = s.buffers[1];
      if (fused_ok(options.fused, p, g, s.buffers, adam_step_kernel.has(p.device()))) {
        // One pass over p, m and v in a kernel of the table (see SGD::step).
        const AdamStep args{.step_size = step_size, .inv_sqrt_bc2 = inv_sqrt_bc2, .beta1 = b1, .beta2 = b2,
                            .eps = eps, .l2 = l2, .shrink = shrink};
        adam_step_kernel(p.device(), p, g, m, v, args);
        continue;
      }
      const Tensor gg = l2 != 0 ? g + p * l2 : g;
      if (shrink != 1.0) p.copy_(p * shrink);
      m.copy_(m * b1 + gg * (1 - b1));
      v.copy_(v * b2 + gg * gg * (1 - b2));
      p.copy_(p - m * step_size / (sqrt(v) * inv_sqrt_bc2 + eps));
    }
  }
}

// ---- RAdam ---------------------------------------------------------------------------------------

RAdam::RAdam(std::vector<ParamGroup> groups, const RAdamOptions& opts)
    : Optimizer(std::move(groups), opts.lr, opts.weight_decay, {"exp_avg", "exp_avg_sq"}, "RAdam"), options(opts) {
  check_adam_hyperparameters(name_, opts.beta1, opts.beta2, opts.eps);
}

void RAdam::step() {
  CFX_PROFILE_OP("RAdam.step");
  NoGradGuard no_grad;
  const double b1 = options.beta1, b2 = options.beta2, eps = options.eps;
  const double rho_inf = 2 / (1 - b2) - 1;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const double lr = groups_[gi].lr, wd = groups_[gi].weight_decay;
    for (size_t k = 0; k < groups_[gi].params.size(); ++k) {
      Tensor p = groups_[gi].params[k];
      const Tensor g = p.grad();
      if (!g.defined()) continue;
      ParamState& s = state_of(gi, k);
      Tensor& m = s.buffers[0];
      Tensor& v = s.buffers[1];
      v.copy_(v * b2 + g * g * (1 - b2));
      m.copy_(m * b1 + g * (1 - b1));
      const double t = static_cast<double>(++s.step);
      const double b2t = std::pow(b2, t), bc1 = 1 - std::pow(b1, t);
      const double rho = rho_inf - 2 * t * b2t / (1 - b2t);
      const bool adaptive = rho >= 5;  // the variance of the adaptive rate is tractable
      if (!adaptive && !options.degenerated_to_sgd) continue;
      if (wd != 0) p.copy_(p * (1 - lr * wd));
      if (adaptive) {
        const double rect = std::sqrt((1 - b2t) * (rho - 4) / (rho_inf - 4) * (rho - 2) / rho * rho_inf / (rho_inf - 2));
        p.copy_(p - m * (lr * rect / bc1) / (sqrt(v) + eps));
      } else {
        p.copy_(p - m * (lr / bc1));
      }
    }
  }
}

// ---- clip_grad_norm_ -----------------------------------------------------------------------------

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  CFX_CHECK(max_norm > 0, "clip_grad_norm_: max_norm must be positive, got ", max_norm);
  NoGradGuard no_grad;
  // The squared norms add up on their own device, in one running float64 scalar per device,
  // read back once per device at the end: .item() per parameter would synchronise a GPU once
  // per parameter. Adding in parameter order in double gives the same sum as adding on the
  // host (one device: bit for bit).
  std::vector<Tensor> per_device;  // few devices: a linear search beats a map
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const Tensor g64 = g.to(kFloat64);
    const Tensor sq = sum(g64 * g64);
    auto it = std::find_if(per_device.begin(), per_device.end(),
                           [&](const Tensor& acc) { return acc.device() == sq.device(); });
    if (it == per_device.end()) per_device.push_back(sq);
    else *it = *it + sq;
  }
  double sq = 0;
  for (const Tensor& acc : per_device) sq += acc.item<double>();
  const double total = std::sqrt(sq);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.copy_(g * coef);
    }
  return total;
}

}  // namespace cfx::nn
