// The per-batch seed of data/loader.h (the Loader itself is a template, all in the header).
#include "data/loader.h"

namespace cfx::data {

uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t batch) {
  CFX_CHECK(epoch >= 0 && batch >= 0 && batch < (int64_t{1} << 32), "batch_seed: bad position (epoch ", epoch,
            ", batch ", batch, ")");
  const auto r = Generator::philox(seed, (static_cast<uint64_t>(epoch) << 32) | static_cast<uint64_t>(batch));
  return (static_cast<uint64_t>(r[0]) << 32) | r[1];
}

}  // namespace cfx::data
