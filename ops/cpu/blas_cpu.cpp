// CPU bmm_kernel (core/kernels.h) on OpenBLAS: out[b] = a[b] @ b[b] for a [Bt,M,K],
// b [Bt,K,N], out [Bt,M,N] dense. float32 -> cblas_sgemm, float64 -> cblas_dgemm.
//
// What BLAS takes directly, so that nothing is copied for the common views:
//   - a row-major matrix (stride[-1] == 1, lda = stride[-2]) as CblasNoTrans;
//   - a column-major one, i.e. a transposed view (stride[-2] == 1, lda = stride[-1]), as
//     CblasTrans over the same memory;
//   - any batch stride, 0 included (a matrix broadcast over the batch is read in place).
// Only a matrix with neither unit stride (e.g. a slice with step) is copied, and then only
// once, not once per batch when it is broadcast.
// Not here: shape checks and autograd (ops/linalg.cpp). The naive triple loop the kernel
// is checked against lives in tests/ops/test_linalg.cpp.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <type_traits>

#include "core/parallel.h"
#include "ops/blas_operand.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

template <class T>
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
          const T* b, int64_t ldb, T* c, int64_t ldc) {
  const auto i = [](int64_t v) { return static_cast<blasint>(v); };
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), 1.0f, a, i(lda), b, i(ldb), 0.0f, c, i(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), 1.0, a, i(lda), b, i(ldb), 0.0, c, i(ldc));
}

// OpenBLAS 0.3.21 (interface/gemm.c) runs a GEMM on one thread when m*n*k is at most
// SMP_THRESHOLD_MIN (65536) * GEMM_MULTITHREAD_THRESHOLD (4). Below that, a batch of GEMMs
// gains from our own threads over the batch; above it, OpenBLAS threads each GEMM itself
// and two levels of threads would only fight over the same cores.
constexpr double kSingleThreadGemmWork = 65536.0 * 4.0;

void bmm_cpu(const Tensor& a, const Tensor& b, Tensor& out) {
  check_bmm_operands(a, b, out);
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  for (int64_t v : {m, n, k})
    CFX_CHECK(v <= INT_MAX, "bmm_kernel: matrix size ", v, " exceeds the BLAS (32-bit int) limit");
  if (out.numel() == 0) return;
  if (k == 0) {  // an empty sum: out = 0 (BLAS is not asked to handle k == 0)
    fill_kernel(out.device(), out, 0.0);
    return;
  }
  visit_floating(a.dtype(), "bmm", [&]<class T>() {
    const BlasOperand A = blas_operand(a), B = blas_operand(b);
    const T *a_data = static_cast<const T*>(A.data), *b_data = static_cast<const T*>(B.data);
    const auto trans = [](const BlasOperand& op) { return op.trans ? CblasTrans : CblasNoTrans; };
    T* c = static_cast<T*>(out.raw_data());
    auto one = [&](int64_t i) {
      gemm<T>(trans(A), trans(B), m, n, k, a_data + i * A.batch_stride, A.ld, b_data + i * B.batch_stride, B.ld,
              c + i * m * n, n);
    };
    const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    if (batch > 1 && work <= kSingleThreadGemmWork) {
      // Many small GEMMs: split the batch over our threads, each GEMM single-threaded.
      const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kSingleThreadGemmWork / 4 / work));
      parallel_for(0, batch, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) one(i);
      });
    } else {
      for (int64_t i = 0; i < batch; ++i) one(i);
    }
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(bmm_kernel, bmm_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
