// detail::Rng: scalar draws (u32, uniform, randint, choice) on top of cfx::Generator's Philox
// stream, for the data room's shuffling and synthetic-data generators.
//
// Each 128-bit Philox counter gives four u32 draws; counters are reserved from the
// Generator one at a time, so a Generator seeded the same way gives the same draws.
// Not thread-safe (one Rng per thread); the Generator underneath is.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "core/generator.h"

namespace cfx::data::detail {

class Rng {
 public:
  explicit Rng(Generator& gen) : gen_(gen) {}

  uint32_t next_u32() {
    if (used_ == 4) {
      buf_ = Generator::philox(gen_.seed(), gen_.reserve(1));
      used_ = 0;
    }
    return buf_[used_++];
  }
  // Uniform in [0, 1), 53 random bits.
  double uniform() {
    const uint32_t hi = next_u32();
    return uniform_from_bits(hi, next_u32());
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by Box-Muller from two uniforms (1 - u avoids log 0; the sine twin is dropped).
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  // Uniform integer in [lo, hi] (inclusive, like Python's random.randint).
  int64_t randint(int64_t lo, int64_t hi) {
    CFX_CHECK(lo <= hi, "Rng::randint: empty range [", lo, ", ", hi, "]");
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(uniform() * static_cast<double>(span)) % static_cast<int64_t>(span);
  }

 private:
  Generator& gen_;
  std::array<uint32_t, 4> buf_{};
  int used_ = 4;
};

}  // namespace cfx::data::detail
