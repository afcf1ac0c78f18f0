// Flow-Attention (Wu et al., "Flowformer", ICML 2022) as one differentiable op, and
// softmax attention as the baseline it is compared with.
//
// Letters: B batch, H heads, L query length, S key length, D = head dim of q/k, M = head
// dim of v. Inputs are the *projected, pre-feature-map* q/k/v:
//   q [B,H,L,D], k [B,H,S,D], v [B,H,S,M]  ->  y [B,H,L,M]
// The equations (and which official variant each option reproduces) are in
// ../shared/BENCHMARKS.md section 0; ops/cpu/flow_attention_cpu.cpp implements them.
//
// Variants (preset: official folder -> what differs from core):
//   core():        Flow_Attention.py           sigmoid, clamp(Ô, ±1), softmax over keys
//   vision():      Flowformer_CV               + eps after each normaliser dot product
//   time_series(): Flowformer_TimeSeries       no clamp
//   nlp() / rl():  Flowformer_NLP / _RL        causal, clamp ±5 / ±10
//   lra():         Flowformer_LRA (JAX)        relu(x)+1e-6, no clamp, softmax over heads
#pragma once

#include <optional>

#include "core/tensor.h"

namespace cfx {

struct FlowAttentionOptions {
  enum class FeatureMap { Sigmoid, ReluEps };     // sigmoid (all PyTorch variants) | relu(x)+1e-6 (LRA/JAX)
  enum class Competition { Sequence, Heads };     // softmax over keys | over heads (the LRA code's axis)

  bool causal = false;                  // requires L == S; O(L) memory with a running D x M state
  double eps = 1e-6;
  // Bound c on the conserved source, clamp(Ô, -c, c): 1 core (default), 5 NLP, 10 RL,
  // std::nullopt for TimeSeries and LRA (no clamp).
  std::optional<double> clamp = 1.0;
  // CV (BENCHMARKS.md 0.2): + eps after each of the four normaliser dot products,
  // I = 1/((q+eps).(k_bar+eps) + eps), ..., O_hat = clamp((k+eps).(b+eps) + eps). Causal and
  // the step add it to the dot before the n_i scaling: I = n/(dot + eps), I_hat = (dot + eps)/n.
  bool eps_after_dot = false;
  FeatureMap feature_map = FeatureMap::Sigmoid;
  Competition competition = Competition::Sequence;
  // [B, S] bool, true = padded key. Padded keys are excluded from every sum (the official
  // code accepts a mask and ignores it). Non-causal only. Undefined = no mask (exact official).
  Tensor key_padding_mask;

  // Presets matching the official variants.
  static FlowAttentionOptions core() { return {}; }
  static FlowAttentionOptions vision() { FlowAttentionOptions o; o.eps_after_dot = true; return o; }
  static FlowAttentionOptions nlp() { FlowAttentionOptions o; o.causal = true; o.clamp = 5.0; return o; }
  static FlowAttentionOptions rl() { FlowAttentionOptions o; o.causal = true; o.clamp = 10.0; return o; }
  static FlowAttentionOptions time_series() { FlowAttentionOptions o; o.clamp = std::nullopt; return o; }
  static FlowAttentionOptions lra() {
    FlowAttentionOptions o;
    o.clamp = std::nullopt;
    o.feature_map = FeatureMap::ReluEps;
    o.competition = Competition::Heads;
    return o;
  }
};

// One autograd node with an analytic backward; fused CPU kernels (CUDA when built).
Tensor flow_attention(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts = {});

// softmax(q kᵀ / sqrt(D) [+ causal mask]) v, the vanilla Transformer baseline, built from
// the primitive ops (so it materialises the L x S score matrix, as the paper's baseline does).
// key_padding_mask: optional [B, S] bool, true = padded key.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal = false,
                                    const Tensor& key_padding_mask = Tensor());

}  // namespace cfx
