// CPU bmm_kernel (ops/kernels.h) on OpenBLAS: out[b] = a[b] @ b[b] for a [Bt,M,K],
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
#include <optional>
#include <type_traits>

#include "core/parallel.h"
#include "ops/blas_layout.h"
#include "ops/kernels.h"

namespace cfx::cpu {
namespace {

// One GEMM operand as BLAS wants it: a base pointer, a batch stride, NoTrans/Trans and ld.
template <class T>
struct GemmOperand {
  const T* data = nullptr;
  int64_t batch_stride = 0;  // elements between batch items; 0 = broadcast
  CBLAS_TRANSPOSE trans = CblasNoTrans;
  int64_t ld = 1;
  Tensor copy;  // keeps the dense copy alive when one was needed
};

// Describes operand t [Bt, rows, cols] for BLAS, copying it to dense only if it must.
template <class T>
GemmOperand<T> gemm_operand(const Tensor& t) {
  const int64_t batch = t.size(0), rows = t.size(1), cols = t.size(2);
  GemmOperand<T> op;
  op.batch_stride = batch == 1 ? 0 : t.stride(0);
  if (auto layout = blas_layout(rows, cols, t.stride(1), t.stride(2))) {
    op.data = static_cast<const T*>(t.raw_data());
    op.trans = layout->first ? CblasTrans : CblasNoTrans;
    op.ld = layout->second;
    return op;
  }
  // Neither unit stride: copy to row-major. A broadcast batch (stride 0) is copied once.
  const int64_t copies = op.batch_stride == 0 ? 1 : batch;
  Tensor src = detail::make_view(t, {copies, rows, cols}, {op.batch_stride, t.stride(1), t.stride(2)}, t.offset());
  op.copy = detail::make_empty(src.shape(), t.dtype(), t.device());
  copy_kernel(t.device(), op.copy, src);
  op.data = static_cast<const T*>(op.copy.raw_data());
  op.batch_stride = copies == 1 ? 0 : rows * cols;
  op.trans = CblasNoTrans;
  op.ld = std::max<int64_t>(cols, 1);
  return op;
}

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
  CFX_CHECK(a.dim() == 3 && b.dim() == 3 && out.dim() == 3, "bmm_kernel: expected 3-d a, b and out, got ",
            a.shape(), ", ", b.shape(), " and ", out.shape());
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  CFX_CHECK(a.size(0) == batch && b.size(0) == batch && a.size(1) == m && b.size(1) == k && b.size(2) == n,
            "bmm_kernel: expected a [Bt,M,K], b [Bt,K,N], out [Bt,M,N], got ", a.shape(), ", ", b.shape(), " and ",
            out.shape());
  CFX_CHECK(a.dtype() == b.dtype() && a.dtype() == out.dtype(), "bmm_kernel: dtypes differ: ", a.dtype(), ", ",
            b.dtype(), " and ", out.dtype());
  CFX_CHECK(out.is_contiguous(), "bmm_kernel: out must be dense, got strides ", out.strides());
  for (int64_t v : {m, n, k})
    CFX_CHECK(v <= INT_MAX, "bmm_kernel: matrix size ", v, " exceeds the BLAS (32-bit int) limit");
  if (out.numel() == 0) return;
  if (k == 0) {  // an empty sum: out = 0 (BLAS is not asked to handle k == 0)
    fill_kernel(out.device(), out, 0.0);
    return;
  }
  visit_floating(a.dtype(), "bmm", [&]<class T>() {
    const GemmOperand<T> A = gemm_operand<T>(a), B = gemm_operand<T>(b);
    T* c = static_cast<T*>(out.raw_data());
    auto one = [&](int64_t i) {
      gemm<T>(A.trans, B.trans, m, n, k, A.data + i * A.batch_stride, A.ld, B.data + i * B.batch_stride, B.ld,
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

CFX_REGISTER_KERNEL(bmm_kernel, DeviceType::CPU, bmm_cpu);

}  // namespace cfx::cpu
