// linear_cross_entropy (see linear_cross_entropy.h): the forward and, right under it, the
// backward, both one vocabulary chunk at a time.
#include "ops/linear_cross_entropy.h"

#include <algorithm>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "core/kernels.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

// Logits a chunk holds at most when options.chunk is 0: 2^21 values (8 MB in float32; the
// backward keeps about four such temporaries alive at once).
constexpr int64_t kChunkValues = int64_t{1} << 21;

struct Chunk {
  int64_t begin, size;
};

std::vector<Chunk> vocabulary_chunks(int64_t V, int64_t N, int64_t chunk) {
  if (chunk <= 0) chunk = std::max<int64_t>(1, kChunkValues / std::max<int64_t>(N, 1));
  std::vector<Chunk> chunks;
  for (int64_t v = 0; v < V; v += chunk) chunks.push_back({v, std::min(chunk, V - v)});
  return chunks;
}

// z_c = x W_c^T + b_c: [N, size] logits of one chunk.
Tensor chunk_logits(const Tensor& x2, const Tensor& weight, const Tensor& bias, const Chunk& c) {
  return linear(x2, weight.narrow(0, c.begin, c.size), bias.defined() ? bias.narrow(0, c.begin, c.size) : Tensor());
}

}  // namespace

Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& target,
                            const LinearCrossEntropyOptions& o) {
  CFX_PROFILE_OP("linear_cross_entropy");
  const char* op = "linear_cross_entropy";
  CFX_CHECK(o.reduction == "mean" || o.reduction == "sum" || o.reduction == "none", op,
            ": reduction must be \"mean\", \"sum\" or \"none\", got \"", o.reduction, "\"");
  CFX_CHECK(is_floating(x.dtype()) && x.dim() >= 1, op, ": expected float x [..., D], got ", x.dtype(), " ", x.shape());
  CFX_CHECK(weight.dim() == 2 && weight.size(1) == x.size(-1), op, ": expected weight [V, D] with D = ", x.size(-1),
            " (x is ", x.shape(), "), got ", weight.shape());
  CFX_CHECK(weight.dtype() == x.dtype() && weight.device() == x.device(), op, ": weight is ", weight.dtype(), " on ",
            weight.device(), ", x is ", x.dtype(), " on ", x.device());
  const int64_t V = weight.size(0), D = weight.size(1);
  CFX_CHECK(V > 0, op, ": the weight has no rows (no classes)");
  if (bias.defined())
    CFX_CHECK(bias.shape() == Shape{V} && bias.dtype() == x.dtype() && bias.device() == x.device(), op,
              ": expected bias [", V, "] ", x.dtype(), " on ", x.device(), ", got ", bias.shape(), " ", bias.dtype(),
              " on ", bias.device());
  const Shape rows_shape(x.shape().begin(), x.shape().end() - 1);
  CFX_CHECK(target.dtype() == kInt64 && target.shape() == rows_shape && target.device() == x.device(), op,
            ": expected an int64 target of shape ", rows_shape, " on ", x.device(), " (x is ", x.shape(), "), got ",
            target.dtype(), " ", target.shape(), " on ", target.device());

  // t_safe: targets with ignored rows pointed at class 0; keep: 1 for counted rows, else 0.
  const int64_t N = numel(rows_shape);
  std::vector<int64_t> t_host = to_vector<int64_t>(target.reshape({N}).to(Device::cpu()));
  std::vector<double> keep_host(static_cast<size_t>(N), 1.0);
  int64_t count = 0;
  for (size_t i = 0; i < t_host.size(); ++i) {
    if (t_host[i] == o.ignore_index) {
      t_host[i] = 0, keep_host[i] = 0.0;
      continue;
    }
    CFX_CHECK(t_host[i] >= 0 && t_host[i] < V, op, ": target ", t_host[i], " at row ", i, " is out of range for ", V,
              " classes (expected 0 <= target < ", V, ", or ignore_index = ", o.ignore_index, ")");
    ++count;
  }
  const Tensor t_safe = tensor(t_host, {N}).to(x.device());
  const Tensor keep = tensor(keep_host, {N}).to(x.dtype()).to(x.device());
  const Tensor x2 = x.detach().reshape({N, D}), w = weight.detach(), b = bias.defined() ? bias.detach() : Tensor();
  const std::vector<Chunk> chunks = vocabulary_chunks(V, N, o.chunk);

  Tensor out, lse;  // lse: [N] log-sum-exp of every row's logits, saved for backward
  {
    NoGradGuard no_grad;
    Tensor m, s;  // running max and sum of e^(z - m), [N]
    for (const Chunk& c : chunks) {
      const Tensor z = chunk_logits(x2, w, b, c);  // [N, c.size]
      const Tensor m_c = amax(z, {1});
      const Tensor s_c = sum(exp(z - m_c.unsqueeze(1)), {1});
      if (!m.defined()) {
        m = m_c, s = s_c;
        continue;
      }
      const Tensor m_new = maximum(m, m_c);
      s = s * exp(m - m_new) + s_c * exp(m_c - m_new);
      m = m_new;
    }
    lse = N > 0 ? m + log(s) : zeros({0}, {x.dtype(), x.device()});
    Tensor z_target = sum(x2 * index_select(w, 0, t_safe), {1});  // x_i . W[t_i]
    if (b.defined()) z_target = z_target + index_select(b, 0, t_safe);
    const Tensor loss_rows = (lse - z_target) * keep;  // [N]
    if (o.reduction == "none") out = loss_rows.view(rows_shape);
    else if (o.reduction == "sum") out = sum(loss_rows);
    else out = sum(loss_rows) / static_cast<double>(count);  // all rows ignored: 0 / 0 = NaN, as torch
  }

  autograd::record(op, out, {x, weight, bias}, [x2, w, b, t_safe, keep, lse, chunks, N, D, count, o,
                                                x_shape = x.shape()](const Tensor& g, const NeedsGrad& needs) {
    Tensor scale;  // [N] = d out / d loss_i, 0 on ignored rows
    if (o.reduction == "none") scale = g.reshape({N}) * keep;
    else if (o.reduction == "sum") scale = keep * g.reshape({1});
    else scale = keep * (g.reshape({1}) / static_cast<double>(count));
    const Tensor scale_col = scale.unsqueeze(1);  // [N, 1]
    const Device dev = g.device();
    // The one-hot part of d loss / d z first: -scale at each row's target.
    Tensor gx = needs[0] ? -(scale_col * index_select(w, 0, t_safe)) : Tensor();
    Tensor gw = needs[1] ? detail::make_empty(w.shape(), w.dtype(), dev) : Tensor();
    Tensor gb = needs[2] ? detail::make_empty({w.size(0)}, w.dtype(), dev) : Tensor();
    for (const Chunk& c : chunks) {  // then the softmax part, chunk by chunk: p_c = e^(z_c - lse) * scale
      const Tensor p = exp(chunk_logits(x2, w, b, c) - lse.unsqueeze(1)) * scale_col;  // [N, c.size]
      if (gx.defined()) gx = gx + matmul(p, w.narrow(0, c.begin, c.size));
      if (gw.defined()) gw.narrow(0, c.begin, c.size).copy_(matmul(p.t(), x2));
      if (gb.defined()) gb.narrow(0, c.begin, c.size).copy_(sum(p, {0}));
    }
    if (gw.defined()) index_add_kernel(dev, gw, 0, t_safe, -(scale_col * x2));
    if (gb.defined()) index_add_kernel(dev, gb, 0, t_safe, -scale);
    return grads{gx.defined() ? gx.view(x_shape) : Tensor(), gw, gb};
  });
  return out;
}

}  // namespace cfx
