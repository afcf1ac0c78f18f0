// Fused CUDA Flow-Attention: the kernel-table entries (flow_attention_kernel and its
// backward, core/kernels.h) and the non-causal forward (0.2) and analytic backward (0.6) side
// by side; the causal pair is in cuda/flow_attention_causal.cu, shared kernels in
// cuda/flow_attention.cuh. CPU twin: ops/cpu/flow_attention_cpu.cpp (same phases, same
// formulas, same treatment of masks and of batch rows without a valid key).
//
// Letters as in flow_attention.cuh (B, H, L, S, D, M, BH; q~ = phi(q), k~ = phi(k)).
// Memory: the saved state is O(L + S) per (b,h) plus KV [D,M]; the call's scratch is a few
// [BH,L,D] / [BH,S,D] / [BH,S,M] buffers (the size of the inputs), never L x S.
//
// Each phase is one batched launch over all (b,h), so the heads competition (which couples
// the heads of a batch row) needs no extra barrier: kernels on one stream run in order.
// Launch shapes: see flow_attention.cuh for the shared kernels; here the query/key gradient
// row kernels are one warp per row (8 per block), the competition over keys is one block
// (kThreads) per (b,h), over heads one thread per (batch row, key); GEMMs are cuBLAS
// strided-batched over BH.
#include "cuda/flow_attention.cuh"

namespace cfx::cuda::flow {
namespace {

// s_eff[b] = S minus the padded keys of batch row b.
__global__ void count_valid_kernel(int64_t B, int64_t S, const uint8_t* pad, int64_t* s_eff) {
  for (int64_t b = grid_start(); b < B; b += grid_step()) {
    int64_t n = S;
    if (pad)
      for (int64_t j = 0; j < S; ++j) n -= pad[b * S + j] ? 1 : 0;
    s_eff[b] = n;
  }
}

// buf[bh, ...] = 0 for the heads of batch rows with no valid key (y = 0 there, and so are
// all gradients): per = elements per (b,h).
template <class T>
__global__ void zero_empty_heads_kernel(int64_t total, int64_t per, int64_t H, const int64_t* s_eff, T* buf) {
  for (int64_t e = grid_start(); e < total; e += grid_step())
    if (s_eff[(e / per) / H] == 0) buf[e] = T(0);
}

template <class T>
void zero_empty_heads(cudaStream_t s, const Config& c, const Tensor& s_eff, const Tensor& buf) {
  if (!buf.defined() || buf.numel() == 0) return;
  const int64_t total = buf.numel();
  zero_empty_heads_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(total, total / c.BH(), c.H, ptr<int64_t>(s_eff),
                                                                   ptr<T>(buf));
  CFX_CUDA_CHECK_LAUNCH();
}

// ---- competition (0.2, 0.5) and its backward (0.6) ----------------------------------------------

// C_j = S_eff * softmax_j(clamp(O_hat)) over the valid keys of one (b,h), max-subtracted.
template <class T>
__global__ void compete_sequence_kernel(int64_t BH, int64_t S, int64_t H, bool has_clamp, T clamp, T neg_inf,
                                        const uint8_t* pad, const int64_t* s_eff, const T* O_hat, T* C) {
  for (int64_t bh = blockIdx.x; bh < BH; bh += gridDim.x) {
    const int64_t b = bh / H, n_valid = s_eff[b];
    if (n_valid == 0) continue;  // whole block: zeroed by zero_empty_heads
    const T* oh = O_hat + bh * S;
    T* cr = C + bh * S;
    auto valid = [&](int64_t j) { return !(pad && pad[b * S + j]); };
    T m = neg_inf;
    for (int64_t j = threadIdx.x; j < S; j += kThreads)
      if (valid(j)) m = MaxOp{}(m, clamp_source(has_clamp, clamp, oh[j]));
    m = block_reduce<kThreads>(m, MaxOp{});
    T part = 0;
    for (int64_t j = threadIdx.x; j < S; j += kThreads)
      if (valid(j)) part += d_exp(clamp_source(has_clamp, clamp, oh[j]) - m);
    const T scale = T(n_valid) / block_reduce<kThreads>(part, SumOp{});
    for (int64_t j = threadIdx.x; j < S; j += kThreads)
      cr[j] = valid(j) ? d_exp(clamp_source(has_clamp, clamp, oh[j]) - m) * scale : T(0);
  }
}

// C_{j,h} = S_eff * softmax_h(clamp(O_hat_{j,h})) for each batch row and key (the LRA axis).
template <class T>
__global__ void compete_heads_kernel(int64_t B, int64_t H, int64_t S, bool has_clamp, T clamp, T neg_inf,
                                     const uint8_t* pad, const int64_t* s_eff, const T* O_hat, T* C) {
  for (int64_t e = grid_start(); e < B * S; e += grid_step()) {
    const int64_t b = e / S, j = e % S, base = b * H * S + j;  // element (b, h, j) at base + h * S
    if (pad && pad[b * S + j]) {
      for (int64_t h = 0; h < H; ++h) C[base + h * S] = T(0);
      continue;
    }
    T m = neg_inf, sum = 0;
    for (int64_t h = 0; h < H; ++h) m = MaxOp{}(m, clamp_source(has_clamp, clamp, O_hat[base + h * S]));
    for (int64_t h = 0; h < H; ++h) sum += C[base + h * S] = d_exp(clamp_source(has_clamp, clamp, O_hat[base + h * S]) - m);
    for (int64_t h = 0; h < H; ++h) C[base + h * S] *= T(s_eff[b]) / sum;
  }
}

// In place on g = gC: gO_hat_raw_j = [clamp passes] C_j (gC_j - sum_t C_t gC_t / S_eff), the
// sum over the keys of one (b,h).
template <class T>
__global__ void compete_sequence_backward_kernel(int64_t BH, int64_t S, int64_t H, bool has_clamp, T clamp,
                                                 const int64_t* s_eff, const T* C, const T* O_hat, T* g) {
  for (int64_t bh = blockIdx.x; bh < BH; bh += gridDim.x) {
    const int64_t n_valid = s_eff[bh / H];
    if (n_valid == 0) continue;
    const T *cr = C + bh * S, *oh = O_hat + bh * S;
    T* gr = g + bh * S;
    T part = 0;
    for (int64_t j = threadIdx.x; j < S; j += kThreads) part += cr[j] * gr[j];
    const T sum = block_reduce<kThreads>(part, SumOp{});  // its barrier orders the reads before the writes
    for (int64_t j = threadIdx.x; j < S; j += kThreads)
      gr[j] = clamp_passes(has_clamp, clamp, oh[j]) ? cr[j] * (gr[j] - sum / T(n_valid)) : T(0);
  }
}

// The same over the heads of each (batch row, valid key).
template <class T>
__global__ void compete_heads_backward_kernel(int64_t B, int64_t H, int64_t S, bool has_clamp, T clamp,
                                              const uint8_t* pad, const int64_t* s_eff, const T* C, const T* O_hat,
                                              T* g) {
  for (int64_t e = grid_start(); e < B * S; e += grid_step()) {
    const int64_t b = e / S, j = e % S, base = b * H * S + j;
    if (pad && pad[b * S + j]) continue;  // g is already 0 there
    T sum = 0;
    for (int64_t h = 0; h < H; ++h) sum += C[base + h * S] * g[base + h * S];
    for (int64_t h = 0; h < H; ++h) {
      const int64_t x = base + h * S;
      g[x] = clamp_passes(has_clamp, clamp, O_hat[x]) ? C[x] * (g[x] - sum / T(s_eff[b])) : T(0);
    }
  }
}

// ---- backward row kernels (0.6; names as in the CPU's noncausal_grad_qk) ----------------------
// One warp per row; each lane reads and writes only its own d's, so in-place updates are safe.

// Queries, first pass. W = G KV^T in, d loss / d q~ (partial) out:
//   r = q~.W, gI = A r, g_ihat = I r A (1 - A) L/S_eff, W <- A I W + g_ihat (a + eps)
template <class T>
__global__ void query_grad_first(int64_t rows, int64_t L, int64_t D, int64_t H, T eps, const T* qf, const T* A,
                                 const T* I, const T* a, const int64_t* s_eff, T* W, T* gI, T* g_ihat) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const int64_t bh = row / L;
    const T *qi = qf + row * D, *av = a + bh * D;
    T* wi = W + row * D;
    T part = 0;
    for (int64_t d = lane; d < D; d += 32) part += qi[d] * wi[d];
    const T r = warp_sum(part);
    const T Ai = A[row], Ii = I[row], l_over_s = T(L) / T(s_eff[bh / H]);
    const T gih = Ii * r * Ai * (T(1) - Ai) * l_over_s;
    if (lane == 0) gI[row] = Ai * r, g_ihat[row] = gih;
    for (int64_t d = lane; d < D; d += 32) wi[d] = Ai * Ii * wi[d] + gih * (av[d] + eps);
  }
}

// Keys. U = v gKV^T in, d loss / d k~ (without g_ksum) out:
//   gO = k~.ga, gw = -gO O^2, U <- C U + O ga + gO_hat (b + eps) + gw (q_bar + eps); padded: gw = 0
template <class T>
__global__ void key_grad(int64_t rows, int64_t S, int64_t D, int64_t H, T eps, const uint8_t* pad, const T* kf,
                         const T* O, const T* C, const T* g_ohat, const T* ga, const T* b, const T* q_sum, T* U,
                         T* gw) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const int64_t bh = row / S, j = row % S;
    if (pad && pad[(bh / H) * S + j]) {
      if (lane == 0) gw[row] = T(0);
      continue;
    }
    const T *kj = kf + row * D, *gav = ga + bh * D, *bv = b + bh * D, *qs = q_sum + bh * D;
    T* uj = U + row * D;
    T part = 0;
    for (int64_t d = lane; d < D; d += 32) part += kj[d] * gav[d];
    const T gO = warp_sum(part);
    const T Oj = O[row], Cj = C[row], goh = g_ohat[row];
    const T gwj = -gO * Oj * Oj;  // O = 1/w
    if (lane == 0) gw[row] = gwj;
    for (int64_t d = lane; d < D; d += 32)
      uj[d] = Cj * uj[d] + Oj * gav[d] + goh * (bv[d] + eps) + gwj * (qs[d] + eps);
  }
}

// Queries, second pass (gb complete now): gI += q~.gb, gu = -gI I^2,
//   X += I gb + gu (k_bar + eps) + g_qsum
template <class T>
__global__ void query_grad_second(int64_t rows, int64_t L, int64_t D, T eps, const T* qf, const T* I, const T* gI,
                                  const T* gb, const T* k_sum, const T* g_qsum, T* X, T* gu) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const int64_t bh = row / L;
    const T *qi = qf + row * D, *gbv = gb + bh * D, *ks = k_sum + bh * D, *gqs = g_qsum + bh * D;
    T* xi = X + row * D;
    T part = 0;
    for (int64_t d = lane; d < D; d += 32) part += qi[d] * gbv[d];
    const T Ii = I[row];
    const T gIt = gI[row] + warp_sum(part);
    const T gui = -gIt * Ii * Ii;  // I = 1/u
    if (lane == 0) gu[row] = gui;
    for (int64_t d = lane; d < D; d += 32) xi[d] += Ii * gbv[d] + gui * (ks[d] + eps) + gqs[d];
  }
}

// ---- the two passes ---------------------------------------------------------------------------

template <class T>
void noncausal_forward_t(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& y,
                         CudaFlowState& st) {
  const int64_t BH = c.BH(), L = c.L, S = c.S, D = c.D, M = c.M;
  OnDevice on(q.device());
  const cudaStream_t s = on.stream();
  const T eps = T(c.eps), after = T(c.dot_offset());
  const uint8_t* pad = ptr<uint8_t>(st.mask);
  st.s_eff = make_empty({c.B}, kInt64, q.device());
  count_valid_kernel<<<blocks_for(c.B), kThreads, 0, s>>>(c.B, S, pad, ptr<int64_t>(st.s_eff));
  CFX_CUDA_CHECK_LAUNCH();
  const int64_t* s_eff = ptr<int64_t>(st.s_eff);
  st.I = buffer(q, {BH, L}), st.A = buffer(q, {BH, L});
  st.O = buffer(q, {BH, S}), st.O_hat = buffer(q, {BH, S}), st.C = buffer(q, {BH, S});
  st.k_sum = buffer(q, {BH, D}), st.q_sum = buffer(q, {BH, D}), st.a = buffer(q, {BH, D}), st.b = buffer(q, {BH, D});
  st.kv = buffer(q, {BH, D, M});
  Tensor qf = buffer(q, {BH, L, D}), kf = buffer(q, {BH, S, D}), cv = buffer(q, {BH, S, M});

  // 0.2 flow statistics: q~, k~ (padded keys zeroed), then the four normalisers.
  features<T>(s, c, L, q, nullptr, qf);
  features<T>(s, c, S, k, pad, kf);
  col_sum<T>(s, c, L, ptr<T>(qf), nullptr, T(0), ptr<T>(st.q_sum));  // q_bar
  col_sum<T>(s, c, S, ptr<T>(kf), nullptr, T(0), ptr<T>(st.k_sum));  // k_bar over valid keys
  // O_j = 1/((k~_j+eps).(q_bar+eps) [+ eps, CV]); a = sum_j k~_j O_j (likewise [+ eps] below)
  row_dot<T>(s, c, S, ptr<T>(kf), ptr<T>(st.q_sum), D, 0, eps, after, RowDot::Recip, pad, s_eff, ptr<T>(st.O));
  col_sum<T>(s, c, S, ptr<T>(kf), ptr<T>(st.O), T(0), ptr<T>(st.a));
  // I_i = 1/((q~_i+eps).(k_bar+eps)); b = sum_i q~_i I_i; A_i = sigma((q~_i+eps).(a+eps) L/S_eff)
  row_dot<T>(s, c, L, ptr<T>(qf), ptr<T>(st.k_sum), D, 0, eps, after, RowDot::Recip, nullptr, s_eff, ptr<T>(st.I));
  col_sum<T>(s, c, L, ptr<T>(qf), ptr<T>(st.I), T(0), ptr<T>(st.b));
  row_dot<T>(s, c, L, ptr<T>(qf), ptr<T>(st.a), D, 0, eps, after, RowDot::Sigmoid, nullptr, s_eff, ptr<T>(st.A));
  // O_hat_j = (k~_j+eps).(b+eps), kept before the clamp
  row_dot<T>(s, c, S, ptr<T>(kf), ptr<T>(st.b), D, 0, eps, after, RowDot::Plain, pad, s_eff, ptr<T>(st.O_hat));

  // Competition C (0.2 over keys, 0.5 over heads).
  const T clamp = T(c.clamp), neg_inf = -std::numeric_limits<T>::infinity();
  if (c.heads_competition()) {
    compete_heads_kernel<T><<<blocks_for(c.B * S), kThreads, 0, s>>>(c.B, c.H, S, c.has_clamp, clamp, neg_inf, pad,
                                                                     s_eff, ptr<T>(st.O_hat), ptr<T>(st.C));
  } else {
    compete_sequence_kernel<T><<<blocks_for(BH, 1), kThreads, 0, s>>>(BH, S, c.H, c.has_clamp, clamp, neg_inf, pad,
                                                                     s_eff, ptr<T>(st.O_hat), ptr<T>(st.C));
  }
  CFX_CUDA_CHECK_LAUNCH();

  // KV = k~^T (C v);  y_i = (A_i I_i q~_i)^T KV
  scale_rows<T>(s, c, S, M, ptr<T>(st.C), nullptr, false, pad, ptr<T>(v), ptr<T>(cv));
  gemm_strided_batched<T>(on.ctx, true, false, D, M, S, T(1), ptr<T>(kf), D, S * D, ptr<T>(cv), M, S * M, T(0),
                          ptr<T>(st.kv), M, D * M, BH);
  scale_rows<T>(s, c, L, D, ptr<T>(st.A), ptr<T>(st.I), false, nullptr, ptr<T>(qf), ptr<T>(qf));
  gemm_strided_batched<T>(on.ctx, false, false, L, M, D, T(1), ptr<T>(qf), D, L * D, ptr<T>(st.kv), M, D * M, T(0),
                          ptr<T>(y), M, L * M, BH);

  if (pad) {  // batch rows without a valid key: y = 0 and a zero state, as on the CPU
    for (const Tensor* t : {&y, &st.I, &st.A, &st.O, &st.O_hat, &st.C, &st.k_sum, &st.q_sum, &st.a, &st.b, &st.kv})
      zero_empty_heads<T>(s, c, st.s_eff, *t);
  }
}

template <class T>
void noncausal_backward_t(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gy,
                          const CudaFlowState& st, Tensor& grad_q, Tensor& grad_k, Tensor& grad_v) {
  const int64_t BH = c.BH(), L = c.L, S = c.S, D = c.D, M = c.M;
  OnDevice on(q.device());
  const cudaStream_t s = on.stream();
  const T eps = T(c.eps), clamp = T(c.clamp);
  const uint8_t* pad = ptr<uint8_t>(st.mask);
  const int64_t* s_eff = ptr<int64_t>(st.s_eff);
  const bool need_qk = grad_q.defined() || grad_k.defined();
  Tensor qf = buffer(q, {BH, L, D}), kf = buffer(q, {BH, S, D});
  Tensor X = buffer(q, {BH, L, D});  // A I q~, then W = G KV^T, then d loss / d q~
  Tensor gkv = buffer(q, {BH, D, M});
  features<T>(s, c, L, q, nullptr, qf);
  features<T>(s, c, S, k, pad, kf);

  // Phase A: gKV = sum_i (A_i I_i q~_i) G_i^T
  scale_rows<T>(s, c, L, D, ptr<T>(st.A), ptr<T>(st.I), false, nullptr, ptr<T>(qf), ptr<T>(X));
  gemm_strided_batched<T>(on.ctx, true, false, D, M, L, T(1), ptr<T>(X), D, L * D, ptr<T>(gy), M, L * M, T(0),
                          ptr<T>(gkv), M, D * M, BH);
  if (grad_v.defined()) {  // gv_j = C_j gKV^T k~_j
    gemm_strided_batched<T>(on.ctx, false, false, S, M, D, T(1), ptr<T>(kf), D, S * D, ptr<T>(gkv), M, D * M, T(0),
                            ptr<T>(grad_v), M, S * M, BH);
    scale_rows<T>(s, c, S, M, ptr<T>(st.C), nullptr, false, pad, ptr<T>(grad_v), ptr<T>(grad_v));
  }
  if (need_qk) {
    // U = v gKV^T [BH,S,D]; gC_j = k~_j.U_j; then phase B: the competition's backward in place.
    Tensor U = buffer(q, {BH, S, D}), g_ohat = buffer(q, {BH, S});
    gemm_strided_batched<T>(on.ctx, false, true, S, D, M, T(1), ptr<T>(v), M, S * M, ptr<T>(gkv), M, D * M, T(0),
                            ptr<T>(U), D, S * D, BH);
    row_dot<T>(s, c, S, ptr<T>(kf), ptr<T>(U), S * D, D, T(0), T(0), RowDot::Plain, pad, s_eff, ptr<T>(g_ohat));
    if (c.heads_competition())
      compete_heads_backward_kernel<T><<<blocks_for(c.B * S), kThreads, 0, s>>>(
          c.B, c.H, S, c.has_clamp, clamp, pad, s_eff, ptr<T>(st.C), ptr<T>(st.O_hat), ptr<T>(g_ohat));
    else
      compete_sequence_backward_kernel<T><<<blocks_for(BH, 1), kThreads, 0, s>>>(
          BH, S, c.H, c.has_clamp, clamp, s_eff, ptr<T>(st.C), ptr<T>(st.O_hat), ptr<T>(g_ohat));
    CFX_CUDA_CHECK_LAUNCH();

    // Phase C. W = G KV^T, then the query, key and query passes with their column sums.
    gemm_strided_batched<T>(on.ctx, false, true, L, D, M, T(1), ptr<T>(gy), M, L * M, ptr<T>(st.kv), M, D * M, T(0),
                            ptr<T>(X), D, L * D, BH);
    Tensor gI = buffer(q, {BH, L}), g_ihat = buffer(q, {BH, L}), gu = buffer(q, {BH, L}), gw = buffer(q, {BH, S});
    Tensor ga = buffer(q, {BH, D}), gb = buffer(q, {BH, D}), g_qsum = buffer(q, {BH, D}), g_ksum = buffer(q, {BH, D});
    const unsigned qblocks = blocks_for(BH * L, kWarpsPerBlock), kblocks = blocks_for(BH * S, kWarpsPerBlock);
    query_grad_first<T><<<qblocks, kThreads, 0, s>>>(BH * L, L, D, c.H, eps, ptr<T>(qf), ptr<T>(st.A), ptr<T>(st.I),
                                                     ptr<T>(st.a), s_eff, ptr<T>(X), ptr<T>(gI), ptr<T>(g_ihat));
    CFX_CUDA_CHECK_LAUNCH();
    col_sum<T>(s, c, L, ptr<T>(qf), ptr<T>(g_ihat), eps, ptr<T>(ga));  // ga = sum_i g_ihat_i (q~_i + eps)
    key_grad<T><<<kblocks, kThreads, 0, s>>>(BH * S, S, D, c.H, eps, pad, ptr<T>(kf), ptr<T>(st.O), ptr<T>(st.C),
                                             ptr<T>(g_ohat), ptr<T>(ga), ptr<T>(st.b), ptr<T>(st.q_sum), ptr<T>(U),
                                             ptr<T>(gw));
    CFX_CUDA_CHECK_LAUNCH();
    col_sum<T>(s, c, S, ptr<T>(kf), ptr<T>(gw), eps, ptr<T>(g_qsum));  // sum_j gw_j (k~_j + eps)
    col_sum<T>(s, c, S, ptr<T>(kf), ptr<T>(g_ohat), eps, ptr<T>(gb));  // sum_j gO_hat_j (k~_j + eps)
    query_grad_second<T><<<qblocks, kThreads, 0, s>>>(BH * L, L, D, eps, ptr<T>(qf), ptr<T>(st.I), ptr<T>(gI),
                                                      ptr<T>(gb), ptr<T>(st.k_sum), ptr<T>(g_qsum), ptr<T>(X),
                                                      ptr<T>(gu));
    CFX_CUDA_CHECK_LAUNCH();
    col_sum<T>(s, c, L, ptr<T>(qf), ptr<T>(gu), eps, ptr<T>(g_ksum));  // sum_i gu_i (q~_i + eps)
    if (grad_q.defined()) feature_grad<T>(s, c, L, q, qf, X, nullptr, nullptr, grad_q);
    if (grad_k.defined()) feature_grad<T>(s, c, S, k, kf, U, ptr<T>(g_ksum), pad, grad_k);
  }
  if (pad)
    for (const Tensor* t : {&grad_q, &grad_k, &grad_v}) zero_empty_heads<T>(s, c, st.s_eff, *t);
}

// ---- kernel-table entries ------------------------------------------------------------------------

Config make_config(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& o) {
  const Config c = flow_kernel_config(q, k, v, o);
  CFX_CHECK(c.BH() == 0 || (c.D >= 1 && c.M >= 1), "flow_attention (cuda): head dims must be >= 1, got D=", c.D,
            ", M=", c.M);
  return c;
}

void forward_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts, Tensor& y,
                  std::shared_ptr<FlowAttentionState>* state) {
  const Config c = make_config(q, k, v, opts);
  auto st = std::make_shared<CudaFlowState>();
  if (opts.key_padding_mask.defined()) st->mask = opts.key_padding_mask.contiguous();
  if (c.BH() == 0) {  // nothing to compute (and no empty grid may be launched)
    if (state) *state = std::move(st);
    return;
  }
  if (c.causal) causal_forward(c, q, k, v, y, *st);
  else visit_floating(q.dtype(), "flow_attention", [&]<class T>() { noncausal_forward_t<T>(c, q, k, v, y, *st); });
  if (state) *state = std::move(st);  // inference: the state's buffers go back to the cache
}

void backward_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
                   const Tensor& grad_y, const FlowAttentionState& state, Tensor& grad_q, Tensor& grad_k,
                   Tensor& grad_v) {
  const auto* st = dynamic_cast<const CudaFlowState*>(&state);
  CFX_CHECK(st, "flow_attention backward (cuda): the saved state is not from the CUDA forward");
  const Config c = make_config(q, k, v, opts);
  if (c.BH() == 0) return;
  if (c.causal) {
    causal_backward(c, q, k, v, grad_y, *st, grad_q, grad_k, grad_v);
    return;
  }
  visit_floating(q.dtype(), "flow_attention backward",
                 [&]<class T>() { noncausal_backward_t<T>(c, q, k, v, grad_y, *st, grad_q, grad_k, grad_v); });
}

}  // namespace

CFX_REGISTER_KERNEL(flow_attention_kernel, DeviceType::CUDA, forward_cuda);
CFX_REGISTER_KERNEL(flow_attention_backward_kernel, DeviceType::CUDA, backward_cuda);

}  // namespace cfx::cuda::flow
