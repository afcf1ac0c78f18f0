// Pointwise math with broadcasting, each op's gradient written under its forward
// (ops/elementwise.cpp). Binary ops need equal dtypes and devices (no silent promotion).
#pragma once

#include <optional>
#include <string>

#include "core/tensor.h"

namespace cfx {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient split evenly at ties, like torch
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
// approximate: "none" (exact, erf) or "tanh", as torch.nn.functional.gelu.
Tensor gelu(const Tensor& x, const std::string& approximate = "none");

// Comparisons return Bool tensors and record no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);

// cond ? a : b, broadcasting all three; gradient flows to the chosen side.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` where mask (Bool, broadcastable to x) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// Gradient passes where lo <= x <= hi (inclusive, torch semantics). Either bound optional.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

}  // namespace cfx
