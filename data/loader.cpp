// The per-batch seed and make_sample_loader of data/loader.h (the Loader itself is a
// template, all in the header).
#include "data/loader.h"

namespace cfx::data {

uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t batch) {
  CFX_CHECK(epoch >= 0 && batch >= 0 && batch < (int64_t{1} << 32), "batch_seed: bad position (epoch ", epoch,
            ", batch ", batch, ")");
  const auto r = Generator::philox(seed, (static_cast<uint64_t>(epoch) << 32) | static_cast<uint64_t>(batch));
  return (static_cast<uint64_t>(r[0]) << 32) | r[1];
}

std::unique_ptr<Loader<TensorDict>> make_sample_loader(int64_t n, std::function<TensorDict(int64_t)> sample,
                                                       StackOptions stack, LoaderOptions options, bool shuffle) {
  CFX_CHECK(sample, "make_sample_loader: sample is empty");
  std::shared_ptr<const Sampler> sampler;
  if (shuffle) sampler = std::make_shared<RandomSampler>(n, options.seed);
  else sampler = std::make_shared<SequentialSampler>(n);
  auto make_batch = [sample = std::move(sample), stack = std::move(stack)](std::span<const int64_t> rows, uint64_t) {
    std::vector<TensorDict> samples;
    samples.reserve(rows.size());
    for (int64_t i : rows) samples.push_back(sample(i));
    return stack_samples(samples, stack);
  };
  return std::make_unique<Loader<TensorDict>>(std::move(sampler), std::move(make_batch), options);
}

}  // namespace cfx::data
