// DataLoader: batches a Dataset in a (seeded, shuffled) order, optionally collating batches
// ahead of time on background threads. llm.c-style verbs (STYLE.md practice 13):
//
//   DataLoader loader(train, {.batch_size = 32, .shuffle = true, .seed = 1});
//   for (int epoch = 0; epoch < E; ++epoch) {
//     loader.reset();                              // new epoch: new order
//     while (auto batch = loader.next_batch()) { ... batch->inputs ... }
//   }
//   for (Batch& batch : loader) { ... }           // the same: begin() calls reset()
//
// Order: epoch e uses a Fisher-Yates permutation drawn from a Generator seeded with `seed`
// (or the caller's Generator); each reset() draws a new one, so the same seed gives the same
// sequence of epochs and two epochs differ. Batches do not depend on num_workers: the order
// is fixed in reset(), and workers only collate batch k from order[k*B, (k+1)*B).
//
// Prefetch: num_workers threads fill a bounded window of `prefetch` batches ahead of the
// consumer; batches come out in order. An exception thrown while building batch k (e.g. a
// Dataset::get error) is rethrown by the next_batch() call that would have returned batch k,
// and ends the epoch. reset() and the destructor stop and join the workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/generator.h"
#include "data/dataset.h"

namespace cfx::data {

struct DataLoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  uint64_t seed = 0;               // shuffle seed, used when `generator` is null
  Generator* generator = nullptr;  // optional: draw shuffles from this (must outlive the loader)
  bool drop_last = false;          // drop the last batch if it has fewer than batch_size rows
  int64_t pad_to = 0;              // L of every batch; 0 = longest sequence in the batch
  int num_workers = 0;             // background collating threads; 0 = collate in next_batch()
  int prefetch = 2;                // batches kept ready ahead of the consumer (>= 1)
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions opts = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts the next epoch (the first call starts epoch 0): draws the order, starts workers.
  void reset();
  // The next batch of this epoch, or nullopt when the epoch is done. Calls reset() first if
  // no epoch has been started yet.
  std::optional<Batch> next_batch();

  int64_t num_batches() const;   // batches per epoch
  int64_t epoch() const { return epoch_; }  // -1 before the first reset()
  const std::vector<int64_t>& order() const { return order_; }  // this epoch's index order
  const Dataset& dataset() const { return *dataset_; }

  // Range-for over one epoch.
  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    explicit Iterator(DataLoader* dl) : dl_(dl) { ++*this; }
    Batch& operator*() { return *cur_; }
    Batch* operator->() { return &*cur_; }
    Iterator& operator++() { cur_ = dl_->next_batch(); return *this; }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !cur_.has_value(); }

   private:
    DataLoader* dl_ = nullptr;
    std::optional<Batch> cur_;
  };
  Iterator begin() { reset(); return Iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  Batch make_batch(int64_t k) const;
  void worker_loop();
  void stop_workers();

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions opts_;
  Generator own_generator_;
  std::vector<int64_t> order_;
  int64_t epoch_ = -1;
  int64_t next_ = 0;  // index of the next batch next_batch() returns
  bool epoch_failed_ = false;

  // Prefetch state, guarded by mu_.
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  std::mutex mu_;
  std::condition_variable ready_cv_;  // a slot was filled
  std::condition_variable space_cv_;  // the consumer advanced, or stop
  std::map<int64_t, Slot> done_;      // finished batches not yet returned
  int64_t next_claim_ = 0;            // next batch index a worker takes
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace cfx::data
