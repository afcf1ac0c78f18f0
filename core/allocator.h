// Allocator interface and the CPU caching allocator.
//
// Why cache: on these VMs the first touch of fresh pages costs ~14 us per 4 KiB
// (../shared/MACHINE-PERF.md), so a training step that mallocs its activations anew is
// dominated by page faults. Freed blocks are kept in per-size free lists and reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "core/device.h"

namespace cfx {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual Device device() const = 0;
};

// Byte counts of one allocator, for benchmarks and leak tests.
struct MemoryStats {
  int64_t allocated = 0;       // bytes held by live tensors now
  int64_t peak_allocated = 0;  // max of `allocated` since the last reset_peak_memory()
  int64_t cached = 0;          // bytes kept in free lists for reuse
  int64_t allocated_total = 0; // bytes handed out since the start (only grows; the profiler's "bytes")
};

Allocator* cpu_allocator();
MemoryStats cpu_memory_stats();
void reset_peak_cpu_memory();
// Returns cached blocks to the system.
void empty_cpu_cache();

// A std allocator drawing from the CPU caching allocator, so kernels' scratch and saved state
// reuse cached blocks and show up in cpu_memory_stats() (benchmarks and the linear-memory
// tests see every byte).
template <class T>
struct CpuBufferAllocator {
  using value_type = T;
  CpuBufferAllocator() = default;
  template <class U>
  CpuBufferAllocator(const CpuBufferAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(cpu_allocator()->allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { cpu_allocator()->deallocate(p, n * sizeof(T)); }
  // CpuBuffer<T>(n) and resize(n) leave the new elements uninitialised (default-initialised),
  // as scratch should be: the kernels write before they read, and zero-filling first would
  // touch every page twice. CONFLUX_POISON_ALLOCATIONS makes a missed write show up as NaN.
  template <class U>
  void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) { ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...); }
  template <class U>
  bool operator==(const CpuBufferAllocator<U>&) const { return true; }
};
template <class T>
using CpuBuffer = std::vector<T, CpuBufferAllocator<T>>;

// Registry so backends can provide the allocator of their device type.
Allocator* allocator_for(Device device);
void register_allocator(DeviceType type, Allocator* (*getter)(int index));

}  // namespace cfx
