// Causal Flow-Attention as a recurrence: decode token by token in constant time and memory.
//
// At position i the causal forward (BENCHMARKS.md 0.3) reads only prefix sums over j <= i:
//   K~_i = sum phi(k_j),  Q~_i = sum phi(q_j),  P_i = sum phi(k_j) O_j,  R_i = sum phi(q_j) I_j,
//   E_i = sum exp(clamp(O^_j)),  KV_i = sum phi(k_j) (C_j v_j)^T,  and n_i = i + 1.
// Carry those and a new token costs O(D*M) per head, whatever its position: the state is
// 4 D + 1 + D M numbers per (batch, head), a few KB, where softmax attention's KV cache grows
// by 2 (D + M) numbers every token. flow_attention_step(q, k, v, state, opts) is
// flow_attention(q, k, v, causal opts) for new tokens appended to the ones the state has
// seen: stepping a sequence through in chunks of any sizes gives the full causal forward's
// outputs (float64 to ~1e-12, tests/ops/test_flow_attention_step.cpp).
//
// Inference only: there is no backward (train with flow_attention, which has one). Calling
// it where autograd would record (grad mode on and an input requiring grad) is an error
// rather than a silently detached result.
//
// Letters: B batch, H heads, T new tokens, D head dim of q/k, M head dim of v.
#pragma once

#include <cstdint>

#include "ops/flow_attention.h"

namespace cfx {

struct FlowAttentionStepState {
  // Zeros for B x H heads of dims D, M: the state before the first token.
  static FlowAttentionStepState zeros(int64_t B, int64_t H, int64_t D, int64_t M, DType dtype = kFloat32,
                                      Device device = Device::cpu());

  Tensor key_sum;          // [B,H,D]    K~: sum of phi(k_j)
  Tensor query_sum;        // [B,H,D]    Q~: sum of phi(q_j)
  Tensor source_flow;      // [B,H,D]    P:  sum of phi(k_j) O_j   (outgoing flow of the sources)
  Tensor sink_flow;        // [B,H,D]    R:  sum of phi(q_j) I_j   (incoming flow of the sinks)
  Tensor competition_sum;  // [B,H]      E:  sum of exp(clamp(O^_j)), the competition's normaliser
  Tensor kv;               // [B,H,D,M]  sum of phi(k_j) (C_j v_j)^T
  int64_t position = 0;    // tokens seen (every batch row steps together)

  int64_t bytes() const;  // the whole state, independent of position
  FlowAttentionStepState to(Device device) const;
};

// q [B,H,T,D], k [B,H,T,D], v [B,H,T,M] of the T tokens after state.position -> y [B,H,T,M];
// advances the state by T. opts must be causal (nlp(), rl(), or core() with causal = true),
// with the sequence competition and no key padding mask.
Tensor flow_attention_step(const Tensor& q, const Tensor& k, const Tensor& v, FlowAttentionStepState& state,
                           const FlowAttentionOptions& opts);

}  // namespace cfx
