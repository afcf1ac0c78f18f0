// CUDA runtime glue: device discovery, the per-device context (stream, cuBLAS handle), the
// device guard and the error reporting behind CFX_CUDA_CHECK / CFX_CUBLAS_CHECK.
//
// Nothing here touches the GPU at static-initialisation time, so a process on a machine
// without a driver or device loads libconflux and runs its CPU work unchanged;
// device_count() then answers 0.
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "cuda/runtime.h"

namespace cfx::cuda {

namespace detail {

void cuda_fail(const char* call, cudaError_t err, const char* file, int line) {
  (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  ::cfx::detail::throw_error(file, line,
                             ::cfx::detail::str_cat("CUDA error in ", call, ": ", cudaGetErrorName(err), " (",
                                                    cudaGetErrorString(err), ")"));
}

void cublas_fail(const char* call, cublasStatus_t status, const char* file, int line) {
  ::cfx::detail::throw_error(file, line,
                             ::cfx::detail::str_cat("cuBLAS error in ", call, ": ", cublasGetStatusName(status), " (",
                                                    cublasGetStatusString(status), ")"));
}

namespace {
bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("CONFLUX_CUDA_SYNC");
    return v && std::strcmp(v, "0") != 0 && *v;
  }();
  return on;
}
}  // namespace

void after_launch(const char* file, int line) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) cuda_fail("kernel launch", err, file, line);
  if (sync_after_launch()) {
    const cudaError_t sync_err = cudaDeviceSynchronize();
    if (sync_err != cudaSuccess) cuda_fail("kernel execution (CONFLUX_CUDA_SYNC=1)", sync_err, file, line);
  }
}

}  // namespace detail

// ---- devices ----------------------------------------------------------------------------------

namespace {
struct DeviceQuery {
  int count = 0;
  cudaError_t error = cudaSuccess;
};
// Asked once: the answer cannot change for this process (CUDA_VISIBLE_DEVICES is read at
// driver initialisation).
const DeviceQuery& device_query() {
  static const DeviceQuery query = [] {
    DeviceQuery q;
    q.error = cudaGetDeviceCount(&q.count);
    if (q.error != cudaSuccess) {  // no driver, no device, driver too old
      (void)cudaGetLastError();
      q.count = 0;
    }
    return q;
  }();
  return query;
}
}  // namespace

int device_count() { return device_query().count; }

std::string unavailable_reason() {
  const DeviceQuery& q = device_query();
  if (q.error != cudaSuccess)
    return std::string("cudaGetDeviceCount failed with ") + cudaGetErrorName(q.error) + " (" +
           cudaGetErrorString(q.error) + ")";
  if (q.count == 0) return "cudaGetDeviceCount found no device (check CUDA_VISIBLE_DEVICES)";
  return "";
}

bool is_available() { return device_count() > 0; }

void synchronize(int device) {
  DeviceGuard guard(device);
  CFX_CUDA_CHECK(cudaDeviceSynchronize());  // covers the Conflux stream (and every other)
}

// ---- context ----------------------------------------------------------------------------------

CudaContext::CudaContext(int device) : device_(device) {
  DeviceGuard guard(device);
  // A blocking stream: ordered with the legacy default stream too, so a stray synchronous
  // CUDA call elsewhere in the process cannot overtake Conflux work.
  CFX_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamDefault));
}

cublasHandle_t CudaContext::cublas() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (!cublas_) {
    DeviceGuard guard(device_);
    CFX_CUBLAS_CHECK(cublasCreate(&cublas_));
    CFX_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    // Full FP32 (no TF32 tensor-core rounding), so GPU results stay comparable with the
    // CPU ones; CUBLAS_DEFAULT_MATH already means this unless NVIDIA_TF32_OVERRIDE is set.
    CFX_CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
  }
  return cublas_;
}

namespace {
constexpr int kMaxDevices = 64;
}

CudaContext& context(int device) {
  const int n = device_count();
  CFX_CHECK(device >= 0 && device < n, "cuda: device cuda:", device, " is not available (", n,
            " CUDA device(s) found)");
  CFX_CHECK(device < kMaxDevices, "cuda: device index ", device, " exceeds the supported ", kMaxDevices);
  static std::array<std::once_flag, kMaxDevices> once;
  static std::array<CudaContext*, kMaxDevices> contexts{};  // leaked on purpose (see the class)
  std::call_once(once[device], [&] { contexts[device] = new CudaContext(device); });
  return *contexts[device];
}

DeviceGuard::DeviceGuard(int device) {
  const int n = device_count();
  CFX_CHECK(device >= 0 && device < n, "cuda: device cuda:", device, " is not available (", n,
            " CUDA device(s) found)");
  CFX_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) CFX_CUDA_CHECK(cudaSetDevice(device));
  else previous_ = -1;  // nothing to restore
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) (void)cudaSetDevice(previous_);  // destructors never throw
}

}  // namespace cfx::cuda
