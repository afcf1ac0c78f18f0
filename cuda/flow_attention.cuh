// Shared parts of the fused CUDA Flow-Attention kernels (cuda/flow_attention.cu: non-causal
// and the kernel-table entries; cuda/flow_attention_causal.cu: causal): the config, the state
// saved between forward and backward, per-element device helpers and the small batched
// row/column kernels both use. Equations: /work/shared/BENCHMARKS.md 0.2 (non-causal),
// 0.3 (causal), 0.5 (heads competition), 0.6 (backward); the CPU twin is
// ops/cpu/flow_attention_cpu.cpp, whose semantics (masks, S_eff, clamp gradient at the
// inclusive bounds, zero heads) these kernels reproduce.
//
// Letters: B batch, H heads, L queries, S keys (S == L causal), D head dim of q/k, M head dim
// of v, BH = B*H. Every buffer is dense row-major with (b,h) outermost: [BH, rows, cols].
// q~ = phi(q), k~ = phi(k) (the feature map). "Row" = one query or key of one (b,h).
//
// Launch shapes of the shared kernels:
//   per element ....... 1-d grid-stride, kThreads per block;
//   row_dot ........... one warp per row (lanes over D, butterfly warp sum), 8 warps a block;
//   col_sum ........... (32 columns x 8 row-threads) blocks, grid (D/32, BH, row slices), fixed-order
//                       combine in shared memory (deterministic).
#pragma once

#include <memory>

#include "cuda/loops.cuh"
#include "ops/flow_attention.h"
#include "ops/flow_attention_kernel.h"
#include "core/kernels.h"

namespace cfx::cuda::flow {

// The kernels read FlowKernelConfig (ops/flow_attention_kernel.h), the CPU kernels' struct;
// the mask travels in the saved state (CudaFlowState::mask) and as explicit `pad` pointers.
using Config = FlowKernelConfig;

// What the forward keeps for the backward: O(L + S) numbers and one D x M matrix per (b,h)
// (STYLE practice 2); phi(q), phi(k) are recomputed. Device tensors of the inputs' dtype.
struct CudaFlowState final : FlowAttentionState {
  Tensor I, A;            // [BH,L]  sink_incoming, sink_allocation
  Tensor O, O_hat, C;     // [BH,S]  source_outgoing, conserved_source (before the clamp), competition
  Tensor k_sum, q_sum;    // [BH,D]  non-causal: sums of k~ (valid keys) and q~
  Tensor a, b;            // [BH,D]  non-causal: sum_j k~_j O_j, sum_i q~_i I_i
  Tensor kv;              // [BH,D,M] non-causal: sum_j k~_j (C_j v_j)^T
  Tensor D_prefix;        // [BH,L]  causal: sum_{j<=i} exp(clamp(O_hat_j))
  Tensor mask;            // [B,S] bool, contiguous, or undefined (non-causal only)
  Tensor s_eff;           // [B] int64: valid keys per batch row (non-causal only)
};

// The causal pair (cuda/flow_attention_causal.cu); the non-causal pair and the kernel-table
// entries that choose between them are in cuda/flow_attention.cu. q, k, v, y, grads: dense
// device tensors of one float dtype; undefined grads are not computed.
void causal_forward(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& y, CudaFlowState& st);
void causal_backward(const Config& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gy,
                     const CudaFlowState& st, Tensor& grad_q, Tensor& grad_k, Tensor& grad_v);

// A scratch or state buffer of the inputs' dtype and device.
inline Tensor buffer(const Tensor& like, const Shape& shape) { return make_empty(shape, like.dtype(), like.device()); }

template <class T>
T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// ---- per-element helpers ---------------------------------------------------------------------

// phi: sigmoid, or relu(x) + 1e-6 with every sign-bit-set input (-0 included) mapped to +0,
// exactly as the CPU's bit trick.
template <class T>
__device__ inline T phi(bool relu, T x) {
  if (relu) return (signbit(x) ? T(0) : x) + T(1e-6);
  return d_sigmoid(x);
}

__device__ inline bool positive_bits(float x) { return __float_as_int(x) > 0; }
__device__ inline bool positive_bits(double x) { return __double_as_longlong(x) > 0; }

// g * phi'(x) given fx = phi(x); relu'(x) = [x > +0] (0 at 0: the jax convention, 0.7.6).
template <class T>
__device__ inline T phi_grad(bool relu, T x, T fx, T g) {
  if (relu) return positive_bits(x) ? g : T(0);
  return g * fx * (T(1) - fx);
}

// std::clamp order (a NaN passes through), and torch.clamp's gradient mask (bounds pass).
template <class T>
__device__ inline T clamp_source(bool has_clamp, T c, T o) {
  return has_clamp ? (o < -c ? -c : (c < o ? c : o)) : o;
}
template <class T>
__device__ inline bool clamp_passes(bool has_clamp, T c, T o) {
  return !has_clamp || (o >= -c && o <= c);
}

// ---- shared kernels --------------------------------------------------------------------------

// out[bh, r, d] = padded(b, r) ? 0 : phi(x[bh, r, d]); pad: [B, R] or null.
template <class T>
__global__ void features_kernel(int64_t total, int64_t R, int64_t D, int64_t H, bool relu, const uint8_t* pad,
                                const T* x, T* out) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t row = e / D, bh = row / R, r = row % R;
    out[e] = (pad && pad[(bh / H) * R + r]) ? T(0) : phi(relu, x[e]);
  }
}

template <class T>
void features(cudaStream_t s, const Config& c, int64_t R, const Tensor& x, const uint8_t* pad, Tensor& out) {
  const int64_t total = c.BH() * R * c.D;
  features_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(total, R, c.D, c.H, c.relu_features(), pad, ptr<T>(x), ptr<T>(out));
  CFX_CUDA_CHECK_LAUNCH();
}

// grad_x[bh, r, d] = padded ? 0 : (g[bh, r, d] + add[bh, d]) * phi'(x) with fx = phi(x) given;
// add: [BH, D] or null.
template <class T>
__global__ void feature_grad_kernel(int64_t total, int64_t R, int64_t D, int64_t H, bool relu, const uint8_t* pad,
                                    const T* x, const T* fx, const T* g, const T* add, T* grad_x) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t row = e / D, bh = row / R, r = row % R, d = e % D;
    if (pad && pad[(bh / H) * R + r]) {
      grad_x[e] = T(0);
      continue;
    }
    const T ge = add ? g[e] + add[bh * D + d] : g[e];
    grad_x[e] = phi_grad(relu, x[e], fx[e], ge);
  }
}

template <class T>
void feature_grad(cudaStream_t s, const Config& c, int64_t R, const Tensor& x, const Tensor& fx, const Tensor& g,
                  const T* add, const uint8_t* pad, Tensor& grad_x) {
  const int64_t total = c.BH() * R * c.D;
  feature_grad_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(total, R, c.D, c.H, c.relu_features(), pad, ptr<T>(x),
                                                               ptr<T>(fx), ptr<T>(g), add, ptr<T>(grad_x));
  CFX_CUDA_CHECK_LAUNCH();
}

// out[bh, d] = sum_r w[bh, r] * (x[bh, r, d] + shift)   (w null: weight 1)
//
// The rows are split into `splits` slices (grid z) so that a small batch (B=1, H=8) still
// fills the GPU: each block sums one slice of 32 columns with 8 row-threads into a partial,
// then col_sum_combine adds the partials in slice order. Fixed order throughout, so the
// result is the same from run to run (no atomics).
constexpr int kColX = 32, kColY = 8;
constexpr int64_t kColTargetBlocks = 1024;  // a few waves of blocks on a 100+ SM GPU
constexpr int64_t kColMinRows = 256;        // rows per slice at least, or the partials cost more

template <class T>
__global__ void col_sum_kernel(int64_t BH, int64_t R, int64_t D, int64_t rows_per_slice, const T* x, const T* w,
                               T shift, T* out) {
  __shared__ T part[kColY][kColX + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t d = static_cast<int64_t>(blockIdx.x) * kColX + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.z) * rows_per_slice, r1 = min(R, r0 + rows_per_slice);
  T* slice_out = out + static_cast<int64_t>(blockIdx.z) * BH * D;  // partials [splits, BH, D]
  for (int64_t bh = blockIdx.y; bh < BH; bh += gridDim.y) {  // uniform per block
    T acc = 0;
    if (d < D)
      for (int64_t r = r0 + ty; r < r1; r += kColY) {
        const T xv = x[(bh * R + r) * D + d] + shift;
        acc += w ? w[bh * R + r] * xv : xv;
      }
    part[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && d < D) {
      T total = part[0][tx];
      for (int k = 1; k < kColY; ++k) total += part[k][tx];
      slice_out[bh * D + d] = total;
    }
    __syncthreads();
  }
}

// out[e] = sum_z partial[z, e] for e < n, z in order.
template <class T>
__global__ void col_sum_combine_kernel(int64_t n, int64_t splits, const T* partial, T* out) {
  for (int64_t e = grid_start(); e < n; e += grid_step()) {
    T total = partial[e];
    for (int64_t z = 1; z < splits; ++z) total += partial[z * n + e];
    out[e] = total;
  }
}

template <class T>
void col_sum(cudaStream_t s, const Config& c, int64_t R, const T* x, const T* w, T shift, T* out) {
  const int64_t col_blocks = (c.D + kColX - 1) / kColX, bh_blocks = std::min<int64_t>(c.BH(), 65535);
  const int64_t n = c.BH() * c.D;
  if (n == 0) return;
  int64_t splits = std::clamp<int64_t>(kColTargetBlocks / (col_blocks * bh_blocks), 1, std::max<int64_t>(R / kColMinRows, 1));
  const int64_t rows_per_slice = std::max<int64_t>((R + splits - 1) / splits, 1);
  splits = std::max<int64_t>((R + rows_per_slice - 1) / rows_per_slice, 1);
  // The partials are freed on return while the kernels may still be queued: safe, the caching
  // allocator only hands the block to work queued later on the same stream (cuda/allocator.cpp).
  Tensor partial;
  T* slice_out = out;
  if (splits > 1) {
    int device = 0;
    CFX_CUDA_CHECK(cudaGetDevice(&device));  // the callers' OnDevice made it current
    partial = make_empty({splits, n}, dtype_of<T>(), Device::cuda(device));
    slice_out = ptr<T>(partial);
  }
  const dim3 grid(static_cast<unsigned>(col_blocks), static_cast<unsigned>(bh_blocks), static_cast<unsigned>(splits));
  col_sum_kernel<T><<<grid, dim3(kColX, kColY), 0, s>>>(c.BH(), R, c.D, rows_per_slice, x, w, shift, slice_out);
  CFX_CUDA_CHECK_LAUNCH();
  if (splits > 1) {
    col_sum_combine_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(n, splits, slice_out, out);
    CFX_CUDA_CHECK_LAUNCH();
  }
}

// One warp per row of x [BH, R, D]: dot = sum_d (x[d] + shift) * (y[d] + shift) + after, y the
// row y + bh * y_bh + r * y_row (y_row = 0: one vector per (b,h)); after = Config::dot_offset()
// for the four normalisers, 0 otherwise. Then, by mode:
enum class RowDot {
  Recip,    // out = 1 / dot            (I, O of 0.2); 0 for padded rows
  Sigmoid,  // out = sigma(dot * L / S_eff[b])   (A of 0.2)
  Plain,    // out = dot                (O_hat of 0.2, gC of 0.6); 0 for padded rows
};
constexpr int kWarpsPerBlock = kThreads / 32;

template <class T>
__global__ void row_dot_kernel(int64_t rows, int64_t R, int64_t D, int64_t H, const T* x, const T* y, int64_t y_bh,
                               int64_t y_row, T shift, T after, RowDot mode, const uint8_t* pad,
                               const int64_t* s_eff, int64_t L, T* out) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {  // uniform per warp
    const int64_t bh = row / R, r = row % R, b = bh / H;
    const T* xr = x + row * D;
    const T* yr = y + bh * y_bh + r * y_row;
    T acc = 0;
    for (int64_t d = lane; d < D; d += 32) acc += (xr[d] + shift) * (yr[d] + shift);
    const T dot = warp_sum(acc) + after;
    if (lane == 0) {
      const bool padded = pad && pad[b * R + r];
      switch (mode) {
        case RowDot::Recip: out[row] = padded ? T(0) : T(1) / dot; break;
        case RowDot::Sigmoid: out[row] = d_sigmoid(dot * (T(L) / T(s_eff[b]))); break;
        case RowDot::Plain: out[row] = padded ? T(0) : dot; break;
      }
    }
  }
}

template <class T>
void row_dot(cudaStream_t s, const Config& c, int64_t R, const T* x, const T* y, int64_t y_bh, int64_t y_row, T shift,
             T after, RowDot mode, const uint8_t* pad, const int64_t* s_eff, T* out) {
  const int64_t rows = c.BH() * R;
  row_dot_kernel<T><<<blocks_for(rows, kWarpsPerBlock), kThreads, 0, s>>>(rows, R, c.D, c.H, x, y, y_bh, y_row, shift,
                                                                          after, mode, pad, s_eff, c.L, out);
  CFX_CUDA_CHECK_LAUNCH();
}

// out[bh, r, :] = padded ? 0 : (s1[bh, r] * s2[bh, r] / (r + 1 if div_n)) * x[bh, r, :]
// (s2 null: 1; out may be x). The factor is formed in the CPU's order: (s1 * s2) / n.
template <class T>
__global__ void scale_rows_kernel(int64_t total, int64_t R, int64_t W, int64_t H, const T* s1, const T* s2, bool div_n,
                                  const uint8_t* pad, const T* x, T* out) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t row = e / W, bh = row / R, r = row % R;
    if (pad && pad[(bh / H) * R + r]) {
      out[e] = T(0);
      continue;
    }
    T f = s2 ? s1[row] * s2[row] : s1[row];
    if (div_n) f = f / T(r + 1);
    out[e] = f * x[e];
  }
}

template <class T>
void scale_rows(cudaStream_t s, const Config& c, int64_t R, int64_t W, const T* s1, const T* s2, bool div_n,
                const uint8_t* pad, const T* x, T* out) {
  const int64_t total = c.BH() * R * W;
  scale_rows_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(total, R, W, c.H, s1, s2, div_n, pad, x, out);
  CFX_CUDA_CHECK_LAUNCH();
}

}  // namespace cfx::cuda::flow
