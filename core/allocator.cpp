#include "core/allocator.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace cfx {
namespace {

constexpr size_t kAlignment = 64;  // one cache line; enough for AVX-512 loads

// Rounds a request so that nearby sizes share a free list: powers of two up to 1 MiB,
// then multiples of 1 MiB.
size_t size_class(size_t bytes) {
  bytes = std::max<size_t>(bytes, kAlignment);
  if (bytes <= (size_t{1} << 20)) {
    size_t c = kAlignment;
    while (c < bytes) c <<= 1;
    return c;
  }
  constexpr size_t kMiB = size_t{1} << 20;
  return (bytes + kMiB - 1) / kMiB * kMiB;
}

class CachingCpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    const size_t cls = size_class(bytes);
    std::lock_guard lock(mutex_);
    void* ptr = nullptr;
    if (auto it = free_.find(cls); it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      stats_.cached -= static_cast<int64_t>(cls);
    } else {
      ptr = std::aligned_alloc(kAlignment, cls);
      if (!ptr) {  // Give the cache back and try once more before failing.
        release_all_locked();
        ptr = std::aligned_alloc(kAlignment, cls);
      }
      CFX_CHECK(ptr, "cpu allocator: out of memory allocating ", bytes, " bytes");
    }
    stats_.allocated += static_cast<int64_t>(cls);
    stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
    return ptr;
  }

  void deallocate(void* ptr, size_t bytes) override {
    if (!ptr) return;
    const size_t cls = size_class(bytes);
    std::lock_guard lock(mutex_);
    stats_.allocated -= static_cast<int64_t>(cls);
    stats_.cached += static_cast<int64_t>(cls);
    free_[cls].push_back(ptr);
  }

  Device device() const override { return Device::cpu(); }

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
    release_all_locked();
  }

 private:
  void release_all_locked() {
    for (auto& [cls, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.cached = 0;
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  MemoryStats stats_;
};

CachingCpuAllocator& the_cpu_allocator() {
  // Leaked on purpose: tensors in static objects may be freed after main() returns.
  static auto* alloc = new CachingCpuAllocator();
  return *alloc;
}

Allocator* (*device_allocators[kNumDeviceTypes])(int) = {};

}  // namespace

Allocator* cpu_allocator() { return &the_cpu_allocator(); }
MemoryStats cpu_memory_stats() { return the_cpu_allocator().stats(); }
void reset_peak_cpu_memory() { the_cpu_allocator().reset_peak(); }
void empty_cpu_cache() { the_cpu_allocator().empty_cache(); }

void register_allocator(DeviceType type, Allocator* (*getter)(int)) {
  device_allocators[static_cast<int>(type)] = getter;
}

Allocator* allocator_for(Device device) {
  if (device.is_cpu()) return cpu_allocator();
  auto getter = device_allocators[static_cast<int>(device.type)];
  CFX_CHECK(getter, "allocator: no backend for device ", device,
            " (was Conflux built with CONFLUX_CUDA, and is a GPU present?)");
  return getter(device.index);
}

}  // namespace cfx
