// The host API of the emulated CUDA runtime: errors, devices, streams, copies, and the
// launch checks CUDA makes before a kernel runs.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "internal.h"

namespace emu::detail {
namespace {

thread_local cudaError_t g_last_error = cudaSuccess;
thread_local int g_device = 0;
std::set<cudaStream_t> g_streams;  // created and not destroyed

// CONFLUX_CUDA_EMU_DEVICES=n emulates n devices (default 1; 0: a machine without a GPU).
int read_device_count() {
  const char* v = std::getenv("CONFLUX_CUDA_EMU_DEVICES");
  if (!v || !*v) return 1;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end || n < 0 || n > 64) fatal("CONFLUX_CUDA_EMU_DEVICES=%s: expected a count from 0 to 64", v);
  return static_cast<int>(n);
}

// A valid copy operand: [p, p + bytes) inside one device allocation, or host memory.
bool device_operand(const void* p, size_t bytes) { return device_range(p, bytes); }
bool host_operand(const void* p) { return p && !in_arena(p); }

cudaError_t copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  std::lock_guard lock(api_mutex());
  if (device_count() == 0) return record(cudaErrorNoDevice);
  if (bytes == 0) return cudaSuccess;
  if (kind == cudaMemcpyDefault) {  // unified addressing: the pointers say which side they are on
    const bool d = in_arena(dst), s = in_arena(src);
    kind = d ? (s ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
             : (s ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  }
  bool ok = false;
  switch (kind) {
    case cudaMemcpyHostToHost: ok = host_operand(dst) && host_operand(src); break;
    case cudaMemcpyHostToDevice: ok = device_operand(dst, bytes) && host_operand(src); break;
    case cudaMemcpyDeviceToHost: ok = host_operand(dst) && device_operand(src, bytes); break;
    case cudaMemcpyDeviceToDevice: ok = device_operand(dst, bytes) && device_operand(src, bytes); break;
    default: return record(cudaErrorInvalidMemcpyDirection);
  }
  // A pointer on the wrong side of its kind, or a device range past its allocation.
  if (!ok) return record(cudaErrorInvalidValue);
  ensure_fault_handler();
  DeviceAccess access;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

}  // namespace

void fatal(const char* format, ...) {
  std::fflush(stdout);
  std::fputs("\nconflux cuda emulator: ", stderr);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

cudaError_t record(cudaError_t error) {
  if (error != cudaSuccess) g_last_error = error;
  return error;
}

std::recursive_mutex& api_mutex() {
  static std::recursive_mutex m;
  return m;
}

int device_count() {
  static const int n = read_device_count();
  return n;
}

int current_device() { return g_device; }

bool valid_stream(cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  return !stream || g_streams.count(stream);
}

int stream_device(cudaStream_t stream) { return stream ? stream->device : g_device; }

bool launch_accepted(const Config& cfg) {
  if (device_count() == 0) return record(cudaErrorNoDevice), false;
  // A kernel goes to a stream of the current device only.
  if (!valid_stream(cfg.stream) || stream_device(cfg.stream) != g_device)
    return record(cudaErrorInvalidResourceHandle), false;
  const dim3 g = cfg.grid, b = cfg.block;
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  const bool block_ok = b.x && b.y && b.z && b.x <= 1024 && b.y <= 1024 && b.z <= 64 && threads <= 1024;
  const bool grid_ok = g.x && g.y && g.z && g.x <= 2147483647u && g.y <= 65535 && g.z <= 65535;
  if (!block_ok || !grid_ok) return record(cudaErrorInvalidConfiguration), false;
  if (cfg.shared_bytes > 48 * 1024) return record(cudaErrorInvalidValue), false;  // above the default limit
  return true;
}

void check_pointer_argument(const void* p, int index, const Config& cfg) {
  if (!p) return;
  std::lock_guard lock(api_mutex());
  Allocation a;
  const char* problem = nullptr;
  if (!in_arena(p)) problem = "a host pointer";
  else if (!find_allocation(p, &a)) problem = "a pointer into freed or never allocated device memory";
  else if (a.device != g_device) problem = "a pointer to another device's memory";
  if (problem)
    fatal("argument %d (%p) of the kernel launched at %s:%u in %s is %s: on a GPU the kernel faults with "
          "cudaErrorIllegalAddress when it dereferences it",
          index, p, cfg.site.file_name(), static_cast<unsigned>(cfg.site.line()), cfg.site.function_name(), problem);
}

}  // namespace emu::detail

using namespace emu::detail;

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define CFX_EMU_NAME(e) \
  case e: return #e;
    CFX_EMU_NAME(cudaSuccess)
    CFX_EMU_NAME(cudaErrorInvalidValue)
    CFX_EMU_NAME(cudaErrorMemoryAllocation)
    CFX_EMU_NAME(cudaErrorInitializationError)
    CFX_EMU_NAME(cudaErrorInvalidConfiguration)
    CFX_EMU_NAME(cudaErrorInvalidDevicePointer)
    CFX_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    CFX_EMU_NAME(cudaErrorNoDevice)
    CFX_EMU_NAME(cudaErrorInvalidDevice)
    CFX_EMU_NAME(cudaErrorInvalidResourceHandle)
    CFX_EMU_NAME(cudaErrorIllegalAddress)
    CFX_EMU_NAME(cudaErrorLaunchFailure)
    CFX_EMU_NAME(cudaErrorNotSupported)
    CFX_EMU_NAME(cudaErrorUnknown)
#undef CFX_EMU_NAME
  }
  return "unrecognized error code";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unrecognized error code";
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return g_last_error; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return record(cudaErrorInvalidValue);
  *count = device_count();
  return *count ? cudaSuccess : record(cudaErrorNoDevice);
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return record(cudaErrorInvalidValue);
  if (device_count() == 0) return record(cudaErrorNoDevice);
  *device = g_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device_count() == 0) return record(cudaErrorNoDevice);
  if (device < 0 || device >= device_count()) return record(cudaErrorInvalidDevice);
  g_device = device;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return device_count() ? cudaSuccess : record(cudaErrorNoDevice); }

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream || flags > cudaStreamNonBlocking) return record(cudaErrorInvalidValue);
  if (device_count() == 0) return record(cudaErrorNoDevice);
  std::lock_guard lock(api_mutex());
  *stream = new CUstream_st{g_device, flags};
  g_streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  if (!stream || !g_streams.erase(stream)) return record(cudaErrorInvalidResourceHandle);
  delete stream;
  return cudaSuccess;
}

// All work already ran when its call returned.
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return valid_stream(stream) ? cudaSuccess : record(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return record(cudaErrorInvalidValue);
  if (device_count() == 0) return record(cudaErrorNoDevice);
  return device_malloc(ptr, bytes, g_device);
}

cudaError_t cudaFree(void* ptr) { return device_free(ptr); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return copy(dst, src, bytes, kind);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  return copy(dst, src, bytes, kind);
}

cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t stream) {
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  if (dst_device < 0 || dst_device >= device_count() || src_device < 0 || src_device >= device_count())
    return record(cudaErrorInvalidDevice);
  if (bytes == 0) return cudaSuccess;
  // Each side must be memory of the device it is said to be on.
  std::lock_guard lock(api_mutex());
  Allocation d, s;
  if (!device_range(dst, bytes, &d) || !device_range(src, bytes, &s) || d.device != dst_device ||
      s.device != src_device)
    return record(cudaErrorInvalidValue);
  return copy(dst, src, bytes, cudaMemcpyDeviceToDevice);
}
