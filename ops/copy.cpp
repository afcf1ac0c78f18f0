// Copies: contiguous(), clone(), dtype/device conversion, in-place copy_/fill_.
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/kernels.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

Tensor Tensor::clone() const {
  CFX_PROFILE_OP("clone");
  Tensor out = detail::make_empty(shape(), dtype(), device());
  copy_kernel(device(), out, *this);
  autograd::record("clone", out, {*this}, [](const Tensor& g, const NeedsGrad&) { return grads{g}; });
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::to(DType target) const {
  CFX_PROFILE_OP("to");
  if (target == dtype()) return *this;
  Tensor out = detail::make_empty(shape(), target, device());
  copy_kernel(device(), out, *this);
  if (is_floating(target))  // integer results carry no gradient
    autograd::record("to", out, {*this}, [from = dtype()](const Tensor& g, const NeedsGrad&) {
      return grads{g.to(from)};
    });
  return out;
}

Tensor Tensor::to(Device target) const {
  CFX_PROFILE_OP("to_device");
  if (target == device()) return *this;
  Tensor src = contiguous();
  Tensor out = detail::make_empty(shape(), dtype(), target);
  // Cross-device copies are done by the non-CPU side's copy kernel.
  const Device side = target.is_cpu() ? device() : target;
  copy_kernel(side, out, src);
  autograd::record("to_device", out, {*this}, [from = device()](const Tensor& g, const NeedsGrad&) {
    return grads{g.to(from)};
  });
  return out;
}

Tensor& Tensor::copy_(const Tensor& src) {
  CFX_PROFILE_OP("copy_");
  CFX_CHECK(!(grad_mode_enabled() && requires_grad()), "copy_: in-place copy into a tensor that requires grad; "
            "wrap it in NoGradGuard (e.g. for parameter updates)");
  CFX_CHECK(broadcast_shapes(shape(), src.shape(), "copy_") == shape(), "copy_: source of shape ", src.shape(),
            " does not broadcast to the destination's shape ", shape());
  const Device side = device().is_cpu() ? src.device() : device();
  copy_kernel(side, *this, src);
  return *this;
}

Tensor& Tensor::fill_(double value) {
  CFX_CHECK(!(grad_mode_enabled() && requires_grad()), "fill_: in-place fill of a tensor that requires grad; "
            "wrap it in NoGradGuard");
  fill_kernel(device(), *this, value);
  return *this;
}

}  // namespace cfx
