// View methods of Tensor: new shape/strides/offset over the same storage, never a copy.
// Each records a node whose backward maps the gradient back to the base's shape.
#include <algorithm>
#include <numeric>
#include <optional>

#include "autograd/node.h"
#include "ops/creation.h"
#include "ops/reduce.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

// Resolves one -1 in `shape` so that numel matches.
Shape infer_size(const Shape& shape, int64_t total, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      CFX_CHECK(infer_at < 0, op, ": only one dimension can be -1, got ", shape);
      infer_at = static_cast<int64_t>(i);
    } else {
      CFX_CHECK(out[i] >= 0, op, ": invalid size ", out[i], " in ", shape);
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    CFX_CHECK(known != 0 && total % known == 0, op, ": shape ", shape, " is invalid for input of size ", total);
    out[infer_at] = total / known;
  }
  CFX_CHECK(numel(out) == total, op, ": shape ", shape, " is invalid for input of size ", total);
  return out;
}

// Strides that give `new_shape` over the same memory, if any (PyTorch's computeStride):
// each group of old dims that is contiguous in memory can be split or merged freely.
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& new_shape) {
  // Empty and 0-d tensors have no layout to respect.
  if (numel(old_shape) == 0 || old_shape.empty()) return contiguous_strides(new_shape);
  Shape strides(new_shape.size());
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

// A view that records a backward mapping its gradient to the base's shape.
Tensor make_recorded_view(const char* name, const Tensor& base, Shape sizes, Shape strides, int64_t offset,
                          autograd::BackwardFn backward) {
  Tensor out = detail::make_view(base, std::move(sizes), std::move(strides), offset);
  autograd::record(name, out, {base}, std::move(backward));
  return out;
}

}  // namespace

Tensor Tensor::view(const Shape& shape_in) const {
  Shape shape = infer_size(shape_in, numel(), "view");
  auto strides_opt = view_strides(this->shape(), strides(), shape);
  CFX_CHECK(strides_opt, "view: size ", shape_in, " is not compatible with the input's shape ", this->shape(),
            " and strides ", strides(), " (at least one dim spans two contiguous subspaces); use reshape()");
  return make_recorded_view("view", *this, shape, *strides_opt, offset(),
                            [in = this->shape()](const Tensor& g, const NeedsGrad&) { return grads{g.reshape(in)}; });
}

Tensor Tensor::reshape(const Shape& shape_in) const {
  Shape shape = infer_size(shape_in, numel(), "reshape");
  if (view_strides(this->shape(), strides(), shape)) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim(start_dim, dim(), "flatten");
  end_dim = wrap_dim(end_dim, dim(), "flatten");
  CFX_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " must not come after end_dim ", end_dim);
  Shape s(shape().begin(), shape().begin() + start_dim);
  int64_t merged = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) merged *= shape()[d];
  s.push_back(merged);
  s.insert(s.end(), shape().begin() + end_dim + 1, shape().end());
  return reshape(s);
}

Tensor Tensor::permute(const Shape& dims) const {
  CFX_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute: expected ", dim(), " dims, got ", dims);
  Shape perm(dims.size()), sizes(dims.size()), new_strides(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    perm[i] = wrap_dim(dims[i], dim(), "permute");
    CFX_CHECK(!seen[perm[i]], "permute: dim ", perm[i], " repeats in ", dims);
    seen[perm[i]] = true;
    sizes[i] = shape()[perm[i]];
    new_strides[i] = strides()[perm[i]];
    inverse[perm[i]] = static_cast<int64_t>(i);
  }
  return make_recorded_view("permute", *this, sizes, new_strides, offset(),
                            [inverse](const Tensor& g, const NeedsGrad&) { return grads{g.permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  if (dim() == 0) return *this;
  Shape perm(dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[wrap_dim(d0, dim(), "transpose")], perm[wrap_dim(d1, dim(), "transpose")]);
  return permute(perm);
}

Tensor Tensor::t() const {
  CFX_CHECK(dim() <= 2, "t: expects a tensor with <= 2 dims, got shape ", shape(), "; use transpose()");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = wrap_dim(d, dim(), "slice");
  CFX_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t n = shape()[d];
  auto clip = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clip(start);
  end = std::max(clip(end), start);
  Shape sizes = shape(), new_strides = strides();
  sizes[d] = (end - start + step - 1) / step;
  new_strides[d] *= step;
  return make_recorded_view(
      "slice", *this, sizes, new_strides, offset() + start * strides()[d],
      [in = shape(), dtype = dtype(), dev = device(), d, start, end, step](const Tensor& g, const NeedsGrad&) {
        Tensor gx = zeros(in, {dtype, dev});
        gx.slice(d, start, end, step).copy_(g);
        return grads{gx};
      });
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim(), "narrow");
  CFX_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow: [", start, ", ", start + length,
            ") is out of range for dim ", d, " of size ", shape()[d]);
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim(), "select");
  const int64_t n = shape()[d];
  CFX_CHECK(index >= -n && index < n, "select: index ", index, " out of range for dim ", d, " of size ", n);
  if (index < 0) index += n;
  return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& shape_in) const {
  CFX_CHECK(static_cast<int64_t>(shape_in.size()) >= dim(), "expand: the target ", shape_in,
            " has fewer dims than the input ", shape());
  const int64_t lead = static_cast<int64_t>(shape_in.size()) - dim();
  Shape sizes(shape_in.size()), new_strides(shape_in.size(), 0);
  for (int64_t i = 0; i < static_cast<int64_t>(shape_in.size()); ++i) {
    const int64_t src = i - lead;
    if (src < 0) {
      CFX_CHECK(shape_in[i] >= 0, "expand: -1 is not allowed for a new leading dim, got ", shape_in);
      sizes[i] = shape_in[i];
      continue;
    }
    const int64_t have = shape()[src];
    const int64_t want = shape_in[i] == -1 ? have : shape_in[i];
    CFX_CHECK(have == want || have == 1, "expand: the input's size ", have, " at dim ", src,
              " must match the target ", want, " or be 1 (input ", shape(), ", target ", shape_in, ")");
    sizes[i] = want;
    new_strides[i] = have == want ? strides()[src] : 0;
  }
  return make_recorded_view("expand", *this, sizes, new_strides, offset(),
                            [in = shape()](const Tensor& g, const NeedsGrad&) { return grads{sum_to(g, in)}; });
}

Tensor Tensor::squeeze(int64_t d) const {
  if (dim() == 0) return *this;
  d = wrap_dim(d, dim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape sizes = shape(), new_strides = strides();
  sizes.erase(sizes.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  return make_recorded_view("squeeze", *this, sizes, new_strides, offset(),
                            [in = shape()](const Tensor& g, const NeedsGrad&) { return grads{g.reshape(in)}; });
}

Tensor Tensor::squeeze() const {
  Shape sizes;
  for (int64_t s : shape())
    if (s != 1) sizes.push_back(s);
  return reshape(sizes);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape sizes = shape(), new_strides = strides();
  const int64_t stride = d < dim() ? strides()[d] * shape()[d] : 1;
  sizes.insert(sizes.begin() + d, 1);
  new_strides.insert(new_strides.begin() + d, stride);
  return make_recorded_view("unsqueeze", *this, sizes, new_strides, offset(),
                            [in = shape()](const Tensor& g, const NeedsGrad&) { return grads{g.reshape(in)}; });
}

}  // namespace cfx
