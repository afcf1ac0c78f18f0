// The caching scheme shared by the CPU allocator (core/allocator.cpp) and the CUDA one
// (cuda/allocator.cpp): freed blocks go to per-size-class free lists and are handed out again
// without asking the system; on a failed request the cache is returned and the request
// retried once. A backend supplies only how to get and return raw blocks.
//
// Size classes: powers of two from `min_block` up to 1 MiB, then multiples of `granule`, so
// nearby sizes share a free list while large blocks waste at most one granule.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"

namespace cfx {

class CachingAllocator : public Allocator {
 public:
  CachingAllocator(size_t min_block, size_t granule) : min_block_(min_block), granule_(granule) {}

  void* allocate(size_t bytes) final;
  // Never calls the backend (runs in Storage's destructor, which must not throw).
  void deallocate(void* ptr, size_t bytes) final;

  MemoryStats stats();
  void reset_peak();
  void empty_cache();  // returns every cached block to the backend

  size_t size_class(size_t bytes) const;

 protected:
  // A block of `bytes` from the system, or nullptr when it has none left (other failures throw).
  virtual void* raw_allocate(size_t bytes) = 0;
  virtual void raw_free(void* ptr) = 0;
  // Appended to the out-of-memory error, e.g. " on cuda:0".
  virtual std::string where() const = 0;

 private:
  void release_all_locked();

  const size_t min_block_, granule_;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  MemoryStats stats_;
};

}  // namespace cfx
