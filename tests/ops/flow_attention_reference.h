// Flow-Attention composed from primitive ops: the test oracle for the fused op.
//
// A line-by-line transcription of the official code's equations (../shared/BENCHMARKS.md
// section 0.2 non-causal with the CV deltas, 0.3 causal, 0.5 heads competition), so autograd
// gives its gradient. The causal branch materialises the [B,H,L,D,M] prefix sum exactly like
// the official `causal_dot_product`: use it on small sizes only.
#pragma once

#include <limits>

#include "conflux/conflux.h"

namespace cfx::testing {

// Σ_d a[..., d] * b[..., d]
inline Tensor dot_last(const Tensor& a, const Tensor& b) { return sum(a * b, {-1}); }

inline Tensor flow_attention_reference(const Tensor& Q, const Tensor& K, const Tensor& V,
                                       const FlowAttentionOptions& opts = {}) {
  using FM = FlowAttentionOptions::FeatureMap;
  const double eps = opts.eps;
  auto phi = [&](const Tensor& x) { return opts.feature_map == FM::Sigmoid ? sigmoid(x) : relu(x) + 1e-6; };
  // The four normaliser dots, (x+eps).(y+eps) [+ eps: CV, Flowformer_CV/flowformer.py].
  auto norm_dot = [&](const Tensor& x, const Tensor& y) {
    Tensor d = dot_last(x + eps, y + eps);
    return opts.eps_after_dot ? d + eps : d;
  };
  Tensor q = phi(Q), k = phi(K), v = V;  // [B,H,L,D], [B,H,S,D], [B,H,S,M]
  const int64_t L = q.size(2), S = k.size(2);

  if (opts.causal) {
    Tensor n = arange(1.0, static_cast<double>(L) + 1.0, 1.0, {Q.dtype()}).view({1, 1, L});  // n_i = i+1
    Tensor I = n / norm_dot(q, cumsum(k, 2));                                       // [B,H,L]
    Tensor O = n / norm_dot(k, cumsum(q, 2));                                       // [B,H,L]
    Tensor I_hat = norm_dot(q, cumsum(k * O.unsqueeze(-1), 2)) / n;
    Tensor O_hat = norm_dot(k, cumsum(q * I.unsqueeze(-1), 2)) / n;
    Tensor A = sigmoid(I_hat);
    if (opts.clamp) O_hat = clamp(O_hat, -*opts.clamp, *opts.clamp);
    Tensor E = exp(O_hat);
    Tensor C = E / cumsum(E, -1) * n;
    // causal_dot_product: kv_i = Σ_{j<=i} k_j (C_j v_j)ᵀ, materialised as [B,H,L,D,M].
    Tensor kv = cumsum(k.unsqueeze(-1) * (v * C.unsqueeze(-1)).unsqueeze(-2), 2);
    Tensor qs = q * (I / n).unsqueeze(-1);
    Tensor y = sum(qs.unsqueeze(-1) * kv, {-2});                                     // [B,H,L,M]
    return y * A.unsqueeze(-1);
  }

  // Key padding mask: padded keys contribute to no sum and get no competition weight;
  // S is replaced by the number of valid keys of each batch row.
  Tensor key_keep = ones({k.size(0), 1, S, 1}, {Q.dtype()});                          // [B,1,S,1]
  Tensor s_eff = full({k.size(0), 1, 1}, static_cast<double>(S), {Q.dtype()});       // [B,1,1]
  if (opts.key_padding_mask.defined()) {
    key_keep = logical_and(ones({1}, {kBool}), ne(opts.key_padding_mask, ones({1}, {kBool})))
                   .to(Q.dtype()).view({k.size(0), 1, S, 1});
    s_eff = sum(key_keep, {1, 2, 3}).view({k.size(0), 1, 1});
  }
  Tensor k_in = k * key_keep;                                                        // excluded keys -> 0
  Tensor I = 1.0 / norm_dot(q, sum(k_in, {2}, true));                                // [B,H,L]
  Tensor O = 1.0 / norm_dot(k, sum(q, {2}, true));                                   // [B,H,S]
  Tensor a = sum(k_in * O.unsqueeze(-1), {2}, true);                                 // [B,H,1,D]
  Tensor b = sum(q * I.unsqueeze(-1), {2}, true);
  Tensor I_hat = norm_dot(q, a);
  Tensor O_hat = norm_dot(k, b);
  if (opts.clamp) O_hat = clamp(O_hat, -*opts.clamp, *opts.clamp);
  Tensor A = sigmoid(I_hat * (static_cast<double>(L) / s_eff));
  Tensor C;
  if (opts.competition == FlowAttentionOptions::Competition::Sequence) {
    Tensor logits = O_hat;
    if (opts.key_padding_mask.defined())
      logits = masked_fill(O_hat, eq(key_keep.view({k.size(0), 1, S}), zeros({1}, {Q.dtype()})),
                           -std::numeric_limits<double>::infinity());
    C = softmax(logits, -1) * s_eff;                                                  // [B,H,S]
  } else {
    C = softmax(O_hat, 1) * s_eff * key_keep.view({k.size(0), 1, S});                // over heads
  }
  Tensor kv = matmul(k_in.transpose(-2, -1), v * C.unsqueeze(-1));                   // [B,H,D,M]
  return matmul(q, kv) * I.unsqueeze(-1) * A.unsqueeze(-1);
}

}  // namespace cfx::testing
