// linear_cross_entropy: cross_entropy(linear(x, weight, bias), target) as one autograd node
// that never holds the [N, V] logits. A language model's output layer over a 267,744-word
// vocabulary would otherwise materialise 2.2 GB of logits per 2048-token batch (and as much
// again for their gradient); here memory is O(N x chunk) beyond the inputs and gradients.
//
// Forward, per vocabulary chunk c of `chunk` columns (W_c = weight rows of c):
//   z_c = x W_c^T + b_c               [N, chunk], recomputed, never kept
//   running log-sum-exp: m = max(m, max_c z), s = s e^(m_old - m) + sum_c e^(z_c - m)
//   loss_i = lse_i - x_i . W[t_i] - b[t_i]       (0 for rows whose target is ignore_index)
// Backward, with scale_i = d out / d loss_i (0 for ignored rows), p_c = e^(z_c - lse) scale:
//   dx = sum_c p_c W_c - scale W[t]      dW_c = p_c^T x,  dW[t] -= scale x
//   db_c = sum_rows p_c,                 db[t] -= scale
// Saved for backward: x, weight, bias, target and lse [N]. Every step is a dispatched op
// (linear, exp, sums, index_select, index_add), so the node runs on any device.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace cfx {

struct LinearCrossEntropyOptions {
  int64_t ignore_index = -100;   // targets equal to it add nothing (fairseq LM: <pad> = 1)
  std::string reduction = "mean";  // "mean" over non-ignored targets, "sum", or "none" (target's shape)
  int64_t chunk = 0;               // vocabulary columns per chunk; 0 = about 2^21 logits per chunk
};

// x [..., D] float, weight [V, D], bias [V] or undefined, target [...] int64 (x's leading shape).
Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& target,
                            const LinearCrossEntropyOptions& options = {});

}  // namespace cfx
