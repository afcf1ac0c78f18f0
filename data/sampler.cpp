// Samplers (see sampler.h).
#include "data/sampler.h"

#include <numeric>

#include "core/error.h"
#include "data/detail/rng.h"  // defines: Rng (Philox draws)

namespace cfx::data {

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
  CFX_CHECK(n >= 0, "SequentialSampler: size must be >= 0, got ", n);
}

std::vector<int64_t> SequentialSampler::indices(int64_t epoch) const {
  CFX_CHECK(epoch >= 0, "SequentialSampler::indices: epoch must be >= 0, got ", epoch);
  std::vector<int64_t> order(static_cast<size_t>(n_));
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

RandomSampler::RandomSampler(int64_t n, uint64_t seed, RandomSamplerOptions options)
    : n_(n), seed_(seed), options_(options) {
  CFX_CHECK(n >= 0, "RandomSampler: size must be >= 0, got ", n);
  CFX_CHECK(options_.num_samples >= 0, "RandomSampler: num_samples must be >= 0, got ", options_.num_samples);
  if (options_.num_samples == 0) options_.num_samples = n;
  CFX_CHECK(options_.replacement || options_.num_samples == n, "RandomSampler: num_samples ", options_.num_samples,
            " without replacement; a permutation of ", n, " indices has ", n, " (set replacement = true to draw more or fewer)");
  CFX_CHECK(!options_.replacement || n > 0 || options_.num_samples == 0,
            "RandomSampler: cannot draw ", options_.num_samples, " samples from an empty dataset");
}

uint64_t RandomSampler::counters_per_epoch() const {
  // Each index takes one Rng::randint = two u32 draws; a Philox counter gives four.
  const int64_t draws = options_.replacement ? options_.num_samples : std::max<int64_t>(n_ - 1, 0);
  return (2 * static_cast<uint64_t>(draws) + 3) / 4;
}

std::vector<int64_t> RandomSampler::indices(int64_t epoch) const {
  CFX_CHECK(epoch >= 0, "RandomSampler::indices: epoch must be >= 0, got ", epoch);
  Generator own(seed_);
  if (!options_.generator) own.reserve(static_cast<uint64_t>(epoch) * counters_per_epoch());  // where epoch e starts
  detail::Rng rng(options_.generator ? *options_.generator : own);
  if (options_.replacement) {
    std::vector<int64_t> draws(static_cast<size_t>(options_.num_samples));
    for (int64_t& i : draws) i = rng.randint(0, n_ - 1);
    return draws;
  }
  std::vector<int64_t> order(static_cast<size_t>(n_));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (size_t i = order.size() > 1 ? order.size() - 1 : 0; i > 0; --i)  // Fisher-Yates
    std::swap(order[i], order[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(i)))]);
  return order;
}

DistributedSampler::DistributedSampler(std::shared_ptr<const Sampler> base, int64_t rank, int64_t world_size,
                                       bool drop_last)
    : base_(std::move(base)), rank_(rank), world_size_(world_size), drop_last_(drop_last) {
  CFX_CHECK(base_, "DistributedSampler: the base sampler is null");
  CFX_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "DistributedSampler: rank ", rank,
            " is not in [0, world_size = ", world_size, ")");
}

int64_t DistributedSampler::size() const {
  const int64_t n = base_->size();
  return drop_last_ ? n / world_size_ : (n + world_size_ - 1) / world_size_;
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  std::vector<int64_t> all = base_->indices(epoch);
  const auto total = static_cast<size_t>(size() * world_size_);
  if (all.empty()) return {};
  const size_t n = all.size();
  for (size_t i = 0; all.size() < total; ++i) {  // pad by repeating the first indices
    const int64_t again = all[i % n];
    all.push_back(again);
  }
  all.resize(total);  // or cut (drop_last)
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(size()));
  for (size_t i = static_cast<size_t>(rank_); i < total; i += static_cast<size_t>(world_size_)) mine.push_back(all[i]);
  return mine;
}

}  // namespace cfx::data
