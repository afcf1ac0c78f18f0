// Neural-network ops (ops/nn_ops.h): layer_norm, embedding, dropout, cross_entropy,
// soft_target_cross_entropy and mse_loss. The first four check their input, run their kernel
// through the table and record ONE node whose backward is written right below the forward;
// the last two are composites. Kernels: ops/cpu/nn_cpu.cpp (layer norm, cross entropy) and the
// index_select/index_add kernels (embedding).
//
// Letters: N rows, C features or classes, V vocabulary size, D embedding width, M number
// of looked-up indices.
#include "ops/nn_ops.h"

#include <algorithm>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "core/kernels.h"
#include "ops/reduce.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

void check_reduction(const char* op, const std::string& reduction) {
  CFX_CHECK(reduction == "mean" || reduction == "sum" || reduction == "none", op,
            ": reduction must be \"mean\", \"sum\" or \"none\", got \"", reduction, "\"");
}

// Checks that an optional affine parameter of layer_norm matches normalized_shape and x.
void check_affine(const char* what, const Tensor& p, const Shape& normalized_shape, const Tensor& x) {
  if (!p.defined()) return;
  CFX_CHECK(p.shape() == normalized_shape, "layer_norm: expected ", what, " of shape ", normalized_shape,
            " (= normalized_shape), got ", p.shape());
  CFX_CHECK(p.dtype() == x.dtype(), "layer_norm: expected ", what, " of the input's dtype ", x.dtype(), ", got ",
            p.dtype());
  CFX_CHECK(p.device() == x.device(), "layer_norm: ", what, " is on ", p.device(), ", the input on ", x.device());
}

}  // namespace

// ---- layer_norm -------------------------------------------------------------------------------

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  CFX_PROFILE_OP("layer_norm");
  CFX_CHECK(is_floating(x.dtype()), "layer_norm: expected a float32 or float64 input, got ", x.dtype());
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  CFX_CHECK(k >= 1, "layer_norm: normalized_shape must name at least one trailing dim, got []");
  CFX_CHECK(x.dim() >= k && std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k),
            "layer_norm: given normalized_shape=", normalized_shape, ", expected input with shape [*, ",
            shape_str(normalized_shape).substr(1), ", got input of shape ", x.shape());
  check_affine("weight", weight, normalized_shape, x);
  check_affine("bias", bias, normalized_shape, x);
  CFX_CHECK(eps >= 0, "layer_norm: eps must be >= 0, got ", eps);

  const int64_t C = numel(normalized_shape);
  const int64_t N = numel(Shape(x.shape().begin(), x.shape().end() - k));
  // The kernel takes dense [N, C] rows and [C] parameters; this copies only strided inputs.
  const Tensor x2 = x.detach().contiguous().reshape({N, C});
  const Tensor w = weight.defined() ? weight.detach().contiguous().reshape({C}) : Tensor();
  const Tensor b = bias.defined() ? bias.detach().contiguous().reshape({C}) : Tensor();
  Tensor out = detail::make_empty(x.shape(), x.dtype(), x.device());
  Tensor out2 = out.view({N, C});
  // mean, rstd: [N], saved so backward need not recompute the row statistics.
  Tensor mean = detail::make_empty({N}, x.dtype(), x.device());
  Tensor rstd = detail::make_empty({N}, x.dtype(), x.device());
  layer_norm_kernel(x.device(), x2, w, b, eps, out2, mean, rstd);

  // dx needs x and w; dw needs x; db needs only g. Keep x/w alive only when needed.
  const bool need_x = x.requires_grad() || (weight.defined() && weight.requires_grad());
  const bool need_w = x.requires_grad();
  autograd::record("layer_norm", out, {x, weight, bias},
                   [x2 = need_x ? x2 : Tensor(), w = need_w ? w : Tensor(), mean, rstd, N, C, xs = x.shape(),
                    ps = normalized_shape](const Tensor& g, const NeedsGrad& needs) {
                     const Tensor g2 = g.contiguous().reshape({N, C});  // [N, C]
                     if (!needs[0] && !needs[1])  // bias only: db = sum over rows of g
                       return grads{Tensor(), Tensor(), sum(g2, {0}).reshape(ps)};
                     const Device dev = g.device();
                     Tensor gx = needs[0] ? detail::make_empty({N, C}, g.dtype(), dev) : Tensor();
                     Tensor gw = needs[1] ? detail::make_empty({C}, g.dtype(), dev) : Tensor();
                     Tensor gb = needs[2] ? detail::make_empty({C}, g.dtype(), dev) : Tensor();
                     layer_norm_backward_kernel(dev, g2, x2, w, mean, rstd, gx, gw, gb);
                     return grads{gx.defined() ? gx.view(xs) : Tensor(), gw.defined() ? gw.view(ps) : Tensor(),
                                  gb.defined() ? gb.view(ps) : Tensor()};
                   });
  return out;
}

// ---- embedding --------------------------------------------------------------------------------

Tensor embedding(const Tensor& index, const Tensor& weight, std::optional<int64_t> padding_idx) {
  CFX_PROFILE_OP("embedding");
  CFX_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32, "embedding: expected int64 or int32 indices, got ",
            index.dtype());
  CFX_CHECK(weight.dim() == 2, "embedding: expected a 2-d weight [num_embeddings, embedding_dim], got shape ",
            weight.shape());
  CFX_CHECK(is_floating(weight.dtype()), "embedding: expected a float weight, got ", weight.dtype());
  CFX_CHECK(index.device() == weight.device(), "embedding: indices are on ", index.device(), ", the weight on ",
            weight.device());
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  if (padding_idx) {
    CFX_CHECK(*padding_idx >= -V && *padding_idx < V, "embedding: padding_idx ", *padding_idx,
              " is out of range for num_embeddings ", V, " (expected -", V, " <= padding_idx < ", V, ")");
    if (*padding_idx < 0) padding_idx = *padding_idx + V;  // torch wraps negative padding_idx
  }
  // flat: [M] int64, the kernel's 1-d index.
  const Tensor flat = index.reshape({-1}).to(kInt64).contiguous();
  const int64_t M = flat.numel();
  const std::vector<int64_t> host = to_vector<int64_t>(flat);
  for (int64_t v : host)
    CFX_CHECK(v >= 0 && v < V, "embedding: index ", v, " is out of range for num_embeddings ", V,
              " (expected 0 <= index < ", V, ")");

  Shape out_shape = index.shape();
  out_shape.push_back(D);
  Tensor out = detail::make_empty(out_shape, weight.dtype(), weight.device());
  Tensor out2 = out.view({M, D});
  if (M > 0) index_select_kernel(weight.device(), weight, 0, flat, out2);

  if (!autograd::needs_grad({&weight})) return out;
  // Rows looked up at padding_idx get no gradient: backward scatters only the other
  // positions (keep_pos) into their rows (keep_idx). Built here, where `host` is at hand.
  Tensor keep_pos, keep_idx = flat;
  if (padding_idx && std::count(host.begin(), host.end(), *padding_idx) > 0) {
    std::vector<int64_t> pos, idx;
    for (int64_t m = 0; m < M; ++m)
      if (host[m] != *padding_idx) { pos.push_back(m); idx.push_back(host[m]); }
    const int64_t K = static_cast<int64_t>(pos.size());
    keep_pos = tensor(pos, {K}).to(weight.device());
    keep_idx = tensor(idx, {K}).to(weight.device());
  }
  autograd::record("embedding", out, {weight}, [keep_pos, keep_idx, M, V, D](const Tensor& g, const NeedsGrad&) {
    Tensor gw = zeros({V, D}, {g.dtype(), g.device()});  // [V, D]
    Tensor rows = g.reshape({M, D});                      // [M, D]
    if (keep_pos.defined()) {
      Tensor kept = detail::make_empty({keep_pos.numel(), D}, g.dtype(), g.device());
      if (keep_pos.numel() > 0) index_select_kernel(g.device(), rows, 0, keep_pos, kept);
      rows = kept;
    }
    if (rows.numel() > 0) index_add_kernel(g.device(), gw, 0, keep_idx, rows);  // repeated indices add up
    return grads{gw};
  });
  return out;
}

// ---- dropout ----------------------------------------------------------------------------------

Tensor dropout(const Tensor& x, double p, bool train, Generator* gen) {
  CFX_PROFILE_OP("dropout");
  CFX_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got ", p);
  CFX_CHECK(is_floating(x.dtype()), "dropout: expected a float tensor, got ", x.dtype());
  if (!train || p == 0.0) return x;
  // mask: x's shape, values 0 (dropped) or 1/(1-p) (kept), so E[out] = x ("inverted"
  // dropout: evaluation needs no rescaling). Saved for backward instead of x.
  Tensor mask, out;
  {
    NoGradGuard no_grad;
    if (p == 1.0) {
      mask = zeros_like(x);  // 1/(1-p) is infinite; everything is dropped
    } else {
      const Tensor u = rand(x.shape(), {x.dtype(), x.device()}, gen);
      mask = lt(u, scalar_tensor(1.0 - p, {x.dtype(), x.device()})).to(x.dtype()) * (1.0 / (1.0 - p));
    }
    out = x * mask;
  }
  autograd::record("dropout", out, {x}, [mask](const Tensor& g, const NeedsGrad&) { return grads{g * mask}; });
  return out;
}

// ---- cross_entropy ----------------------------------------------------------------------------

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                     const std::string& reduction) {
  CFX_PROFILE_OP("cross_entropy");
  check_reduction("cross_entropy", reduction);
  CFX_CHECK(is_floating(logits.dtype()), "cross_entropy: expected float logits, got ", logits.dtype());
  CFX_CHECK(target.dtype() == kInt64, "cross_entropy: expected int64 class-index targets, got ", target.dtype());
  CFX_CHECK(logits.device() == target.device(), "cross_entropy: logits are on ", logits.device(),
            ", the target on ", target.device());
  CFX_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
            "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  CFX_CHECK(logits.dim() >= 1, "cross_entropy: expected logits [C], [N, C] or [N, C, d1, ...], got a 0-d tensor");
  // Logits [C] are one sample with a 0-d target; otherwise the class dim is dim 1.
  const int64_t nd = logits.dim();
  const int64_t C = nd == 1 ? logits.shape()[0] : logits.shape()[1];
  Shape expected_target = logits.shape();
  expected_target.erase(expected_target.begin() + (nd == 1 ? 0 : 1));
  CFX_CHECK(target.shape() == expected_target, "cross_entropy: expected target of shape ", expected_target,
            " for logits of shape ", logits.shape(), ", got ", target.shape());
  CFX_CHECK(C > 0, "cross_entropy: expected at least one class, got logits of shape ", logits.shape());

  // x2: [M, C] dense rows. For [N, C, d1..] move C last (perm) first, as torch does
  // for its spatial losses, so every (n, d1..) position becomes one row.
  Shape perm;
  if (nd > 2) {
    perm.push_back(0);
    for (int64_t d = 2; d < nd; ++d) perm.push_back(d);
    perm.push_back(1);
  }
  const Tensor x_rows = nd > 2 ? logits.detach().permute(perm) : logits.detach();
  const Tensor x2 = x_rows.reshape({-1, C}).contiguous();
  const int64_t M = x2.shape()[0];
  const Tensor t2 = target.reshape({M}).contiguous();  // [M]
  int64_t count = 0;  // rows that are not ignored: the divisor of "mean"
  for (int64_t v : to_vector<int64_t>(t2)) {
    if (v == ignore_index) continue;
    CFX_CHECK(v >= 0 && v < C, "cross_entropy: target ", v, " is out of range for ", C,
              " classes (expected 0 <= target < ", C, ", or ignore_index = ", ignore_index, ")");
    ++count;
  }

  Tensor loss_rows = detail::make_empty({M}, logits.dtype(), logits.device());  // [M]
  Tensor lse = detail::make_empty({M}, logits.dtype(), logits.device());        // [M], saved for backward
  if (M > 0) cross_entropy_kernel(logits.device(), x2, t2, ignore_index, label_smoothing, loss_rows, lse);
  Tensor out;
  {
    NoGradGuard no_grad;
    if (reduction == "none") out = loss_rows.view(target.shape());
    // All rows ignored: 0 / 0 = NaN, as torch.
    else if (reduction == "sum") out = sum(loss_rows);
    else out = sum(loss_rows) / static_cast<double>(count);
  }
  autograd::record("cross_entropy", out, {logits},
                   [x2, t2, lse, M, C, count, reduction, ignore_index, label_smoothing, perm,
                    rows_shape = x_rows.shape(), in_shape = logits.shape()](const Tensor& g, const NeedsGrad&) {
                     // row_scale: [M], d(output)/d(loss_i) times the upstream gradient.
                     Tensor row_scale;
                     if (reduction == "none") row_scale = g.reshape({M});
                     else if (reduction == "sum") row_scale = g.reshape({1}).expand({M});
                     else row_scale = (g / static_cast<double>(count)).reshape({1}).expand({M});
                     Tensor gx2 = detail::make_empty({M, C}, g.dtype(), g.device());
                     if (M > 0)
                       cross_entropy_backward_kernel(g.device(), x2, t2, lse, row_scale, ignore_index,
                                                     label_smoothing, gx2);
                     if (perm.empty()) return grads{gx2.view(in_shape)};
                     Shape inverse(perm.size());
                     for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
                     return grads{gx2.view(rows_shape).permute(inverse).contiguous()};
                   });
  return out;
}

// ---- soft_target_cross_entropy ------------------------------------------------------------------

Tensor soft_target_cross_entropy(const Tensor& logits, const Tensor& target, const std::string& reduction) {
  CFX_PROFILE_OP("soft_target_cross_entropy");
  check_reduction("soft_target_cross_entropy", reduction);
  CFX_CHECK(logits.dim() == 2 && logits.shape() == target.shape(), "soft_target_cross_entropy: expected logits and "
            "target of one shape [N, C], got ", logits.shape(), " and ", target.shape());
  CFX_CHECK(is_floating(logits.dtype()) && target.dtype() == logits.dtype(), "soft_target_cross_entropy: expected "
            "float logits and a target of their dtype, got ", logits.dtype(), " and ", target.dtype());
  CFX_CHECK(logits.device() == target.device(), "soft_target_cross_entropy: logits are on ", logits.device(),
            ", the target on ", target.device());
  const Tensor rows = -sum(target * log_softmax(logits, 1), {1});  // [N]
  if (reduction == "none") return rows;
  return reduction == "sum" ? sum(rows) : mean(rows);
}

// ---- mse_loss ---------------------------------------------------------------------------------

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  CFX_PROFILE_OP("mse_loss");
  check_reduction("mse_loss", reduction);
  // torch broadcasts here with a warning that it is probably a bug; we refuse instead.
  CFX_CHECK(input.shape() == target.shape(), "mse_loss: expected target of the input's shape ", input.shape(),
            ", got ", target.shape());
  const Tensor diff = input - target;
  const Tensor sq = diff * diff;
  if (reduction == "none") return sq;
  return reduction == "sum" ? sum(sq) : mean(sq);
}

}  // namespace cfx
