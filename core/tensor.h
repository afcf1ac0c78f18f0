// cfx::Tensor: a cheap shared handle to a TensorImpl = Storage + shape/strides/offset view
// + autograd metadata.
//
// Copying a Tensor copies the handle (like torch::Tensor), not the data. View methods
// (view/reshape/transpose/permute/narrow/expand/squeeze/unsqueeze) never copy; contiguous()
// copies only when the layout is not already row-major dense.
//
// Not here: math. Every operator and method that computes is defined in ops/ (with its
// gradient written beside it); this header only declares the methods users expect.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace cfx {

namespace autograd { class Node; }

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements, into storage
  DType dtype = DType::Float32;

  // Autograd metadata. A leaf that requires grad has grad_fn == nullptr; a non-leaf
  // result of a differentiable op has grad_fn set and requires_grad true.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated by backward() into leaves
  std::shared_ptr<autograd::Node> grad_fn;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata ----------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().sizes; }
  const Shape& sizes() const { return impl().sizes; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(impl().sizes.size()); }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return cfx::numel(impl().sizes); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  TensorImpl* unsafe_impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // Pointer to element [0, 0, ...] of this view; checks that T matches dtype().
  template <class T> T* data_ptr() const {
    CFX_CHECK(dtype_of<T>() == dtype(), "data_ptr: tensor has dtype ", dtype(),
              ", requested ", dtype_of<T>());
    return static_cast<T*>(impl().storage->data()) + impl().offset;
  }
  void* raw_data() const {
    return static_cast<char*>(impl().storage->data()) + impl().offset * itemsize(dtype());
  }
  // The value of a one-element tensor, converted to T.
  template <class T> T item() const;

  // ---- views (ops/view_ops.cpp; differentiable, never copy) ---------------------------
  Tensor view(const Shape& shape) const;      // needs compatible strides, -1 infers one size
  Tensor reshape(const Shape& shape) const;   // view when possible, else a copy
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;                           // transpose of a 2-d tensor
  Tensor permute(const Shape& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;    // -1 keeps a size; broadcast dims get stride 0
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  Tensor squeeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor contiguous() const;                  // self if already contiguous, else a copy

  // ---- copies and conversion (ops/copy.cpp) --------------------------------------------
  Tensor clone() const;
  Tensor to(DType dtype) const;     // differentiable between float types
  Tensor to(Device device) const;
  Tensor cpu() const { return to(Device::cpu()); }
  // In-place (no autograd history allowed on the destination): copies src, broadcasting.
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }

  // ---- autograd (autograd/engine.cpp) --------------------------------------------------
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool enabled = true);
  Tensor grad() const { return Tensor(impl().grad); }  // undefined until a backward
  void set_grad(const Tensor& g) { impl().grad = g.impl_; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // The recorded op's name ("mul", "flow_attention"...), "" for a leaf (what printing shows).
  std::string grad_fn_name() const;
  // Same data, no history: the result is a leaf that does not require grad.
  Tensor detach() const;
  // Reverse-mode pass from this tensor; a non-scalar needs an explicit `grad` of its shape.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  // ---- common math as methods (ops/) -----------------------------------------------------
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor pow(double exponent) const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;

  std::string str() const;  // PyTorch-like printing (core/print.cpp)

 private:
  TensorImpl& impl() const {
    CFX_CHECK(impl_, "tensor: use of an undefined Tensor (default-constructed or moved-from)");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Operators (ops/elementwise.cpp). Scalars broadcast and take the tensor's dtype.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

namespace detail {
// A new view sharing `base`'s storage, with no autograd history (views record their own).
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset);
// Uninitialised dense tensor.
Tensor make_empty(const Shape& shape, DType dtype, Device device);
}  // namespace detail

}  // namespace cfx
