// In-place parameter initialisers (torch.nn.init). Each overwrites `t` under NoGradGuard
// with draws from `gen` (default: cfx::default_generator()) and returns it.
//
// Which model uses which (BENCHMARKS.md): PyTorch defaults (Linear U(±1/√in), Embedding
// N(0,1)) for the core FlowAttention and DT's outer layers; xavier_uniform for LRA
// attention/MLP and fairseq; normal(0.02) for the GPT-2 body of the Decision Transformer;
// trunc_normal(0.02) for the vision model's Linears and pos_embed.
#pragma once

#include "core/generator.h"
#include "core/tensor.h"

namespace cfx::nn::init {

Tensor uniform_(Tensor t, double lo, double hi, Generator* gen = nullptr);
Tensor normal_(Tensor t, double mean, double std, Generator* gen = nullptr);
// Normal(mean, std) with draws outside [a, b] redrawn (timm/torch trunc_normal_; a, b absolute).
Tensor trunc_normal_(Tensor t, double std, double mean = 0.0, double a = -2.0, double b = 2.0,
                     Generator* gen = nullptr);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);
// U(±gain·√(6/(fan_in+fan_out))); for a weight [out, in, k...] fan = size·receptive field.
Tensor xavier_uniform_(Tensor t, double gain = 1.0, Generator* gen = nullptr);
// PyTorch's Linear/Conv default, kaiming_uniform(a=√5): U(±1/√fan_in).
Tensor kaiming_uniform_default_(Tensor t, Generator* gen = nullptr);

// fan_in, fan_out of a weight [out, in, k...] (PyTorch _calculate_fan_in_and_fan_out).
std::pair<int64_t, int64_t> fans(const Tensor& weight);

}  // namespace cfx::nn::init
