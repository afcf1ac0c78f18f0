// The caching device allocator of the CUDA backend, registered for DeviceType::CUDA.
//
// Why cache: cudaMalloc and cudaFree are slow (cudaFree synchronises the whole device), and a
// training step frees and re-allocates the same activation sizes every iteration. Freed
// blocks go to per-size free lists (core/caching_allocator.h, shared with the CPU) and are handed
// out again without a driver call.
//
// Why reuse is safe without events: all Conflux work on a device runs on that device's one
// stream (cuda/runtime.h), so a block freed by the host while a queued kernel still reads it
// can only be reused by work queued *after* that kernel on the same stream.
//
// On out-of-memory the cache is returned to the driver and the cudaMalloc retried once;
// a second failure is a cfx::Error naming the request and the device's counters.
#include <mutex>

#include "core/caching_allocator.h"
#include "cuda/runtime.h"

namespace cfx::cuda {
namespace {

constexpr size_t kMinBlock = 512;              // cudaMalloc aligns to 256 B; tiny tensors share one class
constexpr size_t kGranule = size_t{2} << 20;  // the driver's large-page granularity

class CachingCudaAllocator final : public CachingAllocator {
 public:
  explicit CachingCudaAllocator(int device) : CachingAllocator(kMinBlock, kGranule), device_(device) {}
  Device device() const override { return Device::cuda(device_); }

 protected:
  void* raw_allocate(size_t bytes) override {
    DeviceGuard guard(device_);
    void* ptr = nullptr;
    const cudaError_t err = cudaMalloc(&ptr, bytes);
    if (err == cudaErrorMemoryAllocation) {  // not an error yet: the cache is emptied and it retries
      (void)cudaGetLastError();
      return nullptr;
    }
    CFX_CUDA_CHECK(err);
    return ptr;
  }
  // cudaFree waits for the device, so queued work that still reads a block finishes first.
  void raw_free(void* ptr) override {
    DeviceGuard guard(device_);
    CFX_CUDA_CHECK(cudaFree(ptr));
  }
  std::string where() const override { return " on cuda:" + std::to_string(device_); }

 private:
  int device_;
};

constexpr int kMaxDevices = 64;

CachingCudaAllocator& allocator_of(int index) {
  const int n = device_count();
  CFX_CHECK(index >= 0 && index < n && index < kMaxDevices, "cuda allocator: device cuda:", index,
            " is not available (", n, " CUDA device(s) found; is a GPU present and the driver loaded?)");
  static std::mutex mutex;
  // Leaked on purpose: tensors in static objects may be freed after main() returns.
  static CachingCudaAllocator* allocators[kMaxDevices] = {};
  std::lock_guard lock(mutex);
  if (!allocators[index]) allocators[index] = new CachingCudaAllocator(index);
  return *allocators[index];
}

Allocator* cuda_allocator(int index) { return &allocator_of(index); }

// Registration touches no CUDA API: it only fills a slot of core/allocator.cpp's table.
[[maybe_unused]] const bool registered = [] {
  register_allocator(DeviceType::CUDA, &cuda_allocator);
  return true;
}();

}  // namespace

MemoryStats memory_stats(int device) { return allocator_of(device).stats(); }
void reset_peak_memory(int device) { allocator_of(device).reset_peak(); }
void empty_cache(int device) { allocator_of(device).empty_cache(); }

}  // namespace cfx::cuda
