// Fused CPU kernels of non-causal Flow-Attention (0.2), forward and analytic backward (0.6)
// side by side, and the entry points flow_attention_forward/backward, which send causal calls
// to ops/cpu/flow_attention_causal_cpu.cpp. Shared pieces: ops/cpu/flow_attention_heads.h.
// Sections refer to /work/shared/BENCHMARKS.md.
//
// Not here: validation (ops/flow_attention.cpp), the composite oracle, CUDA.
//
// Dimension letters: B batch, H heads, L queries, S keys, D = head dim of q, k; M = head dim
// of v. Per (b,h): q~ = phi(q), k~ = phi(k).
//
// Cost per (b,h): O((L+S)*D*M) flops and O((L+S)*(D+M)) memory; never an L x S array. The big products go to OpenBLAS;
// everything else is a few fused passes over the rows, each inner loop running over D or M.
#include "ops/cpu/flow_attention_cpu.h"  // defines: flow_attention_forward, flow_attention_backward

#include <cassert>
#include <cmath>

#include "ops/cpu/flow_attention_heads.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)

using namespace flow_heads;

namespace {

// =======================================================================================
// Non-causal forward (0.2), in three phases so that the heads competition (0.5) can put a
// barrier between 1 (flow statistics) and 3 (output); 2 is the competition itself.

// Writes q~ = phi(q) into qf and k~ = phi(k) into kf on the way (fused with the sums).
template <class T>
void noncausal_stats(const FlowKernelConfig& c, const HeadSlice<T, T>& h, T* qf /*[L,D]*/,
                     T* kf /*[S,D]*/) {
  const int64_t L = c.L, S = c.S, D = c.D;
  const T eps = T(c.eps), after = T(c.dot_offset());
  std::fill_n(h.q_sum, D, T(0));
  for (int64_t i = 0; i < L; ++i) {
    feature_map(c.feature_map, h.q + i * D, qf + i * D, D);
    axpy(T(1), qf + i * D, h.q_sum, D);
  }
  // O_j = 1/((k_j+eps).(q_bar+eps) [+ eps, CV]); a = sum_j k_j O_j (likewise [+ eps] below)
  std::fill_n(h.k_sum, D, T(0));
  std::fill_n(h.a, D, T(0));
  for (int64_t j = 0; j < S; ++j) {
    T* kj = kf + j * D;
    if (padded(h, j)) {  // zeroed so that garbage there can never reach KV through 0 * inf
      std::fill_n(kj, D, T(0));
      h.O[j] = 0;
      continue;
    }
    feature_map(c.feature_map, h.k + j * D, kj, D);
    axpy(T(1), kj, h.k_sum, D);
    h.O[j] = T(1) / dot_eps(kj, h.q_sum, D, eps, after);
    axpy(h.O[j], kj, h.a, D);
  }
  // I_i = 1/((q_i+eps).(k_bar+eps)); b = sum_i q_i I_i; A_i = sigma((q_i+eps).(a+eps) * L/S)
  const T l_over_s = T(L) / T(h.s_eff);
  std::fill_n(h.b, D, T(0));
  for (int64_t i = 0; i < L; ++i) {
    const T* qi = qf + i * D;
    h.I[i] = T(1) / dot_eps(qi, h.k_sum, D, eps, after);
    axpy(h.I[i], qi, h.b, D);
    h.A[i] = sigmoid(dot_eps(qi, h.a, D, eps, after) * l_over_s);
  }
  // O_hat_j = (k_j+eps).(b+eps), kept before the clamp
  for (int64_t j = 0; j < S; ++j)
    h.O_hat[j] = padded(h, j) ? T(0) : dot_eps(kf + j * D, h.b, D, eps, after);
}

// C = S_eff * softmax_j(clamp(O_hat)) over the valid keys, max-subtracted like torch.softmax.
template <class T>
void compete_over_sequence(const FlowKernelConfig& c, const HeadSlice<T, T>& h) {
  T max_o = -INFINITY;
  for (int64_t j = 0; j < c.S; ++j)
    if (!padded(h, j)) max_o = std::max(max_o, clamp_source(c, h.O_hat[j]));
  T sum = 0;
  for (int64_t j = 0; j < c.S; ++j) {
    h.C[j] = padded(h, j) ? T(0) : std::exp(clamp_source(c, h.O_hat[j]) - max_o);
    sum += h.C[j];
  }
  const T scale = T(h.s_eff) / sum;
  for (int64_t j = 0; j < c.S; ++j) h.C[j] *= scale;
}

// 0.5: C_{j,h} = S_eff * softmax_h(clamp(O_hat_{j,h})), for each batch row and key.
template <class T>
void compete_over_heads(const FlowKernelConfig& c, FlowAttentionSaved<T>& st) {
  const int64_t H = c.H, S = c.S;
  for (int64_t b = 0; b < c.B; ++b) {
    const uint8_t* pad = c.key_padding_mask ? c.key_padding_mask + b * S : nullptr;
    int64_t s_eff = S;
    if (pad)
      for (int64_t j = 0; j < S; ++j) s_eff -= pad[j] ? 1 : 0;
    const T* o_hat = st.conserved_source.data() + b * H * S;  // [H,S]
    T* C = st.source_competition.data() + b * H * S;          // [H,S]
    for (int64_t j = 0; j < S; ++j) {
      if (pad && pad[j]) {
        for (int64_t hh = 0; hh < H; ++hh) C[hh * S + j] = 0;
        continue;
      }
      T max_o = -INFINITY, sum = 0;
      for (int64_t hh = 0; hh < H; ++hh)
        max_o = std::max(max_o, clamp_source(c, o_hat[hh * S + j]));
      for (int64_t hh = 0; hh < H; ++hh)
        sum += C[hh * S + j] = std::exp(clamp_source(c, o_hat[hh * S + j]) - max_o);
      for (int64_t hh = 0; hh < H; ++hh) C[hh * S + j] *= T(s_eff) / sum;
    }
  }
}

// KV = k~^T (C v); y_i = A_i I_i q~_i^T KV. qf is scaled in place; cv: [S,M] scratch.
template <class T>
void noncausal_output(const FlowKernelConfig& c, const HeadSlice<T, T>& h, T* qf, const T* kf,
                      T* cv, T* y /*[L,M]*/) {
  const int64_t L = c.L, S = c.S, D = c.D, M = c.M;
  for (int64_t j = 0; j < S; ++j) {
    if (padded(h, j))
      std::fill_n(cv + j * M, M, T(0));
    else
      scale_into(h.C[j], h.v + j * M, cv + j * M, M);
  }
  gemm<T>(true, false, D, M, S, 1, kf, D, cv, M, 0, h.kv, M);
  for (int64_t i = 0; i < L; ++i) scale(h.A[i] * h.I[i], qf + i * D, D);
  gemm<T>(false, false, L, M, D, 1, qf, D, h.kv, M, 0, y, M);
}

template <class T>
void noncausal_forward(const FlowKernelConfig& c, const T* q, const T* k, const T* v, T* y,
                       FlowAttentionSaved<T>& st) {
  const int64_t L = c.L, S = c.S, D = c.D, M = c.M;
  const int64_t scratch = L * D + S * D + S * M;                // qf [L,D], kf [S,D], cv [S,M]
  auto zero_head = [&](const HeadSlice<T, T>& h, int64_t bh) {  // no valid key: y = 0
    std::fill_n(y + bh * L * M, L * M, T(0));
    for (T* p : {h.I, h.A}) std::fill_n(p, L, T(0));
    for (T* p : {h.O, h.O_hat, h.C}) std::fill_n(p, S, T(0));
    for (T* p : {h.k_sum, h.q_sum, h.a, h.b}) std::fill_n(p, D, T(0));
    std::fill_n(h.kv, D * M, T(0));
  };
  if (c.competition == FlowKernelConfig::Competition::Sequence) {
    for_each_head<T>(c.B * c.H, scratch, [&](int64_t bh, T* ws) {
      const auto h = head_slice(c, st, q, k, v, bh);
      if (h.s_eff == 0) return zero_head(h, bh);
      T *qf = ws, *kf = qf + L * D, *cv = kf + S * D;
      noncausal_stats(c, h, qf, kf);
      compete_over_sequence(c, h);
      noncausal_output(c, h, qf, kf, cv, y + bh * L * M);
    });
    return;
  }
  // Heads competition couples the heads of a batch row: stats for all, compete, then output
  // (recomputing phi rather than keeping [B,H,L+S,D] of features alive across the barrier).
  for_each_head<T>(c.B * c.H, scratch, [&](int64_t bh, T* ws) {
    const auto h = head_slice(c, st, q, k, v, bh);
    if (h.s_eff == 0) return;
    noncausal_stats(c, h, ws, ws + L * D);
  });
  compete_over_heads(c, st);
  for_each_head<T>(c.B * c.H, scratch, [&](int64_t bh, T* ws) {
    const auto h = head_slice(c, st, q, k, v, bh);
    if (h.s_eff == 0) return zero_head(h, bh);
    T *qf = ws, *kf = qf + L * D, *cv = kf + S * D;
    features(c, h, qf, kf);
    noncausal_output(c, h, qf, kf, cv, y + bh * L * M);
  });
}

// =======================================================================================
// Non-causal backward (0.6), same three phases: (A) gKV and gC, (B) softmax backward,
// (C) everything else. Notation: G = grad_y, U_j = gKV v_j (so gC_j = k~_j.U_j and
// gk_j gets C_j U_j), W_i = KV G_i (so r_i = G_i.z_i = q~_i.W_i and gq_i gets A_i I_i W_i).

template <class T>
struct NoncausalGrads {  // per-thread scratch views of one (b,h)
  T* qf;                 // [L,D] q~
  T* kf;                 // [S,D] k~
  T* gq;                 // [L,D] d loss / d q~ (first q~ * A I, then W, then gq)
  T* gk;                 // [S,D] d loss / d k~ (first U, then gk)
  T* gkv;                // [D,M]
  T* gI;                 // [L]
  T* g_ihat;             // [L] d loss / d I_hat (incl. the L/S factor)
  T* vec;                // [4D] ga, gb, g_qsum, g_ksum
  static int64_t size(const FlowKernelConfig& c) {
    return 2 * c.L * c.D + 2 * c.S * c.D + c.D * c.M + 2 * c.L + 4 * c.D;
  }
  NoncausalGrads(const FlowKernelConfig& c, T* ws)
      : qf(ws),
        kf(qf + c.L * c.D),
        gq(kf + c.S * c.D),
        gk(gq + c.L * c.D),
        gkv(gk + c.S * c.D),
        gI(gkv + c.D * c.M),
        g_ihat(gI + c.L),
        vec(g_ihat + c.L) {}
};

// Phase A: gKV = sum_i (A_i I_i q~_i) G_i^T; then, when q or k need gradients, U = v gKV^T
// and (if gC is given) gC_j = k~_j.U_j.
template <class T>
void noncausal_grad_kv(const FlowKernelConfig& c, const HeadSlice<T, const T>& h, const T* G,
                       NoncausalGrads<T>& w, bool need_qk, T* gC /*[S] or null*/) {
  const int64_t L = c.L, S = c.S, D = c.D, M = c.M;
  features(c, h, w.qf, w.kf);
  for (int64_t i = 0; i < L; ++i) scale_into(h.A[i] * h.I[i], w.qf + i * D, w.gq + i * D, D);
  gemm<T>(true, false, D, M, L, 1, w.gq, D, G, M, 0, w.gkv, M);
  if (!need_qk) return;
  gemm<T>(false, true, S, D, M, 1, h.v, M, w.gkv, M, 0, w.gk, D);
  if (gC)
    for (int64_t j = 0; j < S; ++j)
      gC[j] = padded(h, j) ? T(0) : dot(w.kf + j * D, w.gk + j * D, D);
}

// Phase B turns gC into d loss / d O_hat_raw in place: gO_hat_j = C_j (gC_j - sum C gC / S_eff)
// over the keys (Sequence) or over the heads (Heads), then the clamp mask.
template <class T>
void compete_backward(const FlowKernelConfig& c, const T* C, const T* o_hat, T* g, int64_t n,
                      int64_t stride, int64_t s_eff) {
  T sum = 0;
  for (int64_t t = 0; t < n; ++t) sum += C[t * stride] * g[t * stride];
  for (int64_t t = 0; t < n; ++t) {
    const int64_t j = t * stride;
    g[j] = clamp_passes(c, o_hat[j]) ? C[j] * (g[j] - sum / T(s_eff)) : T(0);
  }
}

// Phase C. gO_hat: [S] from phase B. w holds qf, kf, gk = U and gkv from phase A.
template <class T>
void noncausal_grad_qk(const FlowKernelConfig& c, const HeadSlice<T, const T>& h, const T* G,
                       const T* g_ohat, NoncausalGrads<T>& w, T* grad_q, T* grad_k) {
  const int64_t L = c.L, S = c.S, D = c.D, M = c.M;
  const T eps = T(c.eps), l_over_s = T(L) / T(h.s_eff);
  T *ga = w.vec, *gb = ga + D, *g_qsum = gb + D, *g_ksum = g_qsum + D;
  std::fill_n(w.vec, 4 * D, T(0));
  gemm<T>(false, true, L, D, M, 1, G, M, h.kv, M, 0, w.gq, D);  // W = G KV^T
  // queries: y = A I q~ KV and A = sigma(I_hat * L/S) with I_hat = (q~+eps).(a+eps)
  for (int64_t i = 0; i < L; ++i) {
    const T *qi = w.qf + i * D, A = h.A[i], I = h.I[i];
    T* gqi = w.gq + i * D;
    const T r = dot(qi, gqi, D);
    w.gI[i] = A * r;
    w.g_ihat[i] = I * r * A * (T(1) - A) * l_over_s;
    const T g_ihat = w.g_ihat[i];
    const T* a = h.a;
    for_lanes<T>(D, [=](int64_t d) { gqi[d] = A * I * gqi[d] + g_ihat * (a[d] + eps); });
    axpy(g_ihat, qi, ga, D, eps);  // ga = sum_i g_ihat_i (q~_i + eps)
  }
  // keys: KV (C_j U_j), a = sum k O, O_hat = (k+eps).(b+eps), O = 1/w with w = (k+eps).(q_bar+eps)
  for (int64_t j = 0; j < S; ++j) {
    if (padded(h, j)) continue;
    const T *kj = w.kf + j * D, O = h.O[j], C = h.C[j], go_hat = g_ohat[j];
    T* gkj = w.gk + j * D;
    const T gO = dot(kj, ga, D);
    const T gw = -gO * O * O;  // O = 1/w
    const T *b = h.b, *q_sum = h.q_sum;
    for_lanes<T>(D, [=](int64_t d) {
      gkj[d] = C * gkj[d] + O * ga[d] + go_hat * (b[d] + eps) + gw * (q_sum[d] + eps);
    });
    axpy(gw, kj, g_qsum, D, eps);
    axpy(go_hat, kj, gb, D, eps);
  }
  // queries: b = sum q~ I (gb is complete only now), I = 1/u with u = (q~+eps).(k_bar+eps)
  for (int64_t i = 0; i < L; ++i) {
    const T *qi = w.qf + i * D, I = h.I[i];
    T* gqi = w.gq + i * D;
    const T gI = w.gI[i] + dot(qi, gb, D);
    const T gu = -gI * I * I;  // I = 1/u
    const T* k_sum = h.k_sum;
    for_lanes<T>(D, [=](int64_t d) { gqi[d] += I * gb[d] + gu * (k_sum[d] + eps) + g_qsum[d]; });
    axpy(gu, qi, g_ksum, D, eps);
  }
  if (grad_q) feature_map_grad(c.feature_map, h.q, w.qf, w.gq, grad_q, L * D);
  if (grad_k) {
    for (int64_t j = 0; j < S; ++j) {
      if (padded(h, j)) {
        std::fill_n(grad_k + j * D, D, T(0));
        continue;
      }
      axpy(T(1), g_ksum, w.gk + j * D, D);
      feature_map_grad(c.feature_map, h.k + j * D, w.kf + j * D, w.gk + j * D, grad_k + j * D, D);
    }
  }
}

// gv_j = C_j gKV^T k~_j
template <class T>
void noncausal_grad_v(const FlowKernelConfig& c, const HeadSlice<T, const T>& h,
                      const NoncausalGrads<T>& w, T* grad_v /*[S,M]*/) {
  gemm<T>(false, false, c.S, c.M, c.D, 1, w.kf, c.D, w.gkv, c.M, 0, grad_v, c.M);
  for (int64_t j = 0; j < c.S; ++j) scale(h.C[j], grad_v + j * c.M, c.M);
}

template <class T>
void noncausal_backward(const FlowKernelConfig& c, const T* q, const T* k, const T* v,
                        const T* gy, const FlowAttentionSaved<T>& st, T* grad_q, T* grad_k,
                        T* grad_v) {
  const int64_t L = c.L, S = c.S, D = c.D, M = c.M;
  const bool need_qk = grad_q || grad_k;
  CpuBuffer<T> g_ohat(static_cast<size_t>(c.B * c.H * S));  // [B,H,S] gC, then gO_hat_raw
  auto zero_head = [&](int64_t bh) {  // no valid key: y = 0 whatever q, k, v
    if (grad_q) std::fill_n(grad_q + bh * L * D, L * D, T(0));
    if (grad_k) std::fill_n(grad_k + bh * S * D, S * D, T(0));
    if (grad_v) std::fill_n(grad_v + bh * S * M, S * M, T(0));
  };
  auto phase_c = [&](const HeadSlice<T, const T>& h, int64_t bh, NoncausalGrads<T>& w) {
    if (need_qk)
      noncausal_grad_qk(c, h, gy + bh * L * M, g_ohat.data() + bh * S, w,
                        grad_q ? grad_q + bh * L * D : nullptr,
                        grad_k ? grad_k + bh * S * D : nullptr);
    if (grad_v) noncausal_grad_v(c, h, w, grad_v + bh * S * M);
  };
  if (c.competition == FlowKernelConfig::Competition::Sequence || !need_qk) {
    for_each_head<T>(c.B * c.H, NoncausalGrads<T>::size(c), [&](int64_t bh, T* ws) {
      const auto h = head_slice(c, st, q, k, v, bh);
      if (h.s_eff == 0) return zero_head(bh);
      NoncausalGrads<T> w(c, ws);
      T* g = g_ohat.data() + bh * S;
      noncausal_grad_kv(c, h, gy + bh * L * M, w, need_qk, need_qk ? g : nullptr);
      if (need_qk) compete_backward(c, h.C, h.O_hat, g, S, 1, h.s_eff);
      phase_c(h, bh, w);
    });
    return;
  }
  // Heads competition: gC of every head first, then the softmax over heads, then phase C
  // (phase A is recomputed: it is cheaper than keeping [B,H,L+S,D] across the barrier).
  for_each_head<T>(c.B * c.H, NoncausalGrads<T>::size(c), [&](int64_t bh, T* ws) {
    const auto h = head_slice(c, st, q, k, v, bh);
    if (h.s_eff == 0) return;
    NoncausalGrads<T> w(c, ws);
    noncausal_grad_kv(c, h, gy + bh * L * M, w, true, g_ohat.data() + bh * S);
  });
  for (int64_t b = 0; b < c.B; ++b) {
    const int64_t off = b * c.H * S;  // [H,S] block of batch row b
    const auto h0 = head_slice(c, st, q, k, v, b * c.H);
    for (int64_t j = 0; j < S; ++j)
      if (!padded(h0, j))
        compete_backward(c, st.source_competition.data() + off + j,
                         st.conserved_source.data() + off + j, g_ohat.data() + off + j, c.H, S,
                         h0.s_eff);
  }
  for_each_head<T>(c.B * c.H, NoncausalGrads<T>::size(c), [&](int64_t bh, T* ws) {
    const auto h = head_slice(c, st, q, k, v, bh);
    if (h.s_eff == 0) return zero_head(bh);
    NoncausalGrads<T> w(c, ws);
    noncausal_grad_kv(c, h, gy + bh * L * M, w, true, static_cast<T*>(nullptr));
    phase_c(h, bh, w);
  });
}

}  // namespace

// =======================================================================================

template <class T>
void flow_attention_forward(const FlowKernelConfig& cfg, const T* q, const T* k, const T* v,
                            T* y, FlowAttentionSaved<T>* saved) {
  assert(!cfg.causal ||
         (cfg.L == cfg.S && !cfg.key_padding_mask && cfg.competition == FlowKernelConfig::Competition::Sequence));
  FlowAttentionSaved<T> scratch;  // inference still needs the statistics, per call
  FlowAttentionSaved<T>& st = saved ? *saved : scratch;
  const auto size = [](int64_t n) { return static_cast<size_t>(n); };
  const int64_t BH = cfg.B * cfg.H, noncausal = cfg.causal ? 0 : 1;
  st.sink_incoming.resize(size(BH * cfg.L));
  st.sink_allocation.resize(size(BH * cfg.L));
  st.source_outgoing.resize(size(BH * cfg.S));
  st.conserved_source.resize(size(BH * cfg.S));
  st.source_competition.resize(size(BH * cfg.S));
  st.key_sum.resize(size(noncausal * BH * cfg.D));
  st.query_sum.resize(size(noncausal * BH * cfg.D));
  st.source_flow.resize(size(noncausal * BH * cfg.D));
  st.sink_flow.resize(size(noncausal * BH * cfg.D));
  st.kv.resize(size(noncausal * BH * cfg.D * cfg.M));
  st.competition_prefix.resize(size((1 - noncausal) * BH * cfg.L));
  if (BH == 0 || cfg.L == 0) return;
  if (cfg.causal)
    causal_forward(cfg, q, k, v, y, st);
  else
    noncausal_forward(cfg, q, k, v, y, st);
}

template <class T>
void flow_attention_backward(const FlowKernelConfig& cfg, const T* q, const T* k, const T* v,
                             const T* grad_y, const FlowAttentionSaved<T>& saved, T* grad_q,
                             T* grad_k, T* grad_v) {
  if (cfg.causal)
    causal_backward(cfg, q, k, v, grad_y, saved, grad_q, grad_k, grad_v);
  else
    noncausal_backward(cfg, q, k, v, grad_y, saved, grad_q, grad_k, grad_v);
}

template void flow_attention_forward<float>(const FlowKernelConfig&, const float*, const float*,
                                            const float*, float*, FlowAttentionSaved<float>*);
template void flow_attention_forward<double>(const FlowKernelConfig&, const double*,
                                             const double*, const double*, double*,
                                             FlowAttentionSaved<double>*);
template void flow_attention_backward<float>(const FlowKernelConfig&, const float*, const float*,
                                             const float*, const float*,
                                             const FlowAttentionSaved<float>&, float*, float*,
                                             float*);
template void flow_attention_backward<double>(const FlowKernelConfig&, const double*,
                                              const double*, const double*, const double*,
                                              const FlowAttentionSaved<double>&, double*, double*,
                                              double*);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
