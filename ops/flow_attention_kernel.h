// The kernel side of Flow-Attention: the one struct the fused kernels of every backend read
// (ops/cpu/flow_attention*_cpu.cpp, cuda/flow_attention*.cu).
//
// FlowAttentionOptions (ops/flow_attention.h) is the only place a variant is set: a preset
// (core(), nlp(), lra()...) travels unchanged through the app config, the layer config and the
// module config to the op, and each backend's kernel-table entry turns it, with the problem's
// sizes, into this plain struct by calling flow_kernel_config(). Nothing here is a second
// copy of a setting: the fields are the options resolved (clamp's optional split in two,
// the eps offset after each dot computed once).
#pragma once

#include <cstdint>

#include "ops/flow_attention.h"

namespace cfx {

struct FlowKernelConfig {
  using FeatureMap = FlowAttentionOptions::FeatureMap;
  using Competition = FlowAttentionOptions::Competition;

  // q: [B,H,L,D]  k: [B,H,S,D]  v: [B,H,S,M]  y: [B,H,L,M]
  int64_t B = 1, H = 1, L = 0, S = 0, D = 0, M = 0;
  bool causal = false;         // 0.3; requires L == S, Sequence competition and no mask
  double eps = 1e-6;           // added to both sides of every normaliser dot product
  bool eps_after_dot = false;  // CV: + eps after each of the 4 normaliser dots (dot_offset)
  bool has_clamp = true;       // false: O_hat unbounded (TimeSeries, LRA)
  double clamp = 1.0;          // c in clamp(O_hat, -c, c) when has_clamp
  FeatureMap feature_map = FeatureMap::Sigmoid;
  Competition competition = Competition::Sequence;
  // [B,S] contiguous bytes, 1 = padded key, or null. The CPU kernels read it from here; the
  // CUDA ones keep the mask tensor in their saved state and pass its device pointer along.
  const uint8_t* key_padding_mask = nullptr;

  int64_t BH() const { return B * H; }
  double dot_offset() const { return eps_after_dot ? eps : 0.0; }  // added to each normaliser dot
  bool relu_features() const { return feature_map == FeatureMap::ReluEps; }
  bool heads_competition() const { return competition == Competition::Heads; }
};

// The kernel config of flow_attention(q, k, v, opts) (or of a step on q, k, v): sizes from
// the [B,H,L,D] / [B,H,S,D] / [B,H,S,M] shapes, the variant from opts. key_padding_mask is
// left null for the backend to point at its own contiguous copy.
FlowKernelConfig flow_kernel_config(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts);

}  // namespace cfx
