// Fused CUDA Flow-Attention, causal (BENCHMARKS.md 0.3) forward and analytic backward (0.6)
// side by side. CPU twin: ops/cpu/flow_attention_causal_cpu.cpp. Same formulas and
// semantics; the CPU walks each (b,h) sequentially over L, here every step is parallel over L:
//
//   prefix_scan ...... inclusive/exclusive prefix (or suffix) sums over the L axis of a
//                      [BH,L,W] array, in three phases over chunks of Cs rows. Every running
//                      D-vector of the CPU's sweeps (K~, Q~, P, R, P_bar, R_bar, U_bar, W_bar),
//                      the competition's D_prefix and tail sums, and the chunk states of
//                      causal_scan are prefix_scans.
//   causal_scan ...... out_i = sum_{j<=i} (x_i.y_j) z_j (or j>=i), chunk-parallel: chunk states
//                      y_c^T z_c (cuBLAS), an exclusive prefix_scan of them over the chunks, then
//                      out_c = x_c state_c + mask(x_c y_c^T) z_c (cuBLAS + a mask kernel).
//   row kernels ...... everything pointwise in the row index (I, O, A, O_hat, C, gu, gw, the
//                      gq/gk updates): one warp per row (dots over D) or one thread per element.
//
// Letters as in flow_attention.cuh; here S == L, n_i = i + 1; E, F the widths of a causal_scan's
// x/y and z/out (D and M, in either order). Tc = kChunk (causal_scan), Cs (prefix_scan).
//
// Launch shapes (kThreads = 256, grid-stride loops everywhere):
//   prefix_scan, Cs = max(16, ceil(L/256)), nc = ceil(L/Cs) <= 256 chunks:
//     1. scan_totals ... thread per (bh, chunk, w): sums its chunk's Cs rows (w fastest, so a
//                        warp reads consecutive w: coalesced);
//     2. scan_offsets .. block (32 w x 16 segments) per (w-tile of 32, bh): each thread sums a
//                        segment of <= 16 chunk totals, the 16 segment sums are combined in
//                        shared memory, then each thread rewrites its totals as exclusive
//                        offsets (skipped when nc == 1);
//     3. scan_apply .... thread per (bh, chunk, w): offset + running sum over its chunk's rows.
//   causal_scan, Tc = min(L, 64), nc = ceil(L/Tc), batch N = BH*nc:
//     states [N,E,F] = y_c^T z_c (GEMM), exclusive prefix_scan over the chunks (W = E*F),
//     out [N,Tc,F] = x_c state_c (GEMM), scores [N,Tc,Tc] = x_c y_c^T (GEMM), mask kernel
//     (thread per score), out += scores z_c (GEMM). Rows are padded with zeros to Lp = nc*Tc in
//     scratch copies when L % Tc != 0 (cuBLAS needs one batch stride over (bh, chunk)).
//   row kernels ....... one warp per row, 8 per block (lanes over D, butterfly warp sums), or
//                       one thread per element; shared ones in flow_attention.cuh.
//
// Memory per call, in elements of the dtype; nc = ceil(L/Tc), Lp = nc Tc. Never L x L, never
// L x D x M: every term is linear in L.
//   saved state ....... 6 BH L (I, A, O, O_hat, C, D_prefix);
//   prefix_scan ....... BH ceil(L/Cs) W chunk totals (<= 256 BH W; none when L <= 16);
//   causal_scan ....... BH nc max(E F, Tc^2) (the chunk states are freed before the scores are
//                       made) + the states' prefix_scan totals (<= BH nc E F / 16 + BH E F),
//                       + BH Lp (2E + 2F) zero-padded copies when L % Tc != 0;
//   forward ........... 2 BH L D (q~, k~) + max(2 BH L D (the statistics' scan outputs),
//                       BH L M (C v) + causal_scan);
//   backward .......... 4 BH L D (q~, k~, gq, gk) + 6 BH L + max(2 BH L M (C v, gz) + causal_scan,
//                       2 BH L D (the reverse sweep's P_bar, R_bar)).
// With D = M = Tc = 64 the backward's peak is about 7 BH L D (causal_scan: BH L Tc).
#include "cuda/flow_attention.cuh"

namespace cfx::cuda::flow {
namespace {

// ---- prefix_scan: chunked prefix / suffix sums over L ---------------------------------------

// out[bh, r, w] (+)= so[bh, r] * (sum_{j in win(r)} si[bh, j] (x[bh, j, w] + shift_in) + shift_out)
// with win(r) = {j <= r} (forward) or {j >= r} (reverse), r itself left out when exclusive.
// si, so: [BH, L] or null (1). The term and the shifts are formed as the CPU's axpy(si, x, ., shift)
// and its "(P + eps)" reads. out may be x (each thread reads x[r] before it writes out[r]).
template <class T>
struct Scan {
  int64_t BH = 0, L = 0, W = 0;
  bool reverse = false, exclusive = false, accumulate = false;
  const T* x = nullptr;
  const T* scale_in = nullptr;
  T shift_in = 0;
  const T* scale_out = nullptr;
  T shift_out = 0;
  T* out = nullptr;

  __device__ T term(int64_t row, int64_t w) const {
    const T xv = x[row * W + w] + shift_in;
    return scale_in ? scale_in[row] * xv : xv;
  }
};

constexpr int64_t kScanChunks = 256;  // at most this many chunks per (b,h) ...
constexpr int64_t kScanMinChunk = 16;  // ... of at least this many rows
constexpr int kScanX = 32, kScanY = 16;  // scan_offsets block: w x segments

// Phase 1: totals[bh, c, w] = sum of the terms of chunk c (rows [c Cs, (c+1) Cs) of L).
template <class T>
__global__ void scan_totals_kernel(Scan<T> p, int64_t Cs, int64_t nc, T* totals) {
  const int64_t total = p.BH * nc * p.W;
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t w = e % p.W, c = (e / p.W) % nc, bh = e / (p.W * nc);
    const int64_t r1 = min(p.L, (c + 1) * Cs);
    T acc = 0;
    for (int64_t r = c * Cs; r < r1; ++r) acc += p.term(bh * p.L + r, w);
    totals[e] = acc;
  }
}

// Phase 2, in place: totals[bh, c, w] <- sum of the totals of the chunks before c (after c when
// reverse). The nc chunks of one column are split into kScanY segments, one per threadIdx.y:
// segment sums, their exclusive combination in shared memory, then a walk of each segment.
template <class T>
__global__ void scan_offsets_kernel(int64_t BH, int64_t nc, int64_t W, bool reverse, T* totals) {
  __shared__ T part[kScanY][kScanX + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t w = static_cast<int64_t>(blockIdx.x) * kScanX + tx;
  const int64_t seg = (nc + kScanY - 1) / kScanY, c0 = min(nc, ty * seg), c1 = min(nc, c0 + seg);
  for (int64_t bh = blockIdx.y; bh < BH; bh += gridDim.y) {  // uniform per block
    T* t = totals + bh * nc * W + w;
    T sum = 0;
    if (w < W)
      for (int64_t c = c0; c < c1; ++c) sum += t[c * W];
    part[ty][tx] = sum;
    __syncthreads();
    T off = 0;  // the segments before this one (after it when reverse), in a fixed order
    if (reverse)
      for (int k = kScanY - 1; k > ty; --k) off += part[k][tx];
    else
      for (int k = 0; k < ty; ++k) off += part[k][tx];
    if (w < W) {
      for (int64_t n = 0; n < c1 - c0; ++n) {
        const int64_t c = reverse ? c1 - 1 - n : c0 + n;
        const T v = t[c * W];
        t[c * W] = off;
        off += v;
      }
    }
    __syncthreads();  // part is reused by the next bh
  }
}

// Phase 3: the chunk's offset (null: 0, a single chunk) plus the running sum over its rows.
template <class T>
__global__ void scan_apply_kernel(Scan<T> p, int64_t Cs, int64_t nc, const T* offsets) {
  const int64_t total = p.BH * nc * p.W;
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t w = e % p.W, c = (e / p.W) % nc, bh = e / (p.W * nc);
    const int64_t r0 = c * Cs, rows = min(p.L, r0 + Cs) - r0;
    T run = offsets ? offsets[e] : T(0);
    for (int64_t n = 0; n < rows; ++n) {
      const int64_t row = bh * p.L + (p.reverse ? r0 + rows - 1 - n : r0 + n), at = row * p.W + w;
      const T t = p.term(row, w);  // read before out[at] is written: out may be x
      if (!p.exclusive) run += t;
      T val = run + p.shift_out;
      if (p.scale_out) val = p.scale_out[row] * val;
      p.out[at] = p.accumulate ? p.out[at] + val : val;
      if (p.exclusive) run += t;
    }
  }
}

template <class T>
void prefix_scan(cudaStream_t s, const Tensor& like, const Scan<T>& p) {
  const int64_t Cs = std::max(kScanMinChunk, (p.L + kScanChunks - 1) / kScanChunks);
  const int64_t nc = (p.L + Cs - 1) / Cs, n = p.BH * nc * p.W;
  Tensor totals;
  if (nc > 1) {  // one chunk: every offset is 0
    totals = buffer(like, {p.BH, nc, p.W});
    scan_totals_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(p, Cs, nc, ptr<T>(totals));
    CFX_CUDA_CHECK_LAUNCH();
    const dim3 grid(static_cast<unsigned>((p.W + kScanX - 1) / kScanX),
                    static_cast<unsigned>(std::min<int64_t>(p.BH, 65535)));
    scan_offsets_kernel<T><<<grid, dim3(kScanX, kScanY), 0, s>>>(p.BH, nc, p.W, p.reverse, ptr<T>(totals));
    CFX_CUDA_CHECK_LAUNCH();
  }
  scan_apply_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(p, Cs, nc, ptr<T>(totals));
  CFX_CUDA_CHECK_LAUNCH();
}

// The common cases: out = scan of x (forward, inclusive), with an input scale and shift.
template <class T>
Scan<T> scan_of(const Config& c, int64_t W, const T* x, T* out, const T* scale_in = nullptr, T shift_in = T(0)) {
  Scan<T> p;
  p.BH = c.BH(), p.L = c.L, p.W = W;
  p.x = x, p.out = out, p.scale_in = scale_in, p.shift_in = shift_in;
  return p;
}
template <class T>
Scan<T> reversed(Scan<T> p) {
  p.reverse = true;
  return p;
}
// out += so * (scan + shift_out) instead of out = scan
template <class T>
Scan<T> added(Scan<T> p, const T* scale_out = nullptr, T shift_out = T(0)) {
  p.accumulate = true, p.scale_out = scale_out, p.shift_out = shift_out;
  return p;
}

// ---- causal_scan: the chunked linear-attention scan --------------------------------------------

constexpr int64_t kChunk = 64;  // Tc

// dst [BH, Lp, W] = src [BH, L, W] with zero rows L..Lp-1.
template <class T>
__global__ void pad_rows_kernel(int64_t total, int64_t L, int64_t Lp, int64_t W, const T* src, T* dst) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t row = e / W, bh = row / Lp, r = row % Lp;
    dst[e] = r < L ? src[(bh * L + r) * W + e % W] : T(0);
  }
}

// dst [BH, L, W] = rows 0..L-1 of src [BH, Lp, W].
template <class T>
__global__ void unpad_rows_kernel(int64_t total, int64_t L, int64_t Lp, int64_t W, const T* src, T* dst) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t row = e / W, bh = row / L, r = row % L;
    dst[e] = src[(bh * Lp + r) * W + e % W];
  }
}

// scores [N, Tc, Tc]: keep j <= i (forward) or j >= i (reverse), zero the rest.
template <class T>
__global__ void causal_mask_kernel(int64_t total, int64_t Tc, bool reverse, T* scores) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t i = (e / Tc) % Tc, j = e % Tc;
    if (reverse ? j < i : j > i) scores[e] = T(0);
  }
}

template <class T>
const T* padded_copy(cudaStream_t s, const Config& c, int64_t Lp, int64_t W, const T* src, Tensor& keep,
                     const Tensor& like) {
  if (Lp == c.L) return src;
  keep = buffer(like, {c.BH(), Lp, W});
  const int64_t total = c.BH() * Lp * W;
  pad_rows_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(total, c.L, Lp, W, src, ptr<T>(keep));
  CFX_CUDA_CHECK_LAUNCH();
  return ptr<T>(keep);
}

// out_i = sum_{j<=i} (x_i.y_j) z_j (forward) or sum_{j>=i} (x_i.y_j) z_j (reverse) for every
// (b,h): x, y [BH,L,E]; z, out [BH,L,F]. Per chunk c of Tc rows (batch index bh*nc + c):
//   out_c = x_c state_c + mask(x_c y_c^T) z_c,  state_c = sum of y_c'^T z_c' over the chunks
// c' < c (c' > c reverse), all chunks at once: the only sequential dependency, the state, is an
// exclusive prefix_scan of the per-chunk products.
template <class T>
void causal_scan(OnDevice& on, const Config& c, int64_t E, int64_t F, bool reverse, const T* x, const T* y,
                 const T* z, T* out, const Tensor& like) {
  const cudaStream_t s = on.stream();
  const int64_t BH = c.BH(), L = c.L, Tc = std::min(L, kChunk), nc = (L + Tc - 1) / Tc, Lp = nc * Tc, N = BH * nc;
  Tensor xp, yp, zp, op;  // zero-padded copies, only when L % Tc != 0
  const T* xc = padded_copy(s, c, Lp, E, x, xp, like);
  const T* yc = padded_copy(s, c, Lp, E, y, yp, like);
  const T* zc = padded_copy(s, c, Lp, F, z, zp, like);
  T* oc = out;
  if (Lp != L) op = buffer(like, {BH, Lp, F}), oc = ptr<T>(op);

  bool have_state = false;
  if (nc > 1) {  // one chunk: the state before it is 0
    // states[bh, c] = y_c^T z_c, then (in place) their exclusive prefix over c
    Tensor states = buffer(like, {N, E, F});
    gemm_strided_batched<T>(on.ctx, true, false, E, F, Tc, T(1), yc, E, Tc * E, zc, F, Tc * F, T(0), ptr<T>(states),
                            F, E * F, N);
    Scan<T> p;
    p.BH = BH, p.L = nc, p.W = E * F, p.reverse = reverse, p.exclusive = true;
    p.x = ptr<T>(states), p.out = ptr<T>(states);
    prefix_scan<T>(s, like, p);
    // out_c = x_c state_c
    gemm_strided_batched<T>(on.ctx, false, false, Tc, F, E, T(1), xc, E, Tc * E, ptr<T>(states), F, E * F, T(0), oc,
                            F, Tc * F, N);
    have_state = true;
  }  // states go back to the cache before the scores are made
  // out_c += mask(x_c y_c^T) z_c
  Tensor scores = buffer(like, {N, Tc, Tc});
  gemm_strided_batched<T>(on.ctx, false, true, Tc, Tc, E, T(1), xc, E, Tc * E, yc, E, Tc * E, T(0), ptr<T>(scores),
                          Tc, Tc * Tc, N);
  const int64_t n_scores = N * Tc * Tc;
  causal_mask_kernel<T><<<blocks_for(n_scores), kThreads, 0, s>>>(n_scores, Tc, reverse, ptr<T>(scores));
  CFX_CUDA_CHECK_LAUNCH();
  gemm_strided_batched<T>(on.ctx, false, false, Tc, F, Tc, T(1), ptr<T>(scores), Tc, Tc * Tc, zc, F, Tc * F,
                          T(have_state ? 1 : 0), oc, F, Tc * F, N);
  if (Lp != L) {
    const int64_t total = BH * L * F;
    unpad_rows_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(total, L, Lp, F, oc, out);
    CFX_CUDA_CHECK_LAUNCH();
  }
}

// ---- row kernels -----------------------------------------------------------------------------

// (x + eps).(y + eps) + after of two D-rows over the lanes of a warp (every lane gets it);
// after = Config::dot_offset() (CV: eps).
template <class T>
__device__ T warp_dot_eps(const T* x, const T* y, int64_t D, T eps, T after, int lane) {
  T part = 0;
  for (int64_t d = lane; d < D; d += 32) part += (x[d] + eps) * (y[d] + eps);
  return warp_sum(part) + after;
}

// Forward, incoming and outgoing flow from the prefix sums K~_i, Q~_i (k_pre, q_pre):
//   I_i = n/((q~_i+eps).(K~_i+eps) + after),  O_i = n/((k~_i+eps).(Q~_i+eps) + after)
template <class T>
__global__ void causal_flow_kernel(int64_t rows, int64_t L, int64_t D, T eps, T after, const T* qf, const T* kf,
                                   const T* k_pre, const T* q_pre, T* I, T* O) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {  // uniform per warp
    const T n = T(row % L + 1);
    const T u = warp_dot_eps(qf + row * D, k_pre + row * D, D, eps, after, lane);
    const T w = warp_dot_eps(kf + row * D, q_pre + row * D, D, eps, after, lane);
    if (lane == 0) I[row] = n / u, O[row] = n / w;
  }
}

// Forward, from P_i = sum_{j<=i} O_j k~_j and R_i = sum_{j<=i} I_j q~_j:
//   A_i = sigma(((q~_i+eps).(P_i+eps) + after)/n), O_hat_i = ((k~_i+eps).(R_i+eps) + after)/n,
//   E_i = exp(clamp(O_hat_i)) (no max-subtraction: official).
template <class T>
__global__ void causal_allocation_kernel(int64_t rows, int64_t L, int64_t D, T eps, T after, bool has_clamp, T clamp,
                                         const T* qf, const T* kf, const T* P, const T* R, T* A, T* O_hat, T* E) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {  // uniform per warp
    const T n = T(row % L + 1);
    const T a = warp_dot_eps(qf + row * D, P + row * D, D, eps, after, lane);
    const T o = warp_dot_eps(kf + row * D, R + row * D, D, eps, after, lane) / n;
    if (lane == 0) A[row] = d_sigmoid(a / n), O_hat[row] = o, E[row] = d_exp(clamp_source(has_clamp, clamp, o));
  }
}

// In place on C (holding E): C_i = n E_i / D_i, D_i = sum_{j<=i} E_j.
template <class T>
__global__ void causal_competition_kernel(int64_t total, int64_t L, const T* D_prefix, T* C) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) C[e] = T(e % L + 1) * C[e] / D_prefix[e];
}

// Backward, queries: W = S_i G_i in (from the forward scan), r = q~.W, gI = A r / n,
// gP = g_ihat / n with g_ihat = (I/n) r A (1 - A); W <- A (I/n) W.
template <class T>
__global__ void causal_query_grad(int64_t rows, int64_t L, int64_t D, const T* qf, const T* A, const T* I, T* W, T* gI,
                                  T* gP) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {  // uniform per warp
    const T *qi = qf + row * D;
    T* wi = W + row * D;
    T part = 0;
    for (int64_t d = lane; d < D; d += 32) part += qi[d] * wi[d];
    const T r = warp_sum(part);
    const T n = T(row % L + 1), Ai = A[row], I_n = I[row] / n;
    if (lane == 0) gI[row] = Ai * r / n, gP[row] = I_n * r * Ai * (T(1) - Ai) / n;
    for (int64_t d = lane; d < D; d += 32) wi[d] *= Ai * I_n;
  }
}

// Backward, keys: V = G_bar v in (from the reverse scan), gC = k~.V, V <- C V.
template <class T>
__global__ void causal_key_grad(int64_t rows, int64_t D, const T* kf, const T* C, T* V, T* gC) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {  // uniform per warp
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

// Backward of C_i = n_i E_i / D_i, first half: t_j = gC_j C_j / D_j (summed j >= . next).
template <class T>
__global__ void competition_tail_terms(int64_t total, const T* gC, const T* C, const T* D_prefix, T* t) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) t[e] = gC[e] * C[e] / D_prefix[e];
}

// Second half, with tail_j = sum_{i>=j} t_i: gE_j = gC_j n_j / D_j - tail_j, then through exp and
// the clamp: gR_j = gO_hat_raw_j / n_j = [clamp passes] gE_j E_j / n_j.
template <class T>
__global__ void competition_grad(int64_t total, int64_t L, bool has_clamp, T clamp, const T* gC, const T* D_prefix,
                                 const T* tail, const T* O_hat, T* gR) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const T n = T(e % L + 1), gE = gC[e] * n / D_prefix[e] - tail[e], oh = O_hat[e];
    const T g = clamp_passes(has_clamp, clamp, oh) ? gE * d_exp(clamp_source(has_clamp, clamp, oh)) : T(0);
    gR[e] = g / n;
  }
}

// Backward, the reverse sweep's row part, from P_bar_j = sum_{i>=j} gP_i (q~_i+eps) and
// R_bar_j = sum_{i>=j} gR_i (k~_i+eps):
//   gO = k~.P_bar, gI~ = gI + q~.R_bar, gu = -gI~ I^2/n (I = n/u), gw = -gO O^2/n (O = n/w),
//   gk += O P_bar, gq += I R_bar.
template <class T>
__global__ void causal_sweep_rows(int64_t rows, int64_t L, int64_t D, const T* qf, const T* kf, const T* I,
                                  const T* O, const T* gI, const T* P_bar, const T* R_bar, T* gu, T* gw, T* gq,
                                  T* gk) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {  // uniform per warp
    const T *qj = qf + row * D, *kj = kf + row * D, *pb = P_bar + row * D, *rb = R_bar + row * D;
    T po = 0, pi = 0;
    for (int64_t d = lane; d < D; d += 32) po += kj[d] * pb[d], pi += qj[d] * rb[d];
    const T n = T(row % L + 1), Ij = I[row], Oj = O[row];
    const T gO = warp_sum(po), gIt = gI[row] + warp_sum(pi);
    if (lane == 0) gu[row] = -gIt * Ij * Ij / n, gw[row] = -gO * Oj * Oj / n;
    T *gqj = gq + row * D, *gkj = gk + row * D;
    for (int64_t d = lane; d < D; d += 32) gkj[d] += Oj * pb[d], gqj[d] += Ij * rb[d];
  }
}

// ---- forward and backward ---------------------------------------------------------------------

template <class T>
void causal_forward_t(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& y,
                      CudaFlowState& st) {
  const int64_t BH = c.BH(), L = c.L, D = c.D, M = c.M, rows = BH * L;
  OnDevice on(q.device());
  const cudaStream_t s = on.stream();
  const T eps = T(c.eps), after = T(c.dot_offset());
  const unsigned row_blocks = blocks_for(rows, kWarpsPerBlock);
  st.I = buffer(q, {BH, L}), st.A = buffer(q, {BH, L}), st.O = buffer(q, {BH, L});
  st.O_hat = buffer(q, {BH, L}), st.C = buffer(q, {BH, L}), st.D_prefix = buffer(q, {BH, L});
  if (L == 0) return;  // nothing to compute (and no empty grid may be launched)
  Tensor qf = buffer(q, {BH, L, D}), kf = buffer(q, {BH, L, D});
  features<T>(s, c, L, q, nullptr, qf);
  features<T>(s, c, L, k, nullptr, kf);
  {
    // 0.3 statistics. X1, X2 hold K~, Q~ (prefix sums of k~, q~), then P, R.
    Tensor X1 = buffer(q, {BH, L, D}), X2 = buffer(q, {BH, L, D});
    prefix_scan<T>(s, q, scan_of<T>(c, D, ptr<T>(kf), ptr<T>(X1)));
    prefix_scan<T>(s, q, scan_of<T>(c, D, ptr<T>(qf), ptr<T>(X2)));
    causal_flow_kernel<T><<<row_blocks, kThreads, 0, s>>>(rows, L, D, eps, after, ptr<T>(qf), ptr<T>(kf), ptr<T>(X1),
                                                          ptr<T>(X2), ptr<T>(st.I), ptr<T>(st.O));
    CFX_CUDA_CHECK_LAUNCH();
    prefix_scan<T>(s, q, scan_of<T>(c, D, ptr<T>(kf), ptr<T>(X1), ptr<T>(st.O)));  // P - eps
    prefix_scan<T>(s, q, scan_of<T>(c, D, ptr<T>(qf), ptr<T>(X2), ptr<T>(st.I)));  // R - eps
    causal_allocation_kernel<T><<<row_blocks, kThreads, 0, s>>>(rows, L, D, eps, after, c.has_clamp, T(c.clamp),
                                                                ptr<T>(qf), ptr<T>(kf), ptr<T>(X1), ptr<T>(X2),
                                                                ptr<T>(st.A), ptr<T>(st.O_hat), ptr<T>(st.C));
    CFX_CUDA_CHECK_LAUNCH();
  }
  // C_i = n E_i / D_i (C holds E until here)
  prefix_scan<T>(s, q, scan_of<T>(c, 1, ptr<T>(st.C), ptr<T>(st.D_prefix)));
  causal_competition_kernel<T><<<blocks_for(rows), kThreads, 0, s>>>(rows, L, ptr<T>(st.D_prefix), ptr<T>(st.C));
  CFX_CUDA_CHECK_LAUNCH();
  // y_i = (A_i I_i / n_i) q~_i^T sum_{j<=i} k~_j (C_j v_j)^T
  Tensor cv = buffer(q, {BH, L, M});
  scale_rows<T>(s, c, L, D, ptr<T>(st.A), ptr<T>(st.I), true, nullptr, ptr<T>(qf), ptr<T>(qf));
  scale_rows<T>(s, c, L, M, ptr<T>(st.C), nullptr, false, nullptr, ptr<T>(v), ptr<T>(cv));
  causal_scan<T>(on, c, D, M, false, ptr<T>(qf), ptr<T>(kf), ptr<T>(cv), ptr<T>(y), q);
}

// Notation of the CPU's causal_backward_head: S_i = sum_{j<=i} k~_j (C_j v_j)^T and
// G_bar_j = sum_{i>=j} q~_i gz_i^T are never formed: W_i = S_i G_i comes from a forward scan,
// V_j = G_bar_j v_j and h_j = G_bar_j^T k~_j from reverse scans. The CPU's two sequential sweeps
// become prefix_scans (suffix sums for the reverse sweep) plus row kernels; the sweep terms that
// multiply a running sum are added straight into gq, gk by the scan (accumulate, scale_out).
template <class T>
void causal_backward_t(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gy,
                       const CudaFlowState& st, Tensor& grad_q, Tensor& grad_k, Tensor& grad_v) {
  const int64_t BH = c.BH(), L = c.L, D = c.D, M = c.M, rows = BH * L;
  OnDevice on(q.device());
  const cudaStream_t s = on.stream();
  const T eps = T(c.eps);
  if (L == 0) return;
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
  // gP = g_ihat / n, gR = g_ohat / n: every use in the sweeps is divided by n
  Tensor gI = buffer(q, {BH, L}), gP = buffer(q, {BH, L}), gC = buffer(q, {BH, L}), gR = buffer(q, {BH, L});
  Tensor gu = buffer(q, {BH, L}), gw = buffer(q, {BH, L});
  const unsigned row_blocks = blocks_for(rows, kWarpsPerBlock), elem_blocks = blocks_for(rows);
  // y_i = A_i (I_i/n_i) q~_i^T S_i: W_i = S_i G_i, then gA/gI through r_i = q~_i.W_i
  causal_scan<T>(on, c, M, D, false, ptr<T>(gy), ptr<T>(cv), ptr<T>(kf), ptr<T>(gq), q);
  causal_query_grad<T><<<row_blocks, kThreads, 0, s>>>(rows, L, D, ptr<T>(qf), ptr<T>(st.A), ptr<T>(st.I), ptr<T>(gq),
                                                       ptr<T>(gI), ptr<T>(gP));
  CFX_CUDA_CHECK_LAUNCH();
  // KV path into k~ and C: V_j = sum_{i>=j} (v_j.gz_i) q~_i; gk_j = C_j V_j, gC_j = k~_j.V_j
  causal_scan<T>(on, c, M, D, true, ptr<T>(v), ptr<T>(gz), ptr<T>(qf), ptr<T>(gk), q);
  causal_key_grad<T><<<row_blocks, kThreads, 0, s>>>(rows, D, ptr<T>(kf), ptr<T>(st.C), ptr<T>(gk), ptr<T>(gC));
  CFX_CUDA_CHECK_LAUNCH();
  cv = Tensor(), gz = Tensor();  // dead: back to the cache before the sweeps' buffers

  // Competition: gE_j = gC_j n_j / D_j - sum_{i>=j} gC_i C_i / D_i (gu, gw as scratch here).
  competition_tail_terms<T><<<elem_blocks, kThreads, 0, s>>>(rows, ptr<T>(gC), ptr<T>(st.C), ptr<T>(st.D_prefix),
                                                             ptr<T>(gu));
  CFX_CUDA_CHECK_LAUNCH();
  prefix_scan<T>(s, q, reversed(scan_of<T>(c, 1, ptr<T>(gu), ptr<T>(gw))));
  competition_grad<T><<<elem_blocks, kThreads, 0, s>>>(rows, L, c.has_clamp, T(c.clamp), ptr<T>(gC),
                                                       ptr<T>(st.D_prefix), ptr<T>(gw), ptr<T>(st.O_hat), ptr<T>(gR));
  CFX_CUDA_CHECK_LAUNCH();

  const T* qf_ = ptr<T>(qf);
  const T* kf_ = ptr<T>(kf);
  {
    // Reverse sweep: suffix sums P_bar (through I_hat), R_bar (through O_hat) into X1, X2; the
    // row part gives gu, gw and the O P_bar, I R_bar terms.
    Tensor X1 = buffer(q, {BH, L, D}), X2 = buffer(q, {BH, L, D});
    prefix_scan<T>(s, q, reversed(scan_of<T>(c, D, qf_, ptr<T>(X1), ptr<T>(gP), eps)));
    prefix_scan<T>(s, q, reversed(scan_of<T>(c, D, kf_, ptr<T>(X2), ptr<T>(gR), eps)));
    causal_sweep_rows<T><<<row_blocks, kThreads, 0, s>>>(rows, L, D, qf_, kf_, ptr<T>(st.I), ptr<T>(st.O),
                                                         ptr<T>(gI), ptr<T>(X1), ptr<T>(X2), ptr<T>(gu), ptr<T>(gw),
                                                         ptr<T>(gq), ptr<T>(gk));
    CFX_CUDA_CHECK_LAUNCH();
  }
  // U_bar = sum gu (q~+eps) (through K~) and W_bar = sum gw (k~+eps) (through Q~), straight into gk, gq
  prefix_scan<T>(s, q, added(reversed(scan_of<T>(c, D, qf_, ptr<T>(gk), ptr<T>(gu), eps))));
  prefix_scan<T>(s, q, added(reversed(scan_of<T>(c, D, kf_, ptr<T>(gq), ptr<T>(gw), eps))));
  // Forward sweep: the terms that multiply the prefix sums K~, Q~, P, R of the forward:
  //   gq_i += gP_i (P_i + eps) + gu_i (K~_i + eps),  gk_i += gR_i (R_i + eps) + gw_i (Q~_i + eps)
  prefix_scan<T>(s, q, added(scan_of<T>(c, D, kf_, ptr<T>(gq), ptr<T>(st.O)), ptr<T>(gP), eps));  // P
  prefix_scan<T>(s, q, added(scan_of<T>(c, D, kf_, ptr<T>(gq)), ptr<T>(gu), eps));               // K~
  prefix_scan<T>(s, q, added(scan_of<T>(c, D, qf_, ptr<T>(gk), ptr<T>(st.I)), ptr<T>(gR), eps));  // R
  prefix_scan<T>(s, q, added(scan_of<T>(c, D, qf_, ptr<T>(gk)), ptr<T>(gw), eps));                // Q~
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
