// Loader<Batch>: groups a Sampler's epoch into batches and builds each with the app's
// make_batch(indices, batch_seed), optionally ahead of time on worker threads. What a batch
// is (a TensorDict, an app's struct) is the app's business; the loader only calls it.
//
//   Loader<TensorDict> loader(std::make_shared<RandomSampler>(n, seed),
//                             [&](std::span<const int64_t> rows, uint64_t batch_seed) { ... },
//                             {.batch_size = 16, .seed = seed, .num_workers = 2});
//   loader.set_epoch(3);                  // the order of epoch 3 (the sampler's)
//   loader.skip(5);                       // resume at its 6th batch without building five
//   while (auto batch = loader.next_batch()) { ... }
//   loader.reset();                       // the next epoch (the first call starts epoch 0)
//
// Batch k of epoch e holds indices[k*B, (k+1)*B) of the sampler's epoch e and gets
// batch_seed(seed, e, k), a 64-bit seed for its random augmentation that depends on nothing
// else: not on num_workers, not on which batches were built before, so a resumed or
// prefetched run builds the same batch.
//
// Prefetch: num_workers threads fill a window of `prefetch` batches ahead of the consumer;
// batches come out in order. An exception thrown by make_batch for batch k is rethrown by the
// next_batch() call that would have returned batch k, and ends the epoch. set_epoch(), skip()
// and the destructor stop and join the workers; the next next_batch() starts them again.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/generator.h"
#include "data/sampler.h"
#include "data/tensor_dict.h"

namespace cfx::data {

struct LoaderOptions {
  int64_t batch_size = 32;
  bool drop_last = false;  // drop the last batch of an epoch if it has fewer than batch_size rows
  uint64_t seed = 0;       // of the per-batch seeds
  int num_workers = 0;     // background threads building batches; 0 = built in next_batch()
  int prefetch = 2;        // batches kept ready ahead of the consumer (>= 1)
};

// The seed of batch `batch` of epoch `epoch`: one Philox block of (seed, epoch * 2^32 + batch).
uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t batch);

template <class Batch>
class Loader {
 public:
  using MakeBatch = std::function<Batch(std::span<const int64_t> indices, uint64_t batch_seed)>;

  Loader(std::shared_ptr<const Sampler> sampler, MakeBatch make_batch, LoaderOptions options = {})
      : sampler_(std::move(sampler)), make_batch_(std::move(make_batch)), options_(options) {
    CFX_CHECK(sampler_, "Loader: the sampler is null");
    CFX_CHECK(make_batch_, "Loader: make_batch is empty");
    CFX_CHECK(options_.batch_size >= 1, "Loader: batch_size must be >= 1, got ", options_.batch_size);
    CFX_CHECK(options_.num_workers >= 0, "Loader: num_workers must be >= 0, got ", options_.num_workers);
    CFX_CHECK(options_.prefetch >= 1, "Loader: prefetch must be >= 1, got ", options_.prefetch);
  }
  virtual ~Loader() { stop_workers(); }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts epoch `epoch` at its first batch.
  void set_epoch(int64_t epoch) {
    stop_workers();
    order_ = sampler_->indices(epoch);
    epoch_ = epoch;
    next_ = 0;
    epoch_failed_ = false;
  }
  // Starts the next epoch (epoch 0 on the first call).
  void reset() { set_epoch(epoch_ + 1); }
  // Moves `n` batches ahead in this epoch without building them (at most to its end).
  void skip(int64_t n) {
    if (epoch_ < 0) reset();
    CFX_CHECK(n >= 0 && next_ + n <= num_batches(), "Loader::skip: cannot skip ", n, " batches at batch ", next_,
              " of epoch ", epoch_, ", which has ", num_batches());
    stop_workers();
    next_ += n;
  }
  // The next batch of this epoch, or nullopt when it is done (reset() first if no epoch started).
  std::optional<Batch> next_batch() {
    if (epoch_ < 0) reset();
    if (epoch_failed_ || next_ >= num_batches()) return std::nullopt;
    if (options_.num_workers == 0) {
      try {
        return build(next_++);
      } catch (...) {
        epoch_failed_ = true;
        throw;
      }
    }
    if (workers_.empty()) start_workers();
    const int64_t k = next_;
    Slot slot;
    {
      std::unique_lock lock(mu_);
      ready_cv_.wait(lock, [&] { return done_.count(k) > 0; });
      slot = std::move(done_[k]);
      done_.erase(k);
      ++next_;
    }
    space_cv_.notify_all();
    if (slot.error) {
      epoch_failed_ = true;
      stop_workers();
      std::rethrow_exception(slot.error);
    }
    return std::move(slot.batch);
  }

  int64_t num_batches() const {
    const int64_t n = sampler_->size(), bs = options_.batch_size;
    return options_.drop_last ? n / bs : (n + bs - 1) / bs;
  }
  int64_t epoch() const { return epoch_; }  // -1 before the first epoch starts
  int64_t batch() const { return next_; }   // batches taken (or skipped) from this epoch
  const std::vector<int64_t>& order() const { return order_; }  // this epoch's indices
  const Sampler& sampler() const { return *sampler_; }

  // Range-for over one epoch: begin() calls reset(), so each loop is the next epoch.
  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    explicit Iterator(Loader* loader) : loader_(loader) { ++*this; }
    Batch& operator*() { return *cur_; }
    Batch* operator->() { return &*cur_; }
    Iterator& operator++() { cur_ = loader_->next_batch(); return *this; }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !cur_.has_value(); }

   private:
    Loader* loader_ = nullptr;
    std::optional<Batch> cur_;
  };
  Iterator begin() { reset(); return Iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  Batch build(int64_t k) const {
    const auto begin = static_cast<size_t>(k * options_.batch_size);
    const size_t end = std::min(order_.size(), begin + static_cast<size_t>(options_.batch_size));
    return make_batch_(std::span<const int64_t>(order_).subspan(begin, end - begin),
                       batch_seed(options_.seed, epoch_, k));
  }

  void start_workers() {
    std::lock_guard lock(mu_);
    done_.clear();
    next_claim_ = next_;
    stop_ = false;
    for (int w = 0; w < options_.num_workers; ++w) workers_.emplace_back([this] { worker_loop(); });
  }

  void worker_loop() {
    const int64_t nb = num_batches();
    while (true) {
      int64_t k;
      {
        std::unique_lock lock(mu_);
        // Claim the next batch once it is inside the window [next_, next_ + prefetch).
        space_cv_.wait(lock, [&] { return stop_ || next_claim_ >= nb || next_claim_ < next_ + options_.prefetch; });
        if (stop_ || next_claim_ >= nb) return;
        k = next_claim_++;
      }
      Slot slot;
      try {
        slot.batch = build(k);
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard lock(mu_);
        done_[k] = std::move(slot);
      }
      ready_cv_.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    space_cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    std::lock_guard lock(mu_);
    done_.clear();
  }

  std::shared_ptr<const Sampler> sampler_;
  MakeBatch make_batch_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t epoch_ = -1;
  int64_t next_ = 0;  // index of the next batch next_batch() returns
  bool epoch_failed_ = false;

  // Prefetch state, guarded by mu_ (next_ is read by workers under it too).
  std::mutex mu_;
  std::condition_variable ready_cv_;  // a slot was filled
  std::condition_variable space_cv_;  // the consumer advanced, or stop
  std::map<int64_t, Slot> done_;      // finished batches not yet returned
  int64_t next_claim_ = 0;            // next batch index a worker takes
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// The usual Loader of a set of n samples: batch = stack_samples of sample(i) for its indices,
// in the order of RandomSampler(n, options.seed) when `shuffle`, else 0..n-1.
std::unique_ptr<Loader<TensorDict>> make_sample_loader(int64_t n, std::function<TensorDict(int64_t)> sample,
                                                       StackOptions stack, LoaderOptions options, bool shuffle);

// An endless stream of training batches over a Loader: epochs follow one another, and
// (epoch, batch) is the position a checkpoint records and seek() returns to without building
// anything (the sampler recomputes the epoch's order, skip() moves past its first batches).
template <class Batch>
class BatchStream {
 public:
  explicit BatchStream(Loader<Batch>& loader) : loader_(loader) {
    CFX_CHECK(loader_.num_batches() > 0, "BatchStream: an epoch of ", loader_.sampler().size(),
              " indices has no batch", "\nHINT: lower the batch size, or keep the last partial batch");
  }
  Batch next_batch() {
    if (loader_.epoch() < 0) loader_.set_epoch(0);
    std::optional<Batch> b = loader_.next_batch();
    if (!b) {  // the epoch is done: the next one
      loader_.reset();
      b = loader_.next_batch();
    }
    return std::move(*b);
  }
  int64_t epoch() const { return std::max<int64_t>(loader_.epoch(), 0); }  // of the next batch
  int64_t batch() const { return loader_.epoch() < 0 ? 0 : loader_.batch(); }  // taken from that epoch
  void seek(int64_t epoch, int64_t batch) {
    CFX_CHECK(epoch >= 0 && batch >= 0, "BatchStream::seek: bad position (epoch ", epoch, ", batch ", batch, ")");
    loader_.set_epoch(epoch);
    loader_.skip(batch);
  }

 private:
  Loader<Batch>& loader_;
};

}  // namespace cfx::data
