// Attention modules: FlowAttention (Flowformer, Wu et al. ICML 2022) and the softmax baseline.
//
// FlowAttention mirrors the official `Flow_Attention(d_input, d_model, d_output, n_heads,
// drop_out=0.05, eps=1e-6)` module (thuml/Flowformer, Flow_Attention.py):
//   q = query_projection(x_q)   [B, L, d_model] -> view [B, L, H, dh] -> transpose [B, H, L, dh]
//   k = key_projection(x_k)     [B, S, d_model] -> [B, H, S, dh]
//   v = value_projection(x_v)   [B, S, d_model] -> [B, H, S, dh]
//   y = cfx::flow_attention(q, k, v, options)      [B, H, L, dh]   (ops/flow_attention.h)
//   out = dropout(out_projection(merge_heads(y)))  [B, L, d_output]
// with the official parameter names (query_projection, key_projection, value_projection,
// out_projection), PyTorch [out, in] weights and nn.Linear default init, so an official
// state dict loads key for key. Letters: B batch, L queries, S keys, H heads, dh = d_model/H.
#pragma once

#include "nn/layers.h"
#include "ops/flow_attention.h"
#include "ops/flow_attention_step.h"

namespace cfx::nn {

struct FlowAttentionConfig {
  int64_t d_input = 0;   // width of the inputs
  int64_t d_model = 0;   // width of q/k/v (all heads); 0 = d_input
  int64_t d_output = 0;  // width of the output; 0 = d_input
  int64_t n_heads = 1;
  double dropout = 0.05;  // after out_projection (official default 0.05; LRA/vision use 0)
  bool bias = true;       // false for the LRA (JAX DenseGeneral without bias)
  // Variant switches (causal, clamp, feature map, competition axis): the presets
  // FlowAttentionOptions::core()/nlp()/rl()/time_series()/lra() match the official folders.
  // The key padding mask is given per call to forward(), not here.
  FlowAttentionOptions options = FlowAttentionOptions::core();
};

class FlowAttention : public Module {
 public:
  explicit FlowAttention(const FlowAttentionConfig& cfg, Generator* gen = nullptr);
  // Self-attention: x [B, L, d_input] -> [B, L, d_output]. key_padding_mask: [B, L] bool,
  // true = padded (non-causal only; see FlowAttentionOptions).
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask = Tensor()) const;
  // The official forward(queries, keys, values): [B, L, d_input], [B, S, d_input] x2.
  Tensor forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                 const Tensor& key_padding_mask = Tensor()) const;

  // Decoding (causal options only): x [B, T, d_input], the T tokens after those `state` has
  // seen -> [B, T, d_output], equal to the rows of forward() over the whole sequence, at
  // O(T) cost whatever the position (ops/flow_attention_step.h). Inference only.
  Tensor step(const Tensor& x, FlowAttentionStepState& state) const;
  // The state before the first token, of the weights' dtype and device.
  FlowAttentionStepState initial_state(int64_t batch) const;

  FlowAttentionConfig config;
  std::shared_ptr<Linear> query_projection, key_projection, value_projection, out_projection;
  std::shared_ptr<Dropout> dropout;
};

// The vanilla Transformer baseline with the same projections and names:
// softmax(q kᵀ/√dh [+ causal mask]) v via cfx::scaled_dot_product_attention.
struct SoftmaxAttentionConfig {
  int64_t d_input = 0;
  int64_t d_model = 0;   // 0 = d_input
  int64_t d_output = 0;  // 0 = d_input
  int64_t n_heads = 1;
  double dropout = 0.0;  // after out_projection
  bool bias = true;
  bool causal = false;
};

class SoftmaxAttention : public Module {
 public:
  explicit SoftmaxAttention(const SoftmaxAttentionConfig& cfg, Generator* gen = nullptr);
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask = Tensor()) const;
  Tensor forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                 const Tensor& key_padding_mask = Tensor()) const;

  SoftmaxAttentionConfig config;
  std::shared_ptr<Linear> query_projection, key_projection, value_projection, out_projection;
  std::shared_ptr<Dropout> dropout;
};

namespace detail {
// [B, L, H·dh] -> [B, H, L, dh] (a view) and back (a copy).
Tensor split_heads(const Tensor& x, int64_t n_heads);
Tensor merge_heads(const Tensor& y);
}  // namespace detail

}  // namespace cfx::nn
