// Fused CPU kernels of Flow-Attention, non-causal (0.2) and causal (0.3), forward and
// analytic backward (0.6) side by side. Sections refer to /work/shared/BENCHMARKS.md.
//
// Not here: validation (ops/flow_attention.cpp), the composite oracle, CUDA.
//
// Dimension letters: B batch, H heads, L queries, S keys (S == L causal), D = head dim of
// q, k; M = head dim of v; Tc = causal chunk length. Per (b,h): q~ = phi(q), k~ = phi(k).
//
// Cost per (b,h): O((L+S)*D*M) flops and O((L+S)*(D+M)) memory (plus Tc*Tc + D*M scratch
// in the causal scan); never an L x S or L x D x M array. The big products go to OpenBLAS;
// everything else is a few fused passes over the rows, each inner loop running over D or M.
#include "ops/cpu/flow_attention_cpu.h"  // defines: flow_attention_forward, flow_attention_backward

#include <cblas.h>  // cblas_{s,d}gemm, openblas_{get,set}_num_threads

#include <algorithm>
#include <cassert>
#include <cmath>
#include <memory>
#include <type_traits>

#include "core/parallel.h"  // parallel_for, num_threads
#include "ops/cpu/flow_rows.h"  // dot, dot_eps, axpy, scale, sigmoid, feature_map(_grad)

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

using namespace flow_rows;

// ---------------------------------------------------------------------------------------
// BLAS and threads.

// c[m,n] = alpha * op(a) op(b) + beta * c, all row-major.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Holds OpenBLAS at one thread while our own pool covers the (b,h) loop: two pool threads
// each calling a 2-thread OpenBLAS ran 4x slower than one thread each here (2 cores).
class BlasSingleThreaded {
 public:
  explicit BlasSingleThreaded(bool active) : saved_(active ? openblas_get_num_threads() : 1) {
    if (saved_ > 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThreaded() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
  }
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

 private:
  int saved_;
};

// Calls body(bh, scratch) for every bh in [0, n_heads); scratch: [scratch_len] per thread,
// uninitialised (fresh pages are slow to touch here, so nothing is zero-filled twice).
template <class T, class F>
void for_each_head(int64_t n_heads, int64_t scratch_len, const F& body) {
  BlasSingleThreaded blas_guard(n_heads > 1 && num_threads() > 1);
  parallel_for(0, n_heads, 1, [&](int64_t begin, int64_t end) {
    CpuBuffer<T> scratch(static_cast<size_t>(std::max<int64_t>(scratch_len, 1)));
    for (int64_t bh = begin; bh < end; ++bh) body(bh, scratch.data());
  });
}

// ---------------------------------------------------------------------------------------
// One (b,h) slice: inputs and the saved statistics (Stat = T when the forward writes them,
// const T when the backward reads them).

template <class T, class Stat>
struct HeadSlice {
  const T* q;           // [L,D]
  const T* k;           // [S,D]
  const T* v;           // [S,M]
  const uint8_t* pad;   // [S] 1 = padded key, or null
  int64_t s_eff;        // valid keys of this batch row (S without a mask)
  Stat *I, *A;          // [L]
  Stat *O, *O_hat, *C;  // [S]
  Stat *k_sum, *q_sum;  // [D]   non-causal
  Stat *a, *b;          // [D]   non-causal
  Stat* kv;             // [D,M] non-causal
  Stat* D_prefix;       // [L]   causal
};

template <class T, class Saved>
auto head_slice(const FlowAttentionConfig& c, Saved& st, const T* q, const T* k, const T* v,
                int64_t bh) {
  using Stat = std::remove_pointer_t<decltype(st.sink_incoming.data())>;
  const int64_t b = bh / c.H;
  HeadSlice<T, Stat> h{};
  h.q = q + bh * c.L * c.D;
  h.k = k + bh * c.S * c.D;
  h.v = v + bh * c.S * c.M;
  h.pad = c.key_padding_mask ? c.key_padding_mask + b * c.S : nullptr;
  h.s_eff = c.S;
  if (h.pad)
    for (int64_t j = 0; j < c.S; ++j) h.s_eff -= h.pad[j] ? 1 : 0;
  h.I = st.sink_incoming.data() + bh * c.L;
  h.A = st.sink_allocation.data() + bh * c.L;
  h.O = st.source_outgoing.data() + bh * c.S;
  h.O_hat = st.conserved_source.data() + bh * c.S;
  h.C = st.source_competition.data() + bh * c.S;
  if (c.causal) {
    h.D_prefix = st.competition_prefix.data() + bh * c.L;
  } else {
    h.k_sum = st.key_sum.data() + bh * c.D;
    h.q_sum = st.query_sum.data() + bh * c.D;
    h.a = st.source_flow.data() + bh * c.D;
    h.b = st.sink_flow.data() + bh * c.D;
    h.kv = st.kv.data() + bh * c.D * c.M;
  }
  return h;
}

template <class Head>
bool padded(const Head& h, int64_t j) {
  return h.pad && h.pad[j];
}

// phi of all of q and of the valid keys (padded rows are zeroed so that garbage there can
// never reach KV through 0 * inf).
template <class T, class Stat>
void features(const FlowAttentionConfig& c, const HeadSlice<T, Stat>& h, T* qf /*[L,D]*/,
              T* kf /*[S,D]*/) {
  feature_map(c.feature_map, h.q, qf, c.L * c.D);
  feature_map(c.feature_map, h.k, kf, c.S * c.D);
  if (h.pad)
    for (int64_t j = 0; j < c.S; ++j)
      if (h.pad[j]) std::fill_n(kf + j * c.D, c.D, T(0));
}

// =======================================================================================
// Non-causal forward (0.2), in three phases so that the heads competition (0.5) can put a
// barrier between 1 (flow statistics) and 3 (output); 2 is the competition itself.

// Writes q~ = phi(q) into qf and k~ = phi(k) into kf on the way (fused with the sums).
template <class T>
void noncausal_stats(const FlowAttentionConfig& c, const HeadSlice<T, T>& h, T* qf /*[L,D]*/,
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
void compete_over_sequence(const FlowAttentionConfig& c, const HeadSlice<T, T>& h) {
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
void compete_over_heads(const FlowAttentionConfig& c, FlowAttentionSaved<T>& st) {
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
void noncausal_output(const FlowAttentionConfig& c, const HeadSlice<T, T>& h, T* qf, const T* kf,
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
void noncausal_forward(const FlowAttentionConfig& c, const T* q, const T* k, const T* v, T* y,
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
  if (c.competition == FlowCompetition::Sequence) {
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
  static int64_t size(const FlowAttentionConfig& c) {
    return 2 * c.L * c.D + 2 * c.S * c.D + c.D * c.M + 2 * c.L + 4 * c.D;
  }
  NoncausalGrads(const FlowAttentionConfig& c, T* ws)
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
void noncausal_grad_kv(const FlowAttentionConfig& c, const HeadSlice<T, const T>& h, const T* G,
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
void compete_backward(const FlowAttentionConfig& c, const T* C, const T* o_hat, T* g, int64_t n,
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
void noncausal_grad_qk(const FlowAttentionConfig& c, const HeadSlice<T, const T>& h, const T* G,
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
void noncausal_grad_v(const FlowAttentionConfig& c, const HeadSlice<T, const T>& h,
                      const NoncausalGrads<T>& w, T* grad_v /*[S,M]*/) {
  gemm<T>(false, false, c.S, c.M, c.D, 1, w.kf, c.D, w.gkv, c.M, 0, grad_v, c.M);
  for (int64_t j = 0; j < c.S; ++j) scale(h.C[j], grad_v + j * c.M, c.M);
}

template <class T>
void noncausal_backward(const FlowAttentionConfig& c, const T* q, const T* k, const T* v,
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
  if (c.competition == FlowCompetition::Sequence || !need_qk) {
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

// =======================================================================================
// Causal (0.3). One sequential pass builds the prefix statistics in O(L*D); the output is a
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
void causal_stats(const FlowAttentionConfig& c, const HeadSlice<T, T>& h, T* qf /*[L,D]*/,
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

template <class T>
void causal_forward(const FlowAttentionConfig& c, const T* q, const T* k, const T* v, T* y,
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
  static int64_t size(const FlowAttentionConfig& c) {
    return 4 * c.L * c.D + 2 * c.L * c.M + c.D * c.M + kChunk * kChunk + 5 * c.L + 4 * c.D;
  }
  CausalGrads(const FlowAttentionConfig& c, T* ws) {
    const int64_t L = c.L, D = c.D, M = c.M;
    qf = ws, kf = qf + L * D, gq = kf + L * D, gk = gq + L * D, cv = gk + L * D, gz = cv + L * M;
    state = gz + L * M, scores = state + D * M, gI = scores + kChunk * kChunk;
    g_ihat = gI + L, g_ohat = g_ihat + L, gu = g_ohat + L, gw = gu + L, vec = gw + L;
  }
};

template <class T>
void causal_backward_head(const FlowAttentionConfig& c, const HeadSlice<T, const T>& h,
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

template <class T>
void causal_backward(const FlowAttentionConfig& c, const T* q, const T* k, const T* v, const T* gy,
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

}  // namespace

// =======================================================================================

template <class T>
void flow_attention_forward(const FlowAttentionConfig& cfg, const T* q, const T* k, const T* v,
                            T* y, FlowAttentionSaved<T>* saved) {
  assert(!cfg.causal ||
         (cfg.L == cfg.S && !cfg.key_padding_mask && cfg.competition == FlowCompetition::Sequence));
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
void flow_attention_backward(const FlowAttentionConfig& cfg, const T* q, const T* k, const T* v,
                             const T* grad_y, const FlowAttentionSaved<T>& saved, T* grad_q,
                             T* grad_k, T* grad_v) {
  if (cfg.causal)
    causal_backward(cfg, q, k, v, grad_y, saved, grad_q, grad_k, grad_v);
  else
    noncausal_backward(cfg, q, k, v, grad_y, saved, grad_q, grad_k, grad_v);
}

template void flow_attention_forward<float>(const FlowAttentionConfig&, const float*, const float*,
                                            const float*, float*, FlowAttentionSaved<float>*);
template void flow_attention_forward<double>(const FlowAttentionConfig&, const double*,
                                             const double*, const double*, double*,
                                             FlowAttentionSaved<double>*);
template void flow_attention_backward<float>(const FlowAttentionConfig&, const float*, const float*,
                                             const float*, const float*,
                                             const FlowAttentionSaved<float>&, float*, float*,
                                             float*);
template void flow_attention_backward<double>(const FlowAttentionConfig&, const double*,
                                              const double*, const double*, const double*,
                                              const FlowAttentionSaved<double>&, double*, double*,
                                              double*);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
