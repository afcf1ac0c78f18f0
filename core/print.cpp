// PyTorch-like printing: tensor([[ 1.0000, -2.0000], ...], dtype=float64, requires_grad=True).
// Large tensors show the first and last 3 entries of each dim, like torch's summarisation.
#include <fmt/format.h>

#include <cmath>

#include "core/tensor.h"

namespace cfx {
namespace {

constexpr int64_t kEdgeItems = 3, kSummariseAbove = 1000;

std::string format_value(const Tensor& t, int64_t offset) {
  return visit_dtype(t.dtype(), [&]<class T>() -> std::string {
    const T v = static_cast<const T*>(t.storage()->data())[offset];
    if constexpr (std::is_same_v<T, bool>) return v ? "True" : "False";
    else if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      const double a = std::abs(static_cast<double>(v));
      if (a != 0 && (a >= 1e8 || a < 1e-4)) return fmt::format("{:.4e}", static_cast<double>(v));
      return fmt::format("{:.4f}", static_cast<double>(v));
    } else {
      return fmt::format("{}", static_cast<int64_t>(v));
    }
  });
}

void format_rec(const Tensor& t, int64_t d, int64_t offset, bool summarise, size_t width, int indent,
                std::string& out) {
  if (d == t.dim()) {
    std::string v = format_value(t, offset);
    out += std::string(width > v.size() ? width - v.size() : 0, ' ') + v;
    return;
  }
  out += "[";
  const int64_t n = t.shape()[d];
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      out += d + 1 == t.dim() ? "..., " : "...,\n" + std::string(indent + 1, ' ');
      i = n - kEdgeItems - 1;
      continue;
    }
    format_rec(t, d + 1, offset + i * t.strides()[d], summarise, width, indent + 1, out);
    if (i + 1 < n) out += d + 1 == t.dim() ? ", " : ",\n" + std::string(indent + 1, ' ') +
                                                        (d + 2 < t.dim() ? "\n" + std::string(indent + 1, ' ') : "");
  }
  out += "]";
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  if (!device().is_cpu()) return to(Device::cpu()).str() + " on " + device().str();
  const bool summarise = numel() > kSummariseAbove;
  // Column width: the widest printed value, so columns line up as in torch.
  size_t width = 0;
  if (!summarise) {
    std::vector<int64_t> idx(dim(), 0);
    for (int64_t k = 0; k < numel(); ++k) {
      int64_t off = offset();
      for (int64_t d = 0; d < dim(); ++d) off += idx[d] * strides()[d];
      width = std::max(width, format_value(*this, off).size());
      for (int64_t d = dim() - 1; d >= 0 && ++idx[d] == shape()[d]; --d) idx[d] = 0;
    }
  }
  std::string body;
  if (numel() == 0) body = "[]";
  else format_rec(*this, 0, offset(), summarise, width, 7, body);
  std::string s = "tensor(" + body;
  if (numel() == 0 || summarise) s += ", size=" + shape_str(shape());
  if (dtype() != kFloat32 && dtype() != kInt64 && dtype() != kBool) s += ", dtype=" + std::string(dtype_name(dtype()));
  if (grad_fn()) s += ", grad_fn=<" + grad_fn_name() + ">";
  else if (requires_grad()) s += ", requires_grad=True";
  return s + ")";
}

}  // namespace cfx
