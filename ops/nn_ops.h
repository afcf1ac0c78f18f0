// Fused neural-network ops (ops/nn_ops.cpp): one autograd node each, analytic backward.
#pragma once

#include <optional>
#include <string>

#include "core/generator.h"
#include "core/tensor.h"

namespace cfx {

// Normalises over the trailing dims given by normalized_shape; weight/bias optional.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// weight[index]; index int64/int32 of any shape -> [*index.shape, D]. Rows equal to
// padding_idx get no gradient. Out-of-range indices throw.
Tensor embedding(const Tensor& index, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
// Inverted dropout: zero with probability p, scale survivors by 1/(1-p); identity when !train.
Tensor dropout(const Tensor& x, double p, bool train, Generator* gen = nullptr);
// logits [N, C] (or [N, C, d1...] with target [N, d1...]) and int64 targets.
// reduction: "mean" (over non-ignored targets), "sum" or "none".
Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100,
                     double label_smoothing = 0.0, const std::string& reduction = "mean");
// Cross-entropy against a distribution over classes per row (timm SoftTargetCrossEntropy, what
// Mixup/CutMix train with): loss_n = -sum_c target[n, c] log_softmax(logits)[n, c]. logits and
// target [N, C] of one float dtype; target rows should sum to 1 (not checked: a sum is a float).
// A composite of log_softmax, mul and sum, so its gradient is theirs: softmax(x) * sum(t) - t.
Tensor soft_target_cross_entropy(const Tensor& logits, const Tensor& target, const std::string& reduction = "mean");
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");

}  // namespace cfx
