// Device-side building blocks shared by the CUDA kernels (the GPU twin of ops/cpu/loops.h):
// the strided N-operand indexer, grid-stride indices, block reductions, device math
// overloads and the accumulator type.
//
// Indexer<N>: the same coalescing as cpu::StridedLoop (drop size-1 dims, merge a dim into
// the next when every operand steps over it evenly), then the coalesced shape and per-operand
// element strides are passed to the kernel *by value* (a small struct in kernel parameter
// space). A thread maps its linear index i (row-major over the shape) to one element offset
// per operand.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"
#include "cuda/runtime.h"

namespace cfx::cuda {

using ::cfx::detail::make_empty;  // uninitialised dense tensor (core/tensor.h)

// Dims left after coalescing; more is a cfx::Error (make the input contiguous first).
inline constexpr int kMaxDims = 10;

template <int N>
struct Indexer {
  int ndim = 1;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  // off[k] = element offset of operand k at row-major linear index i.
  __device__ void offsets(int64_t i, int64_t (&off)[N]) const {
    if (ndim == 1) {  // dense or one-strided: no division
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] = i * strides[k][0];
      return;
    }
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t c = i % sizes[d];
      i /= sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += c * strides[k][d];
    }
  }
};

// Strides of `t` broadcast to `shape` (right-aligned; 0 where t has size 1 or no dim).
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape out(shape.size(), 0);
  const int64_t lead = static_cast<int64_t>(shape.size()) - t.dim();
  for (int64_t i = 0; i < t.dim(); ++i) out[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return out;
}

template <int N>
Indexer<N> make_indexer(const Shape& shape, const std::array<Shape, N>& operand_strides) {
  Indexer<N> ix;
  int nd = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < N && merge; ++k)
      merge = ix.strides[k][nd - 1] == operand_strides[k][d] * shape[d];
    if (merge) {
      ix.sizes[nd - 1] *= shape[d];
      for (int k = 0; k < N; ++k) ix.strides[k][nd - 1] = operand_strides[k][d];
    } else {
      CFX_CHECK(nd < kMaxDims, "cuda: a strided tensor of shape ", shape, " has more than ", kMaxDims,
                " non-mergeable dims; call .contiguous() first");
      ix.sizes[nd] = shape[d];
      for (int k = 0; k < N; ++k) ix.strides[k][nd] = operand_strides[k][d];
      ++nd;
    }
  }
  if (nd == 0) {  // a scalar (or all size-1) iteration space: one element at offset 0
    ix.sizes[0] = 1;
    for (int k = 0; k < N; ++k) ix.strides[k][0] = 0;
    nd = 1;
  }
  ix.ndim = nd;
  return ix;
}

// ---- grid-stride loops ---------------------------------------------------------------------
__device__ inline int64_t grid_start() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---- accumulation --------------------------------------------------------------------------
// Sums of float32 run in double, as on the CPU (ops/cpu/reduce_cpu.cpp), so both backends
// round the same exact-ish sum once.
template <class T> struct AccOf { using type = T; };
template <> struct AccOf<float> { using type = double; };
template <class T> using Acc = typename AccOf<T>::type;

struct SumOp {
  template <class A> __device__ A operator()(A a, A b) const { return static_cast<A>(a + b); }
};
// std::max / std::min semantics: a NaN candidate never replaces the running value.
struct MaxOp {
  template <class A> __device__ A operator()(A a, A b) const { return (a < b) ? b : a; }
};
struct MinOp {
  template <class A> __device__ A operator()(A a, A b) const { return (b < a) ? b : a; }
};

// Reduces v over the block (blockDim.x == kBlock, a power of two) in shared memory: a fixed
// tree, so the result does not depend on timing. Every thread gets the result. Safe to call
// repeatedly (the trailing barrier protects the buffer).
template <int kBlock, class A, class Op>
__device__ A block_reduce(A v, Op op) {
  static_assert((kBlock & (kBlock - 1)) == 0, "block_reduce: kBlock must be a power of two");
  __shared__ A buf[kBlock];
  const int t = threadIdx.x;
  buf[t] = v;
  __syncthreads();
  for (int s = kBlock / 2; s > 0; s >>= 1) {
    if (t < s) buf[t] = op(buf[t], buf[t + s]);
    __syncthreads();
  }
  const A r = buf[0];
  __syncthreads();
  return r;
}

// Sum over the 32 lanes of a warp (butterfly: every lane gets the total). float/double only.
template <class T>
__device__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// ---- device math, one overload per float type (the precise functions, not intrinsics) ------
__device__ inline float d_exp(float x) { return expf(x); }
__device__ inline double d_exp(double x) { return exp(x); }
__device__ inline float d_log(float x) { return logf(x); }
__device__ inline double d_log(double x) { return log(x); }
__device__ inline float d_sqrt(float x) { return sqrtf(x); }
__device__ inline double d_sqrt(double x) { return sqrt(x); }
__device__ inline float d_tanh(float x) { return tanhf(x); }
__device__ inline double d_tanh(double x) { return tanh(x); }
__device__ inline float d_erf(float x) { return erff(x); }
__device__ inline double d_erf(double x) { return erf(x); }
__device__ inline float d_abs(float x) { return fabsf(x); }
__device__ inline double d_abs(double x) { return fabs(x); }
__device__ inline float d_pow(float x, float y) { return powf(x, y); }
__device__ inline double d_pow(double x, double y) { return pow(x, y); }

template <class T>
__device__ inline T d_sigmoid(T x) { return T(1) / (T(1) + d_exp(-x)); }

}  // namespace cfx::cuda
