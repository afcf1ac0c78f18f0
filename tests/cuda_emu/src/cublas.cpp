// The emulated cuBLAS: handles, and strided-batched GEMM computed by plain loops (its own
// code, not the CPU backend's BLAS, so a layout mistake in cuda/blas.cu cannot cancel out).
//
// Checks, in cuBLAS's order of concern:
//   - arguments, exactly as documented for cublas<t>gemmStridedBatched: negative sizes, an
//     unknown operation, lda < max(1, rows of A as stored), likewise ldb and ldc, null
//     alpha/beta -> CUBLAS_STATUS_INVALID_VALUE;
//   - what cuBLAS cannot check but a GPU then faults on (cudaErrorIllegalAddress): a matrix
//     that reaches outside its device allocation, a handle used on another device. These
//     stop the emulator with a message naming the matrix.
// Accumulation is in T, in k order, with beta == 0 meaning C is not read (as in BLAS).
#include <algorithm>
#include <vector>

#include "cublas_v2.h"
#include "internal.h"

struct cublasContext {
  int device;
  cudaStream_t stream;
  cublasMath_t math;
};

namespace {

using namespace emu::detail;

bool known_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// The element span of a strided batch of rows x cols column-major matrices inside the
// allocation `p` points into; stops the emulator if any element lies outside it.
void check_matrix(const char* fn, const char* name, const void* p, size_t elem, long long rows, long long cols,
                  long long ld, long long stride, long long batch) {
  if (rows == 0 || cols == 0 || batch == 0) return;
  const long long last_batch = (batch - 1) * stride;
  const long long lo = std::min(0LL, last_batch), hi = std::max(0LL, last_batch) + (cols - 1) * ld + rows - 1;
  Allocation a;
  const char* c = static_cast<const char*>(p);
  const bool inside = find_allocation(p, &a) && c + lo * static_cast<long long>(elem) >= a.base &&
                      c + (hi + 1) * static_cast<long long>(elem) <= a.base + a.size;
  if (!inside)
    fatal("%s: matrix %s (%lld x %lld, ld %lld, stride %lld, batch %lld at %p) is %s: a GPU faults with "
          "cudaErrorIllegalAddress",
          fn, name, rows, cols, ld, stride, batch, p,
          !in_arena(p) ? "not device memory" : "not inside one device allocation");
  if (a.device != current_device())
    fatal("%s: matrix %s is memory of device %d, the current device is %d", fn, name, a.device, current_device());
}

template <class T>
cublasStatus_t gemm_strided_batched(const char* fn, cublasHandle_t h, cublasOperation_t transa,
                                    cublasOperation_t transb, int m, int n, int k, const T* alpha, const T* A, int lda,
                                    long long sa, const T* B, int ldb, long long sb, const T* beta, T* C, int ldc,
                                    long long sc, int batch) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  if (!known_op(transa) || !known_op(transb) || m < 0 || n < 0 || k < 0 || batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;

  std::lock_guard lock(api_mutex());
  if (h->device != current_device())
    fatal("%s: the handle belongs to device %d but device %d is current", fn, h->device, current_device());
  // Host pointer mode: alpha and beta are read on the host, before device access is on.
  const T a = *alpha, b = *beta;
  const bool reads_ab = k > 0 && a != T(0);
  if (reads_ab) {
    check_matrix(fn, "A", A, sizeof(T), ta ? k : m, ta ? m : k, lda, sa, batch);
    check_matrix(fn, "B", B, sizeof(T), tb ? n : k, tb ? k : n, ldb, sb, batch);
  }
  check_matrix(fn, "C", C, sizeof(T), m, n, ldc, sc, batch);

  ensure_fault_handler();
  DeviceAccess access;
  std::vector<T> acc(m);
  for (long long i = 0; i < batch; ++i) {
    const T* Ai = A + i * sa;
    const T* Bi = B + i * sb;
    T* Ci = C + i * sc;
    for (int j = 0; j < n; ++j) {
      std::fill(acc.begin(), acc.end(), T(0));
      if (reads_ab)
        for (int l = 0; l < k; ++l) {
          const T blj = tb ? Bi[j + static_cast<long long>(l) * ldb] : Bi[l + static_cast<long long>(j) * ldb];
          if (ta)
            for (int r = 0; r < m; ++r) acc[r] += Ai[l + static_cast<long long>(r) * lda] * blj;
          else
            for (int r = 0; r < m; ++r) acc[r] += Ai[r + static_cast<long long>(l) * lda] * blj;
        }
      T* cj = Ci + static_cast<long long>(j) * ldc;
      for (int r = 0; r < m; ++r) cj[r] = b == T(0) ? a * acc[r] : a * acc[r] + b * cj[r];
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
#define CFX_EMU_NAME(s) \
  case s: return #s;
    CFX_EMU_NAME(CUBLAS_STATUS_SUCCESS)
    CFX_EMU_NAME(CUBLAS_STATUS_NOT_INITIALIZED)
    CFX_EMU_NAME(CUBLAS_STATUS_ALLOC_FAILED)
    CFX_EMU_NAME(CUBLAS_STATUS_INVALID_VALUE)
    CFX_EMU_NAME(CUBLAS_STATUS_ARCH_MISMATCH)
    CFX_EMU_NAME(CUBLAS_STATUS_MAPPING_ERROR)
    CFX_EMU_NAME(CUBLAS_STATUS_EXECUTION_FAILED)
    CFX_EMU_NAME(CUBLAS_STATUS_INTERNAL_ERROR)
    CFX_EMU_NAME(CUBLAS_STATUS_NOT_SUPPORTED)
    CFX_EMU_NAME(CUBLAS_STATUS_LICENSE_ERROR)
#undef CFX_EMU_NAME
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "the functionality requested requires some license";
  }
  return "unknown error";
}

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  if (device_count() == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  *handle = new cublasContext{current_device(), nullptr, CUBLAS_DEFAULT_MATH};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_stream(stream)) return CUBLAS_STATUS_INVALID_VALUE;
  if (stream && stream->device != handle->device)
    fatal("cublasSetStream: a stream of device %d for a handle of device %d", stream->device, handle->device);
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode < CUBLAS_DEFAULT_MATH || mode > CUBLAS_TF32_TENSOR_OP_MATH) return CUBLAS_STATUS_INVALID_VALUE;
  handle->math = mode;  // recorded only: the emulator always computes in full precision
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float* alpha, const float* A, int lda,
                                         long long int strideA, const float* B, int ldb, long long int strideB,
                                         const float* beta, float* C, int ldc, long long int strideC,
                                         int batch_count) {
  return gemm_strided_batched("cublasSgemmStridedBatched", handle, transa, transb, m, n, k, alpha, A, lda, strideA, B,
                              ldb, strideB, beta, C, ldc, strideC, batch_count);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const double* alpha, const double* A, int lda,
                                         long long int strideA, const double* B, int ldb, long long int strideB,
                                         const double* beta, double* C, int ldc, long long int strideC,
                                         int batch_count) {
  return gemm_strided_batched("cublasDgemmStridedBatched", handle, transa, transb, m, n, k, alpha, A, lda, strideA, B,
                              ldb, strideB, beta, C, ldc, strideC, batch_count);
}
