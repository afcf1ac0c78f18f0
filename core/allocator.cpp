#include "core/allocator.h"

#include <cstdlib>
#include <cstring>

#include "core/caching_allocator.h"
#include "core/error.h"

namespace cfx {
namespace {

constexpr size_t kAlignment = 64;  // one cache line; enough for AVX-512 loads

// Blocks from aligned_alloc; classes from one cache line, then 1 MiB multiples.
class CachingCpuAllocator final : public CachingAllocator {
 public:
  CachingCpuAllocator() : CachingAllocator(kAlignment, size_t{1} << 20) {}
  Device device() const override { return Device::cpu(); }

 protected:
  void* raw_allocate(size_t bytes) override { return std::aligned_alloc(kAlignment, bytes); }
  void raw_free(void* ptr) override { std::free(ptr); }
  std::string where() const override { return " on the CPU"; }
};

CachingCpuAllocator& the_cpu_allocator() {
  // Leaked on purpose: tensors in static objects may be freed after main() returns.
  static auto* alloc = new CachingCpuAllocator();
  return *alloc;
}

// CONFLUX_POISON_ALLOCATIONS=1 (ctest sets it for every suite): each CPU block is handed out
// filled with 0xFF bytes, NaN as float or double and -1 as an integer, so a kernel that reads
// memory it never wrote (a scratch buffer, an output, a saved statistic) shows NaN in the
// tests instead of whatever the last user left there.
class PoisoningCpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    void* p = the_cpu_allocator().allocate(bytes);
    std::memset(p, 0xFF, bytes);
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override { the_cpu_allocator().deallocate(ptr, bytes); }
  Device device() const override { return Device::cpu(); }
};

Allocator* choose_cpu_allocator() {
  const char* poison = std::getenv("CONFLUX_POISON_ALLOCATIONS");
  if (poison && *poison && std::strcmp(poison, "0") != 0) return new PoisoningCpuAllocator();  // leaked, as above
  return &the_cpu_allocator();
}

Allocator* (*device_allocators[kNumDeviceTypes])(int) = {};

}  // namespace

Allocator* cpu_allocator() {
  static Allocator* const alloc = choose_cpu_allocator();
  return alloc;
}
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
