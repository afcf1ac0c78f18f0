// softmax, log_softmax and cumsum along one dim (declared in ops/reduce.h), each with its
// gradient right under the forward. Kernels: ops/cpu/softmax_cpu.cpp.
//
// Inputs may be any strided view: the kernels read strides, so no .contiguous() copy here.
#include "autograd/node.h"
#include "core/kernels.h"
#include "ops/reduce.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

// torch accepts dim 0 / -1 on a 0-d tensor and treats it as one element; we do the same by
// running on a [1] view (which keeps the autograd history of the view).
Tensor as_at_least_1d(const Tensor& x) { return x.dim() == 0 ? x.reshape({1}) : x; }

Tensor softmax_impl(const Tensor& x_in, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  CFX_PROFILE_OP(name);
  CFX_CHECK(is_floating(x_in.dtype()), name, ": expected a float32 or float64 tensor, got ", x_in.dtype());
  const Tensor x = as_at_least_1d(x_in);
  dim = wrap_dim(dim, x.dim(), name);
  Tensor out = detail::make_empty(x.shape(), x.dtype(), x.device());
  softmax_kernel(x.device(), x, dim, log, out);
  // Backward needs only the output y (both formulas are written in y), not x.
  autograd::record(name, out, {x}, [y = out.detach(), dim, log](const Tensor& g, const NeedsGrad&) {
    Tensor gx = detail::make_empty(y.shape(), y.dtype(), y.device());
    softmax_backward_kernel(y.device(), y, g, dim, log, gx);
    return grads{gx};
  });
  return x_in.dim() == 0 ? out.reshape({}) : out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, /*log=*/false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, /*log=*/true); }

Tensor cumsum(const Tensor& x_in, int64_t dim) {
  CFX_PROFILE_OP("cumsum");
  // Like torch, integer and bool inputs sum in int64 (an int32 running sum overflows
  // quickly); floats keep their dtype.
  Tensor x = as_at_least_1d(x_in);
  if (!is_floating(x.dtype()) && x.dtype() != kInt64) x = x.to(kInt64);
  dim = wrap_dim(dim, x.dim(), "cumsum");
  Tensor out = detail::make_empty(x.shape(), x.dtype(), x.device());
  cumsum_kernel(x.device(), x, dim, out);
  // y_k = sum_{j<=k} x_j, so dL/dx_j = sum_{k>=j} g_k: a reverse cumsum of g, written
  // without a flip as  total(g) - cumsum(g) + g.
  autograd::record("cumsum", out, {x}, [dim](const Tensor& g, const NeedsGrad&) {
    return grads{sum(g, {dim}, /*keepdim=*/true) - cumsum(g, dim) + g};
  });
  return x_in.dim() == 0 ? out.reshape({}) : out;
}

}  // namespace cfx
