// Internal runtime of the CUDA backend: the error-check macros, the per-device context
// (stream + cuBLAS handle), a device guard and launch-shape helpers. Included by the
// backend's own .cu/.cpp files only (it pulls in the CUDA headers); users include
// cuda/context.h.
//
// Conventions of every CUDA kernel entry in cuda/*.cu:
//   1. `OnDevice on(t.device())` makes the tensor's device current (restored on scope exit)
//      and gives on.stream(), the one stream all Conflux work of that device runs on;
//   2. launches never have an empty grid (n == 0 returns early) and are followed by
//      CFX_CUDA_CHECK_LAUNCH(), which throws on a bad launch configuration;
//   3. host <-> device copies synchronise the stream before returning (cuda/pointwise.cu).
// Because every kernel, copy and cuBLAS call of a device runs on the same stream, memory the
// caching allocator hands out again is never still in use by earlier work (stream order).
// Debugging: CONFLUX_CUDA_SYNC=1 in the environment synchronises after every launch, so an
// asynchronous fault is reported at the kernel that caused it.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/device.h"
#include "core/error.h"
#include "cuda/context.h"

namespace cfx::cuda {

namespace detail {
[[noreturn]] void cuda_fail(const char* call, cudaError_t err, const char* file, int line);
[[noreturn]] void cublas_fail(const char* call, cublasStatus_t status, const char* file, int line);
void after_launch(const char* file, int line);
}  // namespace detail

}  // namespace cfx::cuda

// CFX_CUDA_CHECK(cudaMalloc(&p, n)): throws cfx::Error "CUDA error in cudaMalloc(&p, n):
// cudaErrorMemoryAllocation (out of memory) (cuda/allocator.cpp:42)".
#define CFX_CUDA_CHECK(call)                                                             \
  do {                                                                                   \
    const cudaError_t cfx_err_ = (call);                                                 \
    if (cfx_err_ != cudaSuccess) [[unlikely]]                                            \
      ::cfx::cuda::detail::cuda_fail(#call, cfx_err_, __FILE__, __LINE__);               \
  } while (0)

#define CFX_CUBLAS_CHECK(call)                                                           \
  do {                                                                                   \
    const cublasStatus_t cfx_status_ = (call);                                           \
    if (cfx_status_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                               \
      ::cfx::cuda::detail::cublas_fail(#call, cfx_status_, __FILE__, __LINE__);          \
  } while (0)

// After every kernel<<<...>>>: reports a failed launch (bad configuration, no kernel image
// for this GPU) at its own file:line.
#define CFX_CUDA_CHECK_LAUNCH() ::cfx::cuda::detail::after_launch(__FILE__, __LINE__)

namespace cfx::cuda {

// One per device, created on first use and never destroyed (tensors freed after main()
// returns still reach the allocator, and the driver tears everything down at exit).
class CudaContext {
 public:
  explicit CudaContext(int device);
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  // Created on first call, bound to stream(). One handle per device: Conflux issues GPU
  // work from one host thread at a time (cuBLAS handles are not for concurrent use).
  cublasHandle_t cublas();

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
};

// The context of cuda:`device`; throws when the index is not a present device.
CudaContext& context(int device);

// Makes `device` current for the guard's lifetime; throws when it is not a present device.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// The usual first line of a kernel entry: device current + its context.
struct OnDevice {
  explicit OnDevice(Device d) : guard(d.index), ctx(context(d.index)) {}
  cudaStream_t stream() const { return ctx.stream(); }
  DeviceGuard guard;
  CudaContext& ctx;
};

// ---- launch shapes ------------------------------------------------------------------------
inline constexpr int kThreads = 256;          // threads per block of the 1-d kernels
inline constexpr int64_t kMaxBlocks = 65535;  // grid-stride loops cover the rest

// Blocks for a grid-stride loop over n items (n > 0), `per_block` items per block per step.
inline unsigned blocks_for(int64_t n, int64_t per_block = kThreads) {
  return static_cast<unsigned>(std::min<int64_t>((n + per_block - 1) / per_block, kMaxBlocks));
}

// ---- cuBLAS ---------------------------------------------------------------------------------
// Row-major strided-batched GEMM (defined in cuda/blas.cu for float and double):
//   c[i] (m x n, ldc) = alpha * op(a[i]) op(b[i]) + beta * c[i],  i < batch,
// a[i] = a + i * stride_a (0 = the same matrix for every i), likewise b and c. op(a) is
// m x k: a is stored m x k (lda >= k) or, when trans_a, k x m (lda >= m). Runs on ctx's stream.
template <class T>
void gemm_strided_batched(CudaContext& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                          const T* a, int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b,
                          T beta, T* c, int64_t ldc, int64_t stride_c, int64_t batch);

}  // namespace cfx::cuda
