// Fused CPU kernels of causal Flow-Attention (0.3): forward and analytic backward (0.6) side
// by side; the non-causal ones and the entry points are in ops/cpu/flow_attention_cpu.cpp.
// Sections refer to /work/shared/BENCHMARKS.md.
//
// Cost per (b,h): O(L*D*M) flops and O(L*(D+M)) memory plus Tc*Tc + D*M scratch: the prefix
// statistics in one pass, the output as a chunked scan; never the official L x D x M cumsum.
#include <cmath>

#include "ops/cpu/flow_attention_heads.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY::flow_heads {  // one copy per CPU capability
namespace {

// One sequential pass builds the prefix statistics in O(L*D); the output is a
// chunked linear-attention scan carrying a [D,M] state, so the official L x D x M cumsum is
// never formed. n_i = i+1.

constexpr int64_t kChunk = 32;  // Tc

// out_i = sum_{j<=i} (x_i.y_j) z_j (forward) or sum_{j>=i} (x_i.y_j) z_j (reverse), chunk by
// chunk: out_c = x_c state + mask(x_c y_c^T) z_c, then state += y_c^T z_c.
// x, y: [L,E]; z, out: [L,F]; state: [E,F] scratch; scores: [Tc,Tc] scratch.
template <class T>
void chunked_scan(bool reverse, int64_t L, int64_t E, int64_t F, const T* x, const T* y, const T* z,
                  T* out, T* state, T* scores) {
  const int64_t n_chunks = (L + kChunk - 1) / kChunk;
  for (int64_t n = 0; n < n_chunks; ++n) {
    const int64_t c0 = (reverse ? n_chunks - 1 - n : n) * kChunk, t = std::min(kChunk, L - c0);
    const T *xc = x + c0 * E, *yc = y + c0 * E, *zc = z + c0 * F;
    T* oc = out + c0 * F;
    gemm<T>(false, true, t, t, E, 1, xc, E, yc, E, 0, scores, t);
    for (int64_t i = 0; i < t; ++i) {
      if (reverse)
        std::fill_n(scores + i * t, i, T(0));
      else
        std::fill_n(scores + i * t + i + 1, t - i - 1, T(0));
    }
    if (n > 0) gemm<T>(false, false, t, F, E, 1, xc, E, state, F, 0, oc, F);
    gemm<T>(false, false, t, F, t, 1, scores, t, zc, F, n > 0 ? 1 : 0, oc, F);
    gemm<T>(true, false, E, F, t, 1, yc, E, zc, F, n > 0 ? 1 : 0, state, F);
  }
}

// I, O, O_hat (raw), A, C and D_prefix of 0.3 in one pass, writing q~, k~ into qf, kf on the
// way. sums: [4D] scratch.
template <class T>
void causal_stats(const FlowKernelConfig& c, const HeadSlice<T, T>& h, T* qf /*[L,D]*/,
                  T* kf /*[L,D]*/, T* sums) {
  const int64_t D = c.D;
  const T eps = T(c.eps), after = T(c.dot_offset());  // CV: each dot + eps, before the n scaling
  T *k_pre = sums, *q_pre = k_pre + D, *P = q_pre + D, *R = P + D;  // [D] prefix sums
  std::fill_n(sums, 4 * D, T(0));
  T e_pre = 0;
  for (int64_t i = 0; i < c.L; ++i) {
    T *qi = qf + i * D, *ki = kf + i * D;
    const T n = T(i + 1);
    feature_map(c.feature_map, h.q + i * D, qi, D);
    feature_map(c.feature_map, h.k + i * D, ki, D);
    axpy(T(1), ki, k_pre, D);
    axpy(T(1), qi, q_pre, D);
    h.I[i] = n / dot_eps(qi, k_pre, D, eps, after);
    h.O[i] = n / dot_eps(ki, q_pre, D, eps, after);
    axpy(h.O[i], ki, P, D);  // P_i - eps = sum_{j<=i} k~_j O_j
    axpy(h.I[i], qi, R, D);  // R_i - eps = sum_{j<=i} q~_j I_j
    h.A[i] = sigmoid(dot_eps(qi, P, D, eps, after) / n);
    h.O_hat[i] = dot_eps(ki, R, D, eps, after) / n;
    const T e = std::exp(clamp_source(c, h.O_hat[i]));  // no max-subtraction: official
    e_pre += e;
    h.D_prefix[i] = e_pre;
    h.C[i] = n * e / e_pre;
  }
}

}  // namespace

template <class T>
void causal_forward(const FlowKernelConfig& c, const T* q, const T* k, const T* v, T* y,
                    FlowAttentionSaved<T>& st) {
  const int64_t L = c.L, D = c.D, M = c.M;
  // qf, kf [L,D]; cv [L,M]; state [D,M]; scores [Tc,Tc]; sums [4D]
  const int64_t scratch = 2 * L * D + L * M + D * M + kChunk * kChunk + 4 * D;
  for_each_head<T>(c.B * c.H, scratch, [&](int64_t bh, T* ws) {
    const auto h = head_slice(c, st, q, k, v, bh);
    T *qf = ws, *kf = qf + L * D, *cv = kf + L * D, *state = cv + L * M;
    T *scores = state + D * M, *sums = scores + kChunk * kChunk;
    causal_stats(c, h, qf, kf, sums);
    for (int64_t i = 0; i < L; ++i) {
      scale(h.A[i] * h.I[i] / T(i + 1), qf + i * D, D);
      scale_into(h.C[i], h.v + i * M, cv + i * M, M);
    }
    chunked_scan(false, L, D, M, qf, kf, cv, y + bh * L * M, state, scores);
  });
}


namespace {

// Causal backward (0.6). Notation as in the non-causal one, with S_i = sum_{j<=i} k~_j (C_j v_j)^T
// and G_bar_j = sum_{i>=j} q~_i gz_i^T never formed: W_i = S_i G_i comes from a forward scan,
// V_j = G_bar_j v_j and h_j = G_bar_j^T k~_j from reverse scans.
template <class T>
struct CausalGrads {                  // per-thread scratch views of one (b,h)
  T *qf, *kf;                         // [L,D]
  T *cv, *gz;                         // [L,M] C v; A I/n G
  T *gq, *gk;                         // [L,D] d loss / d q~, k~
  T *state, *scores;                  // [D,M], [Tc,Tc]
  T *gI, *g_ihat, *g_ohat, *gu, *gw;  // [L] each
  T* vec;                             // [4D]
  static int64_t size(const FlowKernelConfig& c) {
    return 4 * c.L * c.D + 2 * c.L * c.M + c.D * c.M + kChunk * kChunk + 5 * c.L + 4 * c.D;
  }
  CausalGrads(const FlowKernelConfig& c, T* ws) {
    const int64_t L = c.L, D = c.D, M = c.M;
    qf = ws, kf = qf + L * D, gq = kf + L * D, gk = gq + L * D, cv = gk + L * D, gz = cv + L * M;
    state = gz + L * M, scores = state + D * M, gI = scores + kChunk * kChunk;
    g_ihat = gI + L, g_ohat = g_ihat + L, gu = g_ohat + L, gw = gu + L, vec = gw + L;
  }
};

template <class T>
void causal_backward_head(const FlowKernelConfig& c, const HeadSlice<T, const T>& h,
                          const T* G /*[L,M]*/, CausalGrads<T>& w, T* grad_q, T* grad_k,
                          T* grad_v) {
  const int64_t L = c.L, D = c.D, M = c.M;
  const T eps = T(c.eps);
  features(c, h, w.qf, w.kf);
  for (int64_t i = 0; i < L; ++i) {
    scale_into(h.C[i], h.v + i * M, w.cv + i * M, M);
    scale_into(h.A[i] * h.I[i] / T(i + 1), G + i * M, w.gz + i * M, M);
  }
  if (grad_v) {  // gv_j = C_j h_j
    chunked_scan(true, L, D, M, w.kf, w.qf, w.gz, grad_v, w.state, w.scores);
    for (int64_t j = 0; j < L; ++j) scale(h.C[j], grad_v + j * M, M);
  }
  if (!grad_q && !grad_k) return;
  // y_i = A_i (I_i/n_i) q~_i^T S_i: gq gets A I/n W_i, r_i = q~_i.W_i feeds gA and gI
  chunked_scan(false, L, M, D, G, w.cv, w.kf, w.gq, w.state, w.scores);
  for (int64_t i = 0; i < L; ++i) {
    const T n = T(i + 1), A = h.A[i], I_n = h.I[i] / n;
    T* gqi = w.gq + i * D;
    const T r = dot(w.qf + i * D, gqi, D);
    w.gI[i] = A * r / n;
    w.g_ihat[i] = I_n * r * A * (T(1) - A);
    scale(A * I_n, gqi, D);
  }
  // KV path into k~ and C: gk_j = C_j V_j, gC_j = k~_j.V_j
  chunked_scan(true, L, M, D, h.v, w.gz, w.qf, w.gk, w.state, w.scores);
  for (int64_t j = 0; j < L; ++j) {
    w.g_ohat[j] = dot(w.kf + j * D, w.gk + j * D, D);
    scale(h.C[j], w.gk + j * D, D);
  }
  // C_i = n_i E_i / D_i: gE_j = gC_j n_j / D_j - sum_{i>=j} gC_i C_i / D_i; then exp and clamp
  T tail = 0;
  for (int64_t j = L - 1; j >= 0; --j) {
    const T gC = w.g_ohat[j];
    tail += gC * h.C[j] / h.D_prefix[j];
    const T gE = gC * T(j + 1) / h.D_prefix[j] - tail;
    const T o_hat = h.O_hat[j];
    w.g_ohat[j] = clamp_passes(c, o_hat) ? gE * std::exp(clamp_source(c, o_hat)) : T(0);
  }
  // Reverse sweep, suffix sums: P_bar (through I_hat), R_bar (through O_hat),
  // U_bar = sum gu (q~+eps) (through K~), W_bar = sum gw (k~+eps) (through Q~).
  T *P_bar = w.vec, *R_bar = P_bar + D, *U_bar = R_bar + D, *W_bar = U_bar + D;
  std::fill_n(w.vec, 4 * D, T(0));
  for (int64_t j = L - 1; j >= 0; --j) {
    const T n = T(j + 1), I = h.I[j], O = h.O[j];
    const T *qj = w.qf + j * D, *kj = w.kf + j * D;
    axpy(w.g_ihat[j] / n, qj, P_bar, D, eps);
    axpy(w.g_ohat[j] / n, kj, R_bar, D, eps);
    const T gO = dot(kj, P_bar, D);
    const T gI = w.gI[j] + dot(qj, R_bar, D);
    w.gu[j] = -gI * I * I / n;  // I = n/u
    w.gw[j] = -gO * O * O / n;  // O = n/w
    axpy(w.gu[j], qj, U_bar, D, eps);
    axpy(w.gw[j], kj, W_bar, D, eps);
    T *gqj = w.gq + j * D, *gkj = w.gk + j * D;
    for_lanes<T>(D, [=](int64_t d) {
      gkj[d] += O * P_bar[d] + U_bar[d];
      gqj[d] += I * R_bar[d] + W_bar[d];
    });
  }
  // Forward sweep, prefix sums again (K~, Q~, P, R): the terms that multiply them.
  T *k_pre = w.vec, *q_pre = k_pre + D, *P = q_pre + D, *R = P + D;
  std::fill_n(w.vec, 4 * D, T(0));
  for (int64_t i = 0; i < L; ++i) {
    const T n = T(i + 1);
    const T *qi = w.qf + i * D, *ki = w.kf + i * D;
    axpy(T(1), ki, k_pre, D);
    axpy(T(1), qi, q_pre, D);
    axpy(h.O[i], ki, P, D);
    axpy(h.I[i], qi, R, D);
    const T gP = w.g_ihat[i] / n, gR = w.g_ohat[i] / n, gu = w.gu[i], gw = w.gw[i];
    T *gqi = w.gq + i * D, *gki = w.gk + i * D;
    for_lanes<T>(D, [=](int64_t d) {
      gqi[d] += gP * (P[d] + eps) + gu * (k_pre[d] + eps);
      gki[d] += gR * (R[d] + eps) + gw * (q_pre[d] + eps);
    });
  }
  if (grad_q) feature_map_grad(c.feature_map, h.q, w.qf, w.gq, grad_q, L * D);
  if (grad_k) feature_map_grad(c.feature_map, h.k, w.kf, w.gk, grad_k, L * D);
}

}  // namespace

template <class T>
void causal_backward(const FlowKernelConfig& c, const T* q, const T* k, const T* v, const T* gy,
                     const FlowAttentionSaved<T>& st, T* grad_q, T* grad_k, T* grad_v) {
  const int64_t L = c.L, D = c.D, M = c.M;
  for_each_head<T>(c.B * c.H, CausalGrads<T>::size(c), [&](int64_t bh, T* ws) {
    CausalGrads<T> w(c, ws);
    causal_backward_head(c, head_slice(c, st, q, k, v, bh), gy + bh * L * M, w,
                         grad_q ? grad_q + bh * L * D : nullptr,
                         grad_k ? grad_k + bh * L * D : nullptr,
                         grad_v ? grad_v + bh * L * M : nullptr);
  });
}

template void causal_forward<float>(const FlowKernelConfig&, const float*, const float*, const float*, float*,
                                    FlowAttentionSaved<float>&);
template void causal_forward<double>(const FlowKernelConfig&, const double*, const double*, const double*,
                                     double*, FlowAttentionSaved<double>&);
template void causal_backward<float>(const FlowKernelConfig&, const float*, const float*, const float*,
                                     const float*, const FlowAttentionSaved<float>&, float*, float*, float*);
template void causal_backward<double>(const FlowKernelConfig&, const double*, const double*, const double*,
                                      const double*, const FlowAttentionSaved<double>&, double*, double*, double*);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY::flow_heads
