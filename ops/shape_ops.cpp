// Ops that build tensors from pieces: cat, stack, split, chunk and index_select, each
// with its gradient written under the forward.
//
// cat and index_select copy (through copy_kernel and index_select_kernel); split and chunk
// return narrow() views, which are already differentiable, and stack is unsqueeze + cat.
#include "ops/shape_ops.h"

#include <algorithm>

#include "autograd/node.h"
#include "ops/creation.h"
#include "core/kernels.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  CFX_PROFILE_OP("cat");
  CFX_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  CFX_CHECK(first.dim() >= 1, "cat: zero-dimensional tensor (at position 0) cannot be concatenated");
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    CFX_CHECK(t.dtype() == first.dtype(), "cat: expected all tensors to have dtype ", first.dtype(), ", got ",
              t.dtype(), " at position ", i);
    CFX_CHECK(t.device() == first.device(), "cat: expected all tensors on ", first.device(), ", got ", t.device(),
              " at position ", i);
    bool match = t.dim() == first.dim();
    for (int64_t d = 0; match && d < t.dim(); ++d) match = d == dim || t.size(d) == first.size(d);
    CFX_CHECK(match, "cat: sizes must match except in dim ", dim, ", got ", first.shape(), " at position 0 and ",
              t.shape(), " at position ", i);
    out_shape[dim] += t.size(dim);
  }

  Tensor out = detail::make_empty(out_shape, first.dtype(), first.device());
  Shape sizes;  // each input's extent along dim, all the backward needs
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    Tensor dst = out.narrow(dim, start, t.size(dim));
    copy_kernel(out.device(), dst, t);
    sizes.push_back(t.size(dim));
    start += t.size(dim);
  }
  // Each input's gradient is its own slice of g: a view, nothing copied.
  autograd::record("cat", out, tensors, [dim, sizes](const Tensor& g, const NeedsGrad& needs) {
    grads gs(sizes.size());
    int64_t at = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (needs[i]) gs[i] = g.narrow(dim, at, sizes[i]);
      at += sizes[i];
    }
    return gs;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  CFX_PROFILE_OP("stack");
  CFX_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (size_t i = 1; i < tensors.size(); ++i)
    CFX_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: expected each tensor to be equal size, but got ",
              tensors[0].shape(), " at entry 0 and ", tensors[i].shape(), " at entry ", i);
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (const Tensor& t : tensors) parts.push_back(t.unsqueeze(dim));
  return cat(parts, dim);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  CFX_CHECK(x.dim() >= 1, "split: expected a tensor with at least 1 dim, got shape ", x.shape());
  dim = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.size(dim);
  CFX_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split: split_size must be positive, got ", split_size,
            " (dim ", dim, " has size ", n, ")");
  if (n == 0) return {x};
  std::vector<Tensor> pieces;
  for (int64_t start = 0; start < n; start += split_size)
    pieces.push_back(x.narrow(dim, start, std::min(split_size, n - start)));
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  CFX_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  CFX_CHECK(x.dim() >= 1, "chunk: expected a tensor with at least 1 dim, got shape ", x.shape());
  dim = wrap_dim(dim, x.dim(), "chunk");
  const int64_t n = x.size(dim);
  if (n == 0) return std::vector<Tensor>(chunks, x);  // torch: `chunks` empty pieces
  // torch.chunk: pieces of ceil(n / chunks), so there may be fewer than `chunks` of them.
  return split(x, (n + chunks - 1) / chunks, dim);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  CFX_PROFILE_OP("index_select");
  CFX_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32, "index_select: expected an int64 or int32 index, got ",
            index.dtype());
  CFX_CHECK(index.dim() <= 1, "index_select: expected a 1-d index, got shape ", index.shape());
  CFX_CHECK(index.device() == x.device(), "index_select: expected the index on the input's device ", x.device(),
            ", got ", index.device());
  CFX_CHECK(x.dim() >= 1, "index_select: expected an input with at least 1 dim, got shape ", x.shape());
  dim = wrap_dim(dim, x.dim(), "index_select");
  // The kernels take a dense 1-d int64 index (core/kernels.h): widen an int32 one here.
  const Tensor idx = index.to(kInt64).reshape({index.numel()}).contiguous();
  // Kernels trust the values (they address memory with them): check every one first.
  const int64_t size = x.size(dim);
  const Tensor idx_host = idx.cpu();  // the same tensor on CPU; a copy from a GPU
  const int64_t* values = idx_host.data_ptr<int64_t>();
  for (int64_t i = 0; i < idx_host.numel(); ++i)
    CFX_CHECK(values[i] >= 0 && values[i] < size, "index_select: index ", values[i], " is out of range for dim ", dim,
              " of size ", size, " (input shape ", x.shape(), ")");

  Shape out_shape = x.shape();
  out_shape[dim] = idx.numel();
  Tensor out = detail::make_empty(out_shape, x.dtype(), x.device());
  index_select_kernel(x.device(), x, dim, idx, out);
  // gx = zeros, then gx[index[i]] += g[i] along dim (rows picked twice get both gradients).
  autograd::record("index_select", out, {x},
                   [in = x.shape(), dim, idx](const Tensor& g, const NeedsGrad&) {
                     Tensor gx = zeros(in, {g.dtype(), g.device()});
                     index_add_kernel(g.device(), gx, dim, idx, g);
                     return grads{gx};
                   });
  return out;
}

}  // namespace cfx
