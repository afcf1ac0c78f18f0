// Samplers: which dataset indices an epoch visits, and in which order (torch.utils.data's
// Sampler family). indices(epoch) is a function of the seed and the epoch alone, so a resumed
// run asks for its epoch again instead of replaying the ones before it, and every process of
// a distributed run computes the same order.
//
//   SequentialSampler s(n);                        // 0, 1, ..., n-1 every epoch
//   RandomSampler r(n, seed);                      // a new permutation of 0..n-1 each epoch
//   RandomSampler w(n, seed, {.replacement = true, .num_samples = 6'400'000});  // draws in [0, n)
//   DistributedSampler d(std::make_shared<RandomSampler>(n, seed), rank, world_size);
//
// Not here: grouping indices into batches and building them (data/loader.h).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/generator.h"

namespace cfx::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The indices epoch `epoch` (>= 0) visits, in order.
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
  // How many indices each epoch has.
  virtual int64_t size() const = 0;
};

class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t n);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return n_; }

 private:
  int64_t n_;
};

struct RandomSamplerOptions {
  bool replacement = false;  // draw each index uniformly from [0, n) instead of permuting
  int64_t num_samples = 0;   // indices per epoch; 0 = n. Without replacement it must be n.
  // Draw from this generator instead of the seed (it must outlive the sampler): every
  // indices() call then takes the generator's next draws, as torch's RandomSampler(generator=g),
  // so an epoch is no longer a function of its number and cannot be resumed by asking again.
  Generator* generator = nullptr;
};

// Epoch e: a Fisher-Yates shuffle (or num_samples uniform draws) on the Philox stream of
// `seed`, starting where epoch e - 1 ended: the same draws a Generator(seed) shared by all
// epochs would give, without drawing the epochs before e.
class RandomSampler : public Sampler {
 public:
  RandomSampler(int64_t n, uint64_t seed, RandomSamplerOptions options = {});
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return options_.num_samples; }

 private:
  uint64_t counters_per_epoch() const;  // Philox counters one epoch draws (4 u32 each, 2 per index)
  int64_t n_;
  uint64_t seed_;
  RandomSamplerOptions options_;
};

// Rank `rank`'s share of another sampler's epoch, as torch's DistributedSampler: the epoch's
// indices, padded by repeating its first ones up to a multiple of world_size (or cut down to
// one, with drop_last), then every world_size-th one starting at `rank`. Together the ranks
// visit the same indices as one process would; each rank's share has the same size.
class DistributedSampler : public Sampler {
 public:
  DistributedSampler(std::shared_ptr<const Sampler> base, int64_t rank, int64_t world_size, bool drop_last = false);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override;

 private:
  std::shared_ptr<const Sampler> base_;
  int64_t rank_, world_size_;
  bool drop_last_;
};

}  // namespace cfx::data
