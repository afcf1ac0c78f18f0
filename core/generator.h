// Random numbers: a counter-based Philox4x32-10 generator (Salmon et al., SC'11).
//
// Why counter-based: element i of a random tensor depends only on (seed, offset + i), not
// on thread scheduling, so results are reproducible for any thread count, and a CUDA
// kernel can produce the same stream.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "core/philox.h"

namespace cfx {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5EED) : seed_(seed) {}
  void manual_seed(uint64_t seed) { std::lock_guard l(mu_); seed_ = seed; offset_ = 0; }
  uint64_t seed() const { return seed_; }
  // Reserves `n` consecutive 128-bit counters and returns the first; callers draw from
  // philox(seed, first + i).
  uint64_t reserve(uint64_t n) { std::lock_guard l(mu_); uint64_t o = offset_; offset_ += n; return o; }

  static std::array<uint32_t, 4> philox(uint64_t seed, uint64_t counter);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
  std::mutex mu_;
};

// The process-wide generator used when an op is not given one.
Generator& default_generator();
// Seeds the default generator (like torch.manual_seed).
void manual_seed(uint64_t seed);

// uniform_from_bits(hi, lo): core/philox.h, shared with the GPU.

}  // namespace cfx
