// Reductions (sum, mean, amax/amin, max with indices, argmax) and sum_to, with gradients.
// softmax, log_softmax and cumsum are in ops/softmax.cpp.
#include "ops/reduce.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "core/kernels.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

// Sorted, unique, wrapped dims; an empty list means "all dims".
Shape normalize_dims(const Shape& dims, int64_t ndim, const char* op) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  CFX_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": dim repeats in ", dims);
  return out;
}

Shape keepdim_shape(const Shape& shape, const Shape& dims) {
  Shape s = shape;
  for (int64_t d : dims) s[d] = 1;
  return s;
}

Shape squeezed_shape(const Shape& shape, const Shape& dims) {
  Shape s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) s.push_back(shape[d]);
  return s;
}

Tensor reduce_forward(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) {
  Tensor out = detail::make_empty(keepdim_shape(x.shape(), dims), x.dtype(), x.device());
  if (x.numel() == 0 && op != ReduceOp::Sum) CFX_FAIL("amax/amin: cannot reduce an empty tensor of shape ", x.shape());
  reduce_kernel(x.device(), op, x, dims, out);
  return keepdim ? out : out.view(squeezed_shape(x.shape(), dims));
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  CFX_PROFILE_OP("sum");
  const Shape dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor out = reduce_forward(ReduceOp::Sum, x, dims, keepdim);
  autograd::record("sum", out, {x}, [in = x.shape(), dims](const Tensor& g, const NeedsGrad&) {
    return grads{g.reshape(keepdim_shape(in, dims)).expand(in).contiguous()};
  });
  return out;
}
Tensor sum(const Tensor& x) { return sum(x, {}, false); }

Tensor mean(const Tensor& x, const Shape& dims_in, bool keepdim) {
  CFX_PROFILE_OP("mean");
  CFX_CHECK(is_floating(x.dtype()), "mean: expected a float tensor, got ", x.dtype());
  const Shape dims = normalize_dims(dims_in, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape()[d];
  return sum(x, dims, keepdim) / static_cast<double>(count);
}
Tensor mean(const Tensor& x) { return mean(x, {}, false); }

namespace {
// amax/amin: gradient shared evenly by all elements equal to the extremum (torch).
Tensor extreme(ReduceOp op, const char* name, const Tensor& x, const Shape& dims_in, bool keepdim) {
  CFX_PROFILE_OP(name);
  const Shape dims = normalize_dims(dims_in, x.dim(), name);
  Tensor out = reduce_forward(op, x, dims, keepdim);
  autograd::record(name, out, {x}, [x = x.detach(), out = out.detach(), dims](const Tensor& g, const NeedsGrad&) {
    const Shape kshape = keepdim_shape(x.shape(), dims);
    Tensor hit = eq(x, out.reshape(kshape)).to(x.dtype());
    Tensor count = sum(hit, dims, true);
    return grads{hit * (g.reshape(kshape) / count)};
  });
  return out;
}
}  // namespace

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) { return extreme(ReduceOp::Max, "amax", x, dims, keepdim); }
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) { return extreme(ReduceOp::Min, "amin", x, dims, keepdim); }
Tensor max(const Tensor& x) { return amax(x, {}, false); }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  CFX_PROFILE_OP("argmax");
  dim = wrap_dim(dim, x.dim(), "argmax");
  CFX_CHECK(x.numel() > 0 && x.shape()[dim] > 0, "argmax: cannot reduce an empty dim (shape ", x.shape(), ")");
  Tensor out = detail::make_empty(keepdim_shape(x.shape(), {dim}), kInt64, x.device());
  argmax_kernel(x.device(), x, dim, out);
  return keepdim ? out : out.squeeze(dim);
}

MaxResult max(const Tensor& x, int64_t dim, bool keepdim) {
  dim = wrap_dim(dim, x.dim(), "max");
  Tensor idx = argmax(x, dim, true);
  Tensor values;
  {
    NoGradGuard no_grad;
    values = reduce_forward(ReduceOp::Max, x, {dim}, true);
  }
  values = values.detach();
  // torch.max(dim): the whole gradient goes to the index that was returned.
  autograd::record("max", values, {x}, [in = x.shape(), idx, dim](const Tensor& g, const NeedsGrad&) {
    Tensor hit = eq(arange(in[dim], {kInt64, g.device()})
                        .reshape([&] { Shape s(in.size(), 1); s[dim] = in[dim]; return s; }()),
                    idx);
    return grads{where(hit, g.expand(idx.shape()), scalar_tensor(0.0, {g.dtype(), g.device()}))};
  });
  if (!keepdim) return {values.squeeze(dim), idx.squeeze(dim)};
  return {values, idx};
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  CFX_CHECK(lead >= 0, "sum_to: cannot sum a gradient of shape ", g.shape(), " to the larger shape ", shape);
  Shape dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) dims.push_back(d);
  Tensor s = dims.empty() ? g : sum(g, dims, true);
  return s.reshape(shape);
}

Tensor Tensor::sum() const { return cfx::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return cfx::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return cfx::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return cfx::mean(*this, dims, keepdim); }
Tensor Tensor::argmax(int64_t dim, bool keepdim) const { return cfx::argmax(*this, dim, keepdim); }

}  // namespace cfx
