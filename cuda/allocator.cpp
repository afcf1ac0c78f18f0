// The caching device allocator of the CUDA backend, registered for DeviceType::CUDA.
//
// Why cache: cudaMalloc and cudaFree are slow (cudaFree synchronises the whole device), and a
// training step frees and re-allocates the same activation sizes every iteration. Freed
// blocks go to per-size free lists (the size classes of core/allocator.cpp) and are handed
// out again without a driver call.
//
// Why reuse is safe without events: all Conflux work on a device runs on that device's one
// stream (cuda/runtime.h), so a block freed by the host while a queued kernel still reads it
// can only be reused by work queued *after* that kernel on the same stream.
//
// On out-of-memory the cache is returned to the driver and the cudaMalloc retried once;
// a second failure is a cfx::Error naming the request and the device's counters.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/runtime.h"

namespace cfx::cuda {
namespace {

constexpr size_t kMinBlock = 512;  // cudaMalloc aligns to 256 B; tiny tensors share one class

// Powers of two up to 1 MiB, then multiples of 2 MiB (the driver's large-page granularity).
size_t size_class(size_t bytes) {
  bytes = std::max(bytes, kMinBlock);
  if (bytes <= (size_t{1} << 20)) {
    size_t c = kMinBlock;
    while (c < bytes) c <<= 1;
    return c;
  }
  constexpr size_t k2MiB = size_t{2} << 20;
  return (bytes + k2MiB - 1) / k2MiB * k2MiB;
}

class CachingCudaAllocator final : public Allocator {
 public:
  explicit CachingCudaAllocator(int device) : device_(device) {}

  void* allocate(size_t bytes) override {
    const size_t cls = size_class(bytes);
    std::lock_guard lock(mutex_);
    void* ptr = nullptr;
    if (auto it = free_.find(cls); it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      stats_.cached -= static_cast<int64_t>(cls);
    } else {
      DeviceGuard guard(device_);
      cudaError_t err = cudaMalloc(&ptr, cls);
      if (err == cudaErrorMemoryAllocation) {  // give the cache back and try once more
        (void)cudaGetLastError();
        release_all_locked();
        err = cudaMalloc(&ptr, cls);
      }
      if (err == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        CFX_FAIL("cuda allocator: out of memory allocating ", bytes, " bytes (class ", cls, ") on cuda:", device_,
                 " with ", stats_.allocated, " bytes held by tensors; free tensors or reduce the batch");
      }
      CFX_CUDA_CHECK(err);
    }
    stats_.allocated += static_cast<int64_t>(cls);
    stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
    return ptr;
  }

  // Never calls the driver (runs in Storage's destructor, which must not throw).
  void deallocate(void* ptr, size_t bytes) override {
    if (!ptr) return;
    const size_t cls = size_class(bytes);
    std::lock_guard lock(mutex_);
    stats_.allocated -= static_cast<int64_t>(cls);
    stats_.cached += static_cast<int64_t>(cls);
    free_[cls].push_back(ptr);
  }

  Device device() const override { return Device::cuda(device_); }

  MemoryStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard lock(mutex_);
    stats_.peak_allocated = stats_.allocated;
  }
  void empty_cache() {
    std::lock_guard lock(mutex_);
    DeviceGuard guard(device_);
    release_all_locked();
  }

 private:
  // cudaFree waits for the device, so queued work that still reads a block finishes first.
  void release_all_locked() {
    for (auto& [cls, blocks] : free_)
      for (void* p : blocks) CFX_CUDA_CHECK(cudaFree(p));
    free_.clear();
    stats_.cached = 0;
  }

  int device_;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  MemoryStats stats_;
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
