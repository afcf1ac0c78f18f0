// Fused CUDA Flow-Attention, causal (BENCHMARKS.md 0.3) forward and analytic backward (0.6)
// side by side. CPU twin: the causal half of ops/cpu/flow_attention_cpu.cpp, whose structure
// this mirrors: one sequential pass for the prefix statistics, and a chunked linear-attention
// scan carrying a [E,F] running state instead of the official [L,D,M] cumsum.
//
// Letters as in flow_attention.cuh; here S == L, n_i = i + 1, Tc = kChunk. Memory per call:
// the state is O(L) per (b,h); scratch is [BH,L,D] / [BH,L,M] buffers plus one [E,F] scan
// state and one [4,D] sweep vector per resident block (never L x D x M).
//
// Launch shapes:
//   causal_scan ....... one block (kThreads) per (b,h), sequential over the L/Tc chunks; per
//                       chunk: masked [Tc,Tc] scores in shared memory, then the chunk's output
//                       rows (thread per (row, f)), then the state update (thread per (e, f));
//                       __syncthreads between the three steps.
//   causal_stats, causal_sweeps
//                 ..... one warp (a 32-thread block) per (b,h), sequential over the L positions;
//                       lane l owns components d = l, l+32, ... of the running D-vectors (it
//                       alone zeroes, reads and writes them, so the lanes need no barrier for
//                       them), dot products are butterfly warp sums.
//   query/key rows .... one warp per row; shared kernels: flow_attention.cuh.
#include "cuda/flow_attention.cuh"

namespace cfx::cuda::flow {
namespace {

constexpr int kChunk = 32;  // Tc

// out_i = sum_{j<=i} (x_i.y_j) z_j (forward) or sum_{j>=i} (x_i.y_j) z_j (reverse) for each
// (b,h), chunk by chunk: out_c = x_c state + mask(x_c y_c^T) z_c, then state += y_c^T z_c.
// x, y: [BH,L,E]; z, out: [BH,L,F]; states: [gridDim.x, E, F] scratch (one per block).
template <class T>
__global__ void causal_scan_kernel(int64_t BH, int64_t L, int64_t E, int64_t F, bool reverse, const T* x, const T* y,
                                   const T* z, T* out, T* states) {
  __shared__ T scores[kChunk][kChunk + 1];
  const int t = threadIdx.x;
  T* state = states + static_cast<int64_t>(blockIdx.x) * E * F;
  const int64_t n_chunks = (L + kChunk - 1) / kChunk;
  for (int64_t bh = blockIdx.x; bh < BH; bh += gridDim.x) {  // uniform per block
    const T *xb = x + bh * L * E, *yb = y + bh * L * E, *zb = z + bh * L * F;
    T* ob = out + bh * L * F;
    for (int64_t p = t; p < E * F; p += kThreads) state[p] = T(0);
    __syncthreads();
    for (int64_t n = 0; n < n_chunks; ++n) {
      const int64_t c0 = (reverse ? n_chunks - 1 - n : n) * kChunk;
      const int tc = static_cast<int>(min(static_cast<int64_t>(kChunk), L - c0));
      // 1. scores[i][j] = x_{c0+i}.y_{c0+j} where j <= i (forward) / j >= i (reverse), else 0
      for (int p = t; p < tc * tc; p += kThreads) {
        const int i = p / tc, j = p % tc;
        T sc = 0;
        if (reverse ? j >= i : j <= i) {
          const T *xi = xb + (c0 + i) * E, *yj = yb + (c0 + j) * E;
          for (int64_t e = 0; e < E; ++e) sc += xi[e] * yj[e];
        }
        scores[i][j] = sc;
      }
      __syncthreads();
      // 2. out_{c0+i} = x_{c0+i}^T state + sum_j scores[i][j] z_{c0+j}
      for (int64_t p = t; p < tc * F; p += kThreads) {
        const int64_t i = p / F, f = p % F;
        const T* xi = xb + (c0 + i) * E;
        T acc = 0;
        for (int64_t e = 0; e < E; ++e) acc += xi[e] * state[e * F + f];
        for (int j = 0; j < tc; ++j) acc += scores[i][j] * zb[(c0 + j) * F + f];
        ob[(c0 + i) * F + f] = acc;
      }
      __syncthreads();  // every read of the state is done before it changes
      // 3. state += y_c^T z_c
      for (int64_t p = t; p < E * F; p += kThreads) {
        const int64_t e = p / F, f = p % F;
        T acc = state[p];
        for (int j = 0; j < tc; ++j) acc += yb[(c0 + j) * E + e] * zb[(c0 + j) * F + f];
        state[p] = acc;
      }
      __syncthreads();  // the new state (global memory) is visible to the whole block
    }
  }
}

template <class T>
void causal_scan(OnDevice& on, const Config& c, int64_t E, int64_t F, bool reverse, const T* x, const T* y,
                 const T* z, T* out, const Tensor& like) {
  const unsigned grid = blocks_for(c.BH(), 1);
  Tensor states = buffer(like, {static_cast<int64_t>(grid), E, F});
  causal_scan_kernel<T><<<grid, kThreads, 0, on.stream()>>>(c.BH(), c.L, E, F, reverse, x, y, z, out, ptr<T>(states));
  CFX_CUDA_CHECK_LAUNCH();
}

// I, O, O_hat (raw), A, D_prefix and C of 0.3 in one sequential pass per (b,h):
//   K~_i, Q~_i prefix sums; I_i = n/((q~_i+eps).(K~_i+eps)); O_i = n/((k~_i+eps).(Q~_i+eps));
//   P_i = sum_{j<=i} k~_j O_j; R_i = sum_{j<=i} q~_j I_j; A_i = sigma((q~_i+eps).(P_i+eps)/n);
//   O_hat_i = (k~_i+eps).(R_i+eps)/n; E_i = exp(clamp(O_hat_i)) (no max-subtraction: official);
//   D_i = sum_{j<=i} E_j; C_i = n E_i / D_i.
// vecs: [gridDim.x, 4, D] scratch (K~, Q~, P, R of the current (b,h)).
template <class T>
__global__ void causal_stats_kernel(int64_t BH, int64_t L, int64_t D, T eps, bool has_clamp, T clamp, const T* qf,
                                    const T* kf, T* I, T* O, T* O_hat, T* A, T* D_prefix, T* C, T* vecs) {
  const int lane = threadIdx.x;
  T* k_pre = vecs + static_cast<int64_t>(blockIdx.x) * 4 * D;
  T *q_pre = k_pre + D, *P = q_pre + D, *R = P + D;
  for (int64_t bh = blockIdx.x; bh < BH; bh += gridDim.x) {
    for (int64_t d = lane; d < D; d += 32) k_pre[d] = q_pre[d] = P[d] = R[d] = T(0);  // by their owner lane
    T e_pre = 0;  // identical in every lane
    for (int64_t i = 0; i < L; ++i) {
      const int64_t row = bh * L + i;
      const T n = T(i + 1);
      const T *qi = qf + row * D, *ki = kf + row * D;
      T pu = 0, pw = 0;
      for (int64_t d = lane; d < D; d += 32) {
        k_pre[d] += ki[d];
        q_pre[d] += qi[d];
        pu += (qi[d] + eps) * (k_pre[d] + eps);
        pw += (ki[d] + eps) * (q_pre[d] + eps);
      }
      const T Ii = n / warp_sum(pu), Oi = n / warp_sum(pw);
      T pa = 0, po = 0;
      for (int64_t d = lane; d < D; d += 32) {
        P[d] += Oi * ki[d];
        R[d] += Ii * qi[d];
        pa += (qi[d] + eps) * (P[d] + eps);
        po += (ki[d] + eps) * (R[d] + eps);
      }
      const T Ai = d_sigmoid(warp_sum(pa) / n), ohat = warp_sum(po) / n;
      const T e = d_exp(clamp_source(has_clamp, clamp, ohat));
      e_pre += e;
      if (lane == 0) {
        I[row] = Ii, O[row] = Oi, A[row] = Ai, O_hat[row] = ohat;
        D_prefix[row] = e_pre;
        C[row] = n * e / e_pre;
      }
    }
  }
}

// Queries: W = S_i G_i in (from the forward scan), r = q~.W, gI = A r / n,
// g_ihat = (I/n) r A (1 - A), W <- A (I/n) W.
template <class T>
__global__ void causal_query_grad(int64_t rows, int64_t L, int64_t D, const T* qf, const T* A, const T* I, T* W, T* gI,
                                  T* g_ihat) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const T *qi = qf + row * D;
    T* wi = W + row * D;
    T part = 0;
    for (int64_t d = lane; d < D; d += 32) part += qi[d] * wi[d];
    const T r = warp_sum(part);
    const T n = T(row % L + 1), Ai = A[row], I_n = I[row] / n;
    if (lane == 0) gI[row] = Ai * r / n, g_ihat[row] = I_n * r * Ai * (T(1) - Ai);
    for (int64_t d = lane; d < D; d += 32) wi[d] *= Ai * I_n;
  }
}

// Keys: V = G_bar v in (from the reverse scan), gC = k~.V (into g_ohat), V <- C V.
template <class T>
__global__ void causal_key_grad(int64_t rows, int64_t D, const T* kf, const T* C, T* V, T* gC) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const T* kj = kf + row * D;
    T* vj = V + row * D;
    T part = 0;
    for (int64_t d = lane; d < D; d += 32) part += kj[d] * vj[d];
    const T g = warp_sum(part);
    if (lane == 0) gC[row] = g;
    const T Cj = C[row];
    for (int64_t d = lane; d < D; d += 32) vj[d] *= Cj;
  }
}

// The sequential rest of 0.6 for one (b,h), in the CPU's three sweeps:
// (1) competition, reverse (lane 0): gE_j = gC_j n_j / D_j - sum_{i>=j} gC_i C_i / D_i,
//     gO_hat_raw_j = [clamp passes] gE_j E_j  (in place on g_ohat);
// (2) reverse, suffix sums P_bar, R_bar, U_bar, W_bar: gu, gw and their gk/gq terms;
// (3) forward, prefix sums K~, Q~, P, R again: the terms that multiply them.
// gu, gw: [BH,L] scratch; vecs: [gridDim.x, 4, D] scratch.
template <class T>
__global__ void causal_sweeps_kernel(int64_t BH, int64_t L, int64_t D, T eps, bool has_clamp, T clamp, const T* qf,
                                     const T* kf, const T* I, const T* O, const T* O_hat, const T* C,
                                     const T* D_prefix, const T* gI, const T* g_ihat, T* g_ohat, T* gu, T* gw, T* gq,
                                     T* gk, T* vecs) {
  const int lane = threadIdx.x;
  T* v0 = vecs + static_cast<int64_t>(blockIdx.x) * 4 * D;
  T *v1 = v0 + D, *v2 = v1 + D, *v3 = v2 + D;
  for (int64_t bh = blockIdx.x; bh < BH; bh += gridDim.x) {
    const int64_t row0 = bh * L;
    if (lane == 0) {
      T tail = 0;
      for (int64_t j = L - 1; j >= 0; --j) {
        const int64_t row = row0 + j;
        const T gC = g_ohat[row];
        tail += gC * C[row] / D_prefix[row];
        const T gE = gC * T(j + 1) / D_prefix[row] - tail;
        const T oh = O_hat[row];
        g_ohat[row] = clamp_passes(has_clamp, clamp, oh) ? gE * d_exp(clamp_source(has_clamp, clamp, oh)) : T(0);
      }
    }
    __syncwarp();  // lane 0's g_ohat is visible to the warp
    T *P_bar = v0, *R_bar = v1, *U_bar = v2, *W_bar = v3;
    for (int64_t d = lane; d < D; d += 32) P_bar[d] = R_bar[d] = U_bar[d] = W_bar[d] = T(0);
    for (int64_t j = L - 1; j >= 0; --j) {
      const int64_t row = row0 + j;
      const T n = T(j + 1), Ij = I[row], Oj = O[row], gP = g_ihat[row] / n, gR = g_ohat[row] / n;
      const T *qj = qf + row * D, *kj = kf + row * D;
      T po = 0, pi = 0;
      for (int64_t d = lane; d < D; d += 32) {
        P_bar[d] += gP * (qj[d] + eps);
        R_bar[d] += gR * (kj[d] + eps);
        po += kj[d] * P_bar[d];
        pi += qj[d] * R_bar[d];
      }
      const T gO = warp_sum(po), gIt = gI[row] + warp_sum(pi);
      const T guj = -gIt * Ij * Ij / n;  // I = n/u
      const T gwj = -gO * Oj * Oj / n;   // O = n/w
      if (lane == 0) gu[row] = guj, gw[row] = gwj;
      T *gqj = gq + row * D, *gkj = gk + row * D;
      for (int64_t d = lane; d < D; d += 32) {
        U_bar[d] += guj * (qj[d] + eps);
        W_bar[d] += gwj * (kj[d] + eps);
        gkj[d] += Oj * P_bar[d] + U_bar[d];
        gqj[d] += Ij * R_bar[d] + W_bar[d];
      }
    }
    __syncwarp();  // lane 0's gu, gw are visible to the warp
    T *k_pre = v0, *q_pre = v1, *P = v2, *R = v3;
    for (int64_t d = lane; d < D; d += 32) k_pre[d] = q_pre[d] = P[d] = R[d] = T(0);
    for (int64_t i = 0; i < L; ++i) {
      const int64_t row = row0 + i;
      const T n = T(i + 1), Oi = O[row], Ii = I[row];
      const T gP = g_ihat[row] / n, gR = g_ohat[row] / n, gui = gu[row], gwi = gw[row];
      const T *qi = qf + row * D, *ki = kf + row * D;
      T *gqi = gq + row * D, *gki = gk + row * D;
      for (int64_t d = lane; d < D; d += 32) {
        k_pre[d] += ki[d];
        q_pre[d] += qi[d];
        P[d] += Oi * ki[d];
        R[d] += Ii * qi[d];
        gqi[d] += gP * (P[d] + eps) + gui * (k_pre[d] + eps);
        gki[d] += gR * (R[d] + eps) + gwi * (q_pre[d] + eps);
      }
    }
    __syncwarp();  // before the next (b,h) reuses the scratch
  }
}

template <class T>
void causal_forward_t(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& y,
                      CudaFlowState& st) {
  const int64_t BH = c.BH(), L = c.L, D = c.D, M = c.M;
  OnDevice on(q.device());
  const cudaStream_t s = on.stream();
  st.I = buffer(q, {BH, L}), st.A = buffer(q, {BH, L}), st.O = buffer(q, {BH, L});
  st.O_hat = buffer(q, {BH, L}), st.C = buffer(q, {BH, L}), st.D_prefix = buffer(q, {BH, L});
  Tensor qf = buffer(q, {BH, L, D}), kf = buffer(q, {BH, L, D}), cv = buffer(q, {BH, L, M});
  features<T>(s, c, L, q, nullptr, qf);
  features<T>(s, c, L, k, nullptr, kf);
  const unsigned grid = blocks_for(BH, 1);
  Tensor vecs = buffer(q, {static_cast<int64_t>(grid), 4 * D});
  causal_stats_kernel<T><<<grid, 32, 0, s>>>(BH, L, D, T(c.eps), c.has_clamp, T(c.clamp), ptr<T>(qf), ptr<T>(kf),
                                             ptr<T>(st.I), ptr<T>(st.O), ptr<T>(st.O_hat), ptr<T>(st.A),
                                             ptr<T>(st.D_prefix), ptr<T>(st.C), ptr<T>(vecs));
  CFX_CUDA_CHECK_LAUNCH();
  // y_i = (A_i I_i / n_i) q~_i^T sum_{j<=i} k~_j (C_j v_j)^T
  scale_rows<T>(s, c, L, D, ptr<T>(st.A), ptr<T>(st.I), true, nullptr, ptr<T>(qf), ptr<T>(qf));
  scale_rows<T>(s, c, L, M, ptr<T>(st.C), nullptr, false, nullptr, ptr<T>(v), ptr<T>(cv));
  causal_scan<T>(on, c, D, M, false, ptr<T>(qf), ptr<T>(kf), ptr<T>(cv), ptr<T>(y), q);
}

// Notation of the CPU's causal_backward_head: S_i = sum_{j<=i} k~_j (C_j v_j)^T and
// G_bar_j = sum_{i>=j} q~_i gz_i^T are never formed: W_i = S_i G_i comes from a forward scan,
// V_j = G_bar_j v_j and h_j = G_bar_j^T k~_j from reverse scans.
template <class T>
void causal_backward_t(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gy,
                       const CudaFlowState& st, Tensor& grad_q, Tensor& grad_k, Tensor& grad_v) {
  const int64_t BH = c.BH(), L = c.L, D = c.D, M = c.M;
  OnDevice on(q.device());
  const cudaStream_t s = on.stream();
  Tensor qf = buffer(q, {BH, L, D}), kf = buffer(q, {BH, L, D});
  Tensor cv = buffer(q, {BH, L, M}), gz = buffer(q, {BH, L, M});  // C v; (A I / n) G
  features<T>(s, c, L, q, nullptr, qf);
  features<T>(s, c, L, k, nullptr, kf);
  scale_rows<T>(s, c, L, M, ptr<T>(st.C), nullptr, false, nullptr, ptr<T>(v), ptr<T>(cv));
  scale_rows<T>(s, c, L, M, ptr<T>(st.A), ptr<T>(st.I), true, nullptr, ptr<T>(gy), ptr<T>(gz));
  if (grad_v.defined()) {  // gv_j = C_j h_j, h_j = sum_{i>=j} (k~_j.q~_i) gz_i
    causal_scan<T>(on, c, D, M, true, ptr<T>(kf), ptr<T>(qf), ptr<T>(gz), ptr<T>(grad_v), q);
    scale_rows<T>(s, c, L, M, ptr<T>(st.C), nullptr, false, nullptr, ptr<T>(grad_v), ptr<T>(grad_v));
  }
  if (!grad_q.defined() && !grad_k.defined()) return;
  Tensor gq = buffer(q, {BH, L, D}), gk = buffer(q, {BH, L, D});
  Tensor gI = buffer(q, {BH, L}), g_ihat = buffer(q, {BH, L}), g_ohat = buffer(q, {BH, L});
  Tensor gu = buffer(q, {BH, L}), gw = buffer(q, {BH, L});
  const unsigned row_blocks = blocks_for(BH * L, kWarpsPerBlock);
  // y_i = A_i (I_i/n_i) q~_i^T S_i: W_i = S_i G_i, then gA/gI through r_i = q~_i.W_i
  causal_scan<T>(on, c, M, D, false, ptr<T>(gy), ptr<T>(cv), ptr<T>(kf), ptr<T>(gq), q);
  causal_query_grad<T><<<row_blocks, kThreads, 0, s>>>(BH * L, L, D, ptr<T>(qf), ptr<T>(st.A), ptr<T>(st.I),
                                                       ptr<T>(gq), ptr<T>(gI), ptr<T>(g_ihat));
  CFX_CUDA_CHECK_LAUNCH();
  // KV path into k~ and C: V_j = sum_{i>=j} (v_j.gz_i) q~_i; gk_j = C_j V_j, gC_j = k~_j.V_j
  causal_scan<T>(on, c, M, D, true, ptr<T>(v), ptr<T>(gz), ptr<T>(qf), ptr<T>(gk), q);
  causal_key_grad<T><<<row_blocks, kThreads, 0, s>>>(BH * L, D, ptr<T>(kf), ptr<T>(st.C), ptr<T>(gk), ptr<T>(g_ohat));
  CFX_CUDA_CHECK_LAUNCH();
  const unsigned grid = blocks_for(BH, 1);
  Tensor vecs = buffer(q, {static_cast<int64_t>(grid), 4 * D});
  causal_sweeps_kernel<T><<<grid, 32, 0, s>>>(BH, L, D, T(c.eps), c.has_clamp, T(c.clamp), ptr<T>(qf), ptr<T>(kf),
                                              ptr<T>(st.I), ptr<T>(st.O), ptr<T>(st.O_hat), ptr<T>(st.C),
                                              ptr<T>(st.D_prefix), ptr<T>(gI), ptr<T>(g_ihat), ptr<T>(g_ohat),
                                              ptr<T>(gu), ptr<T>(gw), ptr<T>(gq), ptr<T>(gk), ptr<T>(vecs));
  CFX_CUDA_CHECK_LAUNCH();
  if (grad_q.defined()) feature_grad<T>(s, c, L, q, qf, gq, nullptr, nullptr, grad_q);
  if (grad_k.defined()) feature_grad<T>(s, c, L, k, kf, gk, nullptr, nullptr, grad_k);
}

}  // namespace

void causal_forward(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& y, CudaFlowState& st) {
  visit_floating(q.dtype(), "flow_attention", [&]<class T>() { causal_forward_t<T>(c, q, k, v, y, st); });
}

void causal_backward(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gy,
                     const CudaFlowState& st, Tensor& grad_q, Tensor& grad_k, Tensor& grad_v) {
  visit_floating(q.dtype(), "flow_attention backward",
                 [&]<class T>() { causal_backward_t<T>(c, q, k, v, gy, st, grad_q, grad_k, grad_v); });
}

}  // namespace cfx::cuda::flow
