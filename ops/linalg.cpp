// Matrix products: matmul (torch.matmul semantics), bmm and linear. Each op checks its
// inputs, runs bmm_kernel (core/kernels.h; OpenBLAS on CPU) on 3-d *views* of its inputs,
// and records its backward, two more matrix products, right under the forward.
//
// Letters: a [..., M, K] @ b [..., K, N] -> out [..., M, N]; "batch" is every dim before the
// last two, broadcast like pointwise ops. A 1-d a is a row [1, K] and a 1-d b a column
// [K, 1], the added dim being dropped from the result (torch.matmul).
//
// No input is copied on the way to BLAS: transposed views go as CblasTrans, broadcast batch
// dims as batch stride 0, and batch dims that do not fold into one stride (a permuted
// [B, L, H, D] -> [B, H, L, D], or [B, 1] against [1, H]) are looped over here.
#include "ops/linalg.h"

#include <optional>

#include "autograd/node.h"
#include "ops/elementwise.h"
#include "core/kernels.h"
#include "ops/reduce.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

Shape batch_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

void check_same_kind(const char* op, const Tensor& a, const Tensor& b) {
  CFX_CHECK(a.dtype() == b.dtype(), op, ": expected both tensors to have the same dtype, got ", a.dtype(), " and ",
            b.dtype(), " (convert one with .to(dtype))");
  CFX_CHECK(a.device() == b.device(), op, ": expected both tensors on the same device, got ", a.device(), " and ",
            b.device());
  CFX_CHECK(is_floating(a.dtype()), op, ": expected float32 or float64 tensors, got ", a.dtype());
}

// If dims [0, ndims) of t step evenly into each other, they fold into one dim: returns its
// stride (0 when all are broadcast or size 1). Size-1 dims never matter.
std::optional<int64_t> folded_stride(const Tensor& t, int64_t ndims) {
  std::optional<int64_t> stride;
  int64_t span = 0;  // elements one step of the folded dim must cover
  for (int64_t d = ndims - 1; d >= 0; --d) {
    if (t.size(d) == 1) continue;
    if (!stride) stride = t.stride(d);
    else if (t.stride(d) != span) return std::nullopt;
    span = t.stride(d) * t.size(d);
  }
  return stride.value_or(0);
}

// The 3-d view [batch, rows, cols] of t's last two dims with one batch stride.
Tensor view3(const Tensor& t, int64_t batch, int64_t batch_stride) {
  return detail::make_view(t, {batch, t.size(-2), t.size(-1)}, {batch_stride, t.stride(-2), t.stride(-1)},
                           t.offset());
}

// out [*batch, M, N] (dense) = a [*batch, M, K] @ b [*batch, K, N], a and b any views of
// that exact shape (expanded ones included). One kernel call when the batch dims of a
// and b each fold into one stride; otherwise one per index of the leading dim.
void bmm_into(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t nbatch = out.dim() - 2;
  const auto sa = folded_stride(a, nbatch), sb = folded_stride(b, nbatch);
  if (sa && sb) {
    const int64_t batch = numel(batch_of(out));
    Tensor out3 = view3(out, batch, out.size(-2) * out.size(-1));
    bmm_kernel(out.device(), view3(a, batch, *sa), view3(b, batch, *sb), out3);
    return;
  }
  for (int64_t i = 0; i < out.size(0); ++i) {
    Tensor out_i = out.select(0, i);
    bmm_into(a.select(0, i), b.select(0, i), out_i);
  }
}

// Checks a and b for `op` and returns the broadcast batch shape.
Shape check_matmul(const char* op, const Tensor& a, const Tensor& b) {
  CFX_CHECK(a.dim() >= 1 && b.dim() >= 1, op, ": both arguments need at least 1 dim, got ", a.shape(), " and ",
            b.shape());
  check_same_kind(op, a, b);
  const int64_t kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  CFX_CHECK(a.size(-1) == kb, op, ": expected a.shape[-1] == b.shape[", b.dim() == 1 ? "0" : "-2", "], got ",
            a.shape(), " and ", b.shape());
  const Shape ba = a.dim() > 2 ? batch_of(a) : Shape{}, bb = b.dim() > 2 ? batch_of(b) : Shape{};
  const size_t n = std::max(ba.size(), bb.size());
  Shape batch(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = i + ba.size() < n ? 1 : ba[i + ba.size() - n];
    const int64_t y = i + bb.size() < n ? 1 : bb[i + bb.size() - n];
    CFX_CHECK(x == y || x == 1 || y == 1, op, ": the batch dims of ", a.shape(), " and ", b.shape(),
              " cannot be broadcast (", ba, " vs ", bb, ")");
    batch[i] = x == 1 ? y : x;
  }
  return batch;
}

// The forward of matmul on inputs without history (callers pass detached tensors, so the
// views below record nothing). Returns a dense result of torch.matmul's shape.
Tensor matmul_forward(const Tensor& a_in, const Tensor& b_in, const Shape& batch) {
  const Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in;  // [..., M, K]
  const Tensor b = b_in.dim() == 1 ? b_in.unsqueeze(1) : b_in;  // [..., K, N]
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {m, n});
  Tensor out = detail::make_empty(out_shape, a.dtype(), a.device());

  // [..., M, K] @ [K, N]: when a's leading dims fold into its rows, this is one GEMM of
  // [R, K] @ [K, N] (R = product of all dims of a but the last): one big GEMM suits BLAS
  // far better than R/M small ones.
  const std::optional<int64_t> row_stride = b.dim() == 2 && a.dim() > 2 ? folded_stride(a, a.dim() - 1) : std::nullopt;
  if (row_stride) {
    const int64_t rows = numel(Shape(a.shape().begin(), a.shape().end() - 1));
    Tensor a3 = detail::make_view(a, {1, rows, k}, {0, *row_stride, a.stride(-1)}, a.offset());
    Tensor out3 = detail::make_view(out, {1, rows, n}, {0, n, 1}, 0);
    bmm_kernel(a.device(), a3, view3(b, 1, 0), out3);
  } else {
    Shape sa = batch, sb = batch;
    sa.insert(sa.end(), {m, k});
    sb.insert(sb.end(), {k, n});
    bmm_into(a.expand(sa), b.expand(sb), out);
  }

  Shape final_shape = batch;
  if (a_in.dim() > 1) final_shape.push_back(m);
  if (b_in.dim() > 1) final_shape.push_back(n);
  return out.view(final_shape);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP("matmul");
  const Shape batch = check_matmul("matmul", a, b);
  Tensor out = matmul_forward(a.detach(), b.detach(), batch);
  // ga = g @ bᵀ needs only b and gb = aᵀ @ g only a: keep each input just when the *other*
  // one needs its gradient.
  autograd::record("matmul", out, {a, b},
                   [sa = a.shape(), sb = b.shape(), a = b.requires_grad() ? a.detach() : Tensor(),
                    b = a.requires_grad() ? b.detach() : Tensor()](const Tensor& g, const NeedsGrad& needs) {
                     // Work in the promoted shapes: a_ [..., M, K], b_ [..., K, N], g_ [..., M, N].
                     const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
                     Tensor g_ = b_vec ? g.unsqueeze(-1) : g;
                     if (a_vec) g_ = g_.unsqueeze(-2);
                     Tensor ga, gb;
                     if (needs[0]) {
                       const Tensor b_ = b_vec ? b.unsqueeze(1) : b;
                       const Shape pa = a_vec ? Shape{1, sa[0]} : sa;
                       ga = sum_to(matmul(g_, b_.transpose(-1, -2)), pa).reshape(sa);
                     }
                     if (needs[1]) {
                       const Tensor a_ = a_vec ? a.unsqueeze(0) : a;
                       const Shape pb = b_vec ? Shape{sb[0], 1} : sb;
                       const int64_t k = a_.size(-1);
                       if (pb.size() == 2 && a_.dim() > 2 && folded_stride(a_, a_.dim() - 1)) {
                         // b was shared by every row of a: one GEMM [K, R] @ [R, N] does the sum.
                         gb = matmul(a_.reshape({-1, k}).t(), g_.reshape({-1, pb[1]}));
                       } else {
                         gb = sum_to(matmul(a_.transpose(-1, -2), g_), pb);
                       }
                       gb = gb.reshape(sb);
                     }
                     return grads{ga, gb};
                   });
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP("bmm");
  CFX_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected 3-d tensors [B, M, K] and [B, K, N], got ", a.shape(),
            " and ", b.shape());
  CFX_CHECK(a.size(0) == b.size(0), "bmm: expected equal batch sizes, got ", a.shape(), " and ", b.shape());
  const Shape batch = check_matmul("bmm", a, b);
  Tensor out = matmul_forward(a.detach(), b.detach(), batch);
  autograd::record("bmm", out, {a, b},
                   [a = b.requires_grad() ? a.detach() : Tensor(),
                    b = a.requires_grad() ? b.detach() : Tensor()](const Tensor& g, const NeedsGrad& needs) {
                     return grads{needs[0] ? bmm(g, b.transpose(1, 2)) : Tensor(),
                                  needs[1] ? bmm(a.transpose(1, 2), g) : Tensor()};
                   });
  return out;
}

// y = x Wᵀ + bias. W.t() is a column-major view, so BLAS reads W in place as CblasTrans;
// the gradients come from matmul's and add's backward (three small nodes, no copies).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CFX_PROFILE_OP("linear");
  CFX_CHECK(weight.dim() == 2, "linear: expected weight of shape [out_features, in_features], got ",
            weight.shape());
  CFX_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: expected x.shape[-1] == weight.shape[1], got ",
            x.shape(), " and ", weight.shape());
  check_same_kind("linear", x, weight);
  if (bias.defined()) {
    CFX_CHECK(bias.shape() == Shape{weight.size(0)}, "linear: expected bias of shape ", Shape{weight.size(0)},
              " (weight is ", weight.shape(), "), got ", bias.shape());
    check_same_kind("linear", x, bias);
  }
  Tensor y = matmul(x, weight.t());
  return bias.defined() ? add(y, bias) : y;
}

Tensor Tensor::matmul(const Tensor& other) const { return cfx::matmul(*this, other); }

}  // namespace cfx
