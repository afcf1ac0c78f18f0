// Fused CPU kernels of Flow-Attention (Flowformer, Wu et al., ICML 2022): forward and
// analytic backward, non-causal and causal, float and double.
//
// This file is the kernel surface only: raw contiguous row-major arrays, no Tensor, no
// autograd node, no input validation (ops/flow_attention.cpp checks shapes and options
// and throws cfx::Error; here violated preconditions are undefined behaviour).
// Equations are named by section of /work/shared/BENCHMARKS.md (0.2 non-causal,
// 0.3 causal, 0.4 masks, 0.5 heads competition, 0.6 backward).
//
// Dimension letters (used in every shape comment of the kernel files):
//   B batch, H heads, L query length, S key length (S == L when causal),
//   D head dim of q and k, M head dim of v.
//
// Semantics are those of the official code (thuml/Flowformer) exactly:
//   * q, k are PRE-feature-map projections; the kernel applies phi itself and the
//     backward returns gradients w.r.t. the pre-feature-map q, k.
//   * non-causal (0.2): sink allocation sigma(I_hat * L/S), competition C = S * softmax(O_hat)
//     (max-subtracted); causal (0.3): n_i = i+1, plain exp + prefix sums, no L/S factor.
//   * the clamp bounds O_hat (the conserved source) before the competition; its gradient
//     passes at the inclusive bounds, as torch.clamp's does.
// Deliberate extension (differs from the official code, which ignores masks, 0.4):
//   key_padding_mask removes padded keys entirely: from k_bar, from a = sum_j k_j O_j, from
//   the competition softmax and from KV; S_eff (the number of valid keys of that batch row)
//   replaces S in C = S*softmax and in the L/S ratio. Without a mask the result is exactly
//   the official one. A batch row with zero valid keys gives y = 0 and zero gradients.
//
// Numerics (0.7): reductions run in T; the causal exp is not max-subtracted (official), so
// without a clamp it can overflow to inf/NaN exactly where the official code does.
//
// Preconditions (checked by the caller): D, M >= 1; causal needs L == S, Sequence competition
// and no mask; every pointer covers its full shape, contiguous.
//
// Threads: parallel over (b,h) through cfx::parallel_for (the heads competition adds a
// barrier between phases because it couples the heads of one batch element). While the
// (b,h) loop runs on more than one thread, OpenBLAS is switched to one thread and restored
// afterwards: nested OpenBLAS threading on these 2-core machines is 4x slower.
#pragma once

#ifndef CFX_CPU_CAPABILITY
#error "ops/cpu/ is compiled once per CPU capability; CMakeLists.txt defines CFX_CPU_CAPABILITY"
#endif

#include <cstdint>
#include <vector>

#include "core/allocator.h"
#include "ops/flow_attention_kernel.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)

// The settings and sizes every kernel reads: FlowKernelConfig (ops/flow_attention_kernel.h),
// the same struct the CUDA kernels read, key_padding_mask included ([B,S] bytes on the CPU).

// What the forward keeps for the backward (STYLE practice 2): O(L+S) numbers and one D x M
// matrix per (b,h), never an L x S or L x D x M array. phi(q), phi(k) are recomputed in the
// backward rather than kept: they would be O((L+S)*D), as large as the inputs. Filled by
// flow_attention_forward, which resizes the vectors, so one object can be reused across calls.
template <class T>
struct FlowAttentionSaved {
  CpuBuffer<T> sink_incoming;       // I:     [B,H,L]  0.2 1/((q+eps).(k_bar+eps)); 0.3 n_i/(..)
  CpuBuffer<T> sink_allocation;     // A:     [B,H,L]  sigma(I_hat * L/S); causal sigma(I_hat)
  CpuBuffer<T> source_outgoing;     // O:     [B,H,S]  0 for padded keys
  CpuBuffer<T> conserved_source;    // O_hat: [B,H,S]  BEFORE the clamp (its mask needs it)
  CpuBuffer<T> source_competition;  // C:     [B,H,S]  0 for padded keys
  // non-causal only (empty when causal):
  CpuBuffer<T> key_sum;             // k_bar: [B,H,D]  sum of phi(k) over valid keys
  CpuBuffer<T> query_sum;           // q_bar: [B,H,D]  sum of phi(q)
  CpuBuffer<T> source_flow;         // a:     [B,H,D]  sum_j phi(k_j) O_j
  CpuBuffer<T> sink_flow;           // b:     [B,H,D]  sum_i phi(q_i) I_i
  CpuBuffer<T> kv;                  // KV:    [B,H,D,M] sum_j phi(k_j) (C_j v_j)^T
  // causal only (empty when non-causal):
  CpuBuffer<T> competition_prefix;  // D_i of 0.6: [B,H,L]  sum_{j<=i} exp(clamp(O_hat_j))
};

// y: [B,H,L,M] is overwritten. saved may be null (inference: nothing is kept).
template <class T>
void flow_attention_forward(const FlowKernelConfig& cfg, const T* q, const T* k, const T* v,
                            T* y, FlowAttentionSaved<T>* saved);

// grad_y: [B,H,L,M]; saved: from the forward on the same q, k, v and cfg.
// grad_q: [B,H,L,D], grad_k: [B,H,S,D], grad_v: [B,H,S,M] are overwritten (not accumulated);
// each may be null when that gradient is not needed (less work is done).
template <class T>
void flow_attention_backward(const FlowKernelConfig& cfg, const T* q, const T* k, const T* v,
                             const T* grad_y, const FlowAttentionSaved<T>& saved, T* grad_q,
                             T* grad_k, T* grad_v);

// The recurrent causal step (ops/flow_attention_step.h; ops/cpu/flow_attention_step_cpu.cpp):
// cfg.L new tokens after `position` earlier ones, cfg.causal; q, k [B,H,L,D], v [B,H,L,M] ->
// y [B,H,L,M] (overwritten). The running sums, [BH, ...] each, are updated in place.
template <class T>
struct FlowStepSums {
  T *key_sum, *query_sum, *source_flow, *sink_flow;  // [BH,D]  K~, Q~, P, R
  T* competition_sum;                                // [BH]    E
  T* kv;                                             // [BH,D,M]
};
template <class T>
void flow_attention_step(const FlowKernelConfig& cfg, int64_t position, const T* q, const T* k, const T* v, T* y,
                         const FlowStepSums<T>& sums);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
