#include "core/generator.h"

namespace cfx {

std::array<uint32_t, 4> Generator::philox(uint64_t seed, uint64_t counter) {
  const PhiloxBlock b = philox4x32_10(seed, counter);
  return {b.r[0], b.r[1], b.r[2], b.r[3]};
}

Generator& default_generator() {
  static Generator gen(0x5EED);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace cfx
