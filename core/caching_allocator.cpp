#include "core/caching_allocator.h"

#include <algorithm>

#include "core/error.h"

namespace cfx {

size_t CachingAllocator::size_class(size_t bytes) const {
  bytes = std::max(bytes, min_block_);
  if (bytes <= (size_t{1} << 20)) {
    size_t c = min_block_;
    while (c < bytes) c <<= 1;
    return c;
  }
  return (bytes + granule_ - 1) / granule_ * granule_;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  std::lock_guard lock(mutex_);
  void* ptr = nullptr;
  if (auto it = free_.find(cls); it != free_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    stats_.cached -= static_cast<int64_t>(cls);
  } else {
    ptr = raw_allocate(cls);
    if (!ptr) {  // give the cache back and try once more
      release_all_locked();
      ptr = raw_allocate(cls);
    }
    CFX_CHECK(ptr, "allocator: out of memory allocating ", bytes, " bytes (class ", cls, ")", where(), " with ",
              stats_.allocated, " bytes held by tensors; free tensors or reduce the batch");
  }
  stats_.allocated += static_cast<int64_t>(cls);
  stats_.allocated_total += static_cast<int64_t>(cls);
  stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
  return ptr;
}

void CachingAllocator::deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t cls = size_class(bytes);
  std::lock_guard lock(mutex_);
  stats_.allocated -= static_cast<int64_t>(cls);
  stats_.cached += static_cast<int64_t>(cls);
  free_[cls].push_back(ptr);
}

MemoryStats CachingAllocator::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_allocated = stats_.allocated;
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  release_all_locked();
}

void CachingAllocator::release_all_locked() {
  for (auto& [cls, blocks] : free_)
    for (void* p : blocks) raw_free(p);
  free_.clear();
  stats_.cached = 0;
}

}  // namespace cfx
