// Storage: a refcounted block of bytes on one device. Tensors are views into a Storage.
#pragma once

#include <cstddef>
#include <memory>

#include "core/allocator.h"

namespace cfx {

class Storage {
 public:
  Storage(size_t bytes, Allocator* allocator)
      : data_(bytes ? allocator->allocate(bytes) : nullptr), bytes_(bytes), allocator_(allocator) {}
  ~Storage() { allocator_->deallocate(data_, bytes_); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return allocator_->device(); }

 private:
  void* data_;
  size_t bytes_;
  Allocator* allocator_;
};

}  // namespace cfx
