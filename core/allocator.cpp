#include "core/allocator.h"

#include <cstdlib>

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
