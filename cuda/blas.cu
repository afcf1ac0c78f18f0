// CUDA bmm_kernel (core/kernels.h) on cuBLAS, and the row-major strided-batched GEMM helper
// the other CUDA files use (cuda/runtime.h). CPU twin: ops/cpu/blas_cpu.cpp.
//
//   out[b] = a[b] @ b[b],  a [Bt,M,K], b [Bt,K,N], out [Bt,M,N] dense;  float32 -> Sgemm,
//   float64 -> Dgemm, one cublas<t>gemmStridedBatched call for the whole batch.
//
// cuBLAS is column-major. A row-major matrix X (r x c, leading dim ld) is, read column-major,
// Xᵀ (c x r, same ld). So the row-major product C = op(A) op(B) is computed as the
// column-major product Cᵀ = op(B)ᵀ op(A)ᵀ: swap the operands and m <-> n, keep each
// operand's own transpose flag. What cuBLAS takes without a copy (as on the CPU):
//   - a row-major matrix (stride[-1] == 1, ld = stride[-2])           -> no transpose;
//   - a transposed view (stride[-2] == 1, ld = stride[-1])            -> transpose;
//   - any batch stride, 0 included (a matrix broadcast over the batch).
// A matrix with neither unit stride is copied to dense first (once if broadcast).
#include <climits>
#include <type_traits>

#include "cuda/loops.cuh"
#include "ops/blas_operand.h"
#include "core/kernels.h"

namespace cfx::cuda {

template <class T>
void gemm_strided_batched(CudaContext& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                          const T* a, int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b,
                          T beta, T* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  for (int64_t v : {m, n, k, lda, ldb, ldc, batch})
    CFX_CHECK(v <= INT_MAX, "cuda gemm: size ", v, " exceeds the cuBLAS (32-bit int) limit");
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  DeviceGuard guard(ctx.device());
  cublasHandle_t h = ctx.cublas();
  // Cᵀ (n x m) = op(B)ᵀ (n x k) · op(A)ᵀ (k x m), every matrix read as its column-major transpose.
  if constexpr (std::is_same_v<T, float>)
    CFX_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op_b, op_a, i(n), i(m), i(k), &alpha, b, i(ldb), stride_b, a,
                                               i(lda), stride_a, &beta, c, i(ldc), stride_c, i(batch)));
  else
    CFX_CUBLAS_CHECK(cublasDgemmStridedBatched(h, op_b, op_a, i(n), i(m), i(k), &alpha, b, i(ldb), stride_b, a,
                                               i(lda), stride_a, &beta, c, i(ldc), stride_c, i(batch)));
}

template void gemm_strided_batched<float>(CudaContext&, bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                          int64_t, int64_t, const float*, int64_t, int64_t, float, float*, int64_t,
                                          int64_t, int64_t);
template void gemm_strided_batched<double>(CudaContext&, bool, bool, int64_t, int64_t, int64_t, double,
                                           const double*, int64_t, int64_t, const double*, int64_t, int64_t, double,
                                           double*, int64_t, int64_t, int64_t);

namespace {

void bmm_cuda(const Tensor& a, const Tensor& b, Tensor& out) {
  check_bmm_operands(a, b, out);
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  if (out.numel() == 0) return;
  if (k == 0) {  // an empty sum: out = 0
    fill_kernel(out.device(), out, 0.0);
    return;
  }
  visit_floating(a.dtype(), "bmm", [&]<class T>() {
    const BlasOperand A = blas_operand(a), B = blas_operand(b);
    CudaContext& ctx = context(out.device().index);
    gemm_strided_batched<T>(ctx, A.trans, B.trans, m, n, k, T(1), static_cast<const T*>(A.data), A.ld,
                            A.batch_stride, static_cast<const T*>(B.data), B.ld, B.batch_stride, T(0),
                            static_cast<T*>(out.raw_data()), std::max<int64_t>(n, 1), m * n, batch);
  });
}

}  // namespace

CFX_REGISTER_KERNEL(bmm_kernel, DeviceType::CUDA, bmm_cuda);

}  // namespace cfx::cuda
