// DataLoader (see dataloader.h).
#include "data/dataloader.h"

#include <algorithm>
#include <numeric>

#include "data/detail/rng.h"  // defines: Rng (Philox draws)

namespace cfx::data {

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions opts)
    : dataset_(std::move(dataset)), opts_(opts), own_generator_(opts.seed) {
  CFX_CHECK(dataset_, "DataLoader: dataset is null");
  CFX_CHECK(opts_.batch_size >= 1, "DataLoader: batch_size must be >= 1, got ", opts_.batch_size);
  CFX_CHECK(opts_.num_workers >= 0, "DataLoader: num_workers must be >= 0, got ", opts_.num_workers);
  CFX_CHECK(opts_.prefetch >= 1, "DataLoader: prefetch must be >= 1, got ", opts_.prefetch);
  CFX_CHECK(opts_.pad_to >= 0, "DataLoader: pad_to must be >= 0, got ", opts_.pad_to);
}

DataLoader::~DataLoader() { stop_workers(); }

int64_t DataLoader::num_batches() const {
  const int64_t n = dataset_->size(), bs = opts_.batch_size;
  return opts_.drop_last ? n / bs : (n + bs - 1) / bs;
}

void DataLoader::reset() {
  stop_workers();
  ++epoch_;
  next_ = 0;
  epoch_failed_ = false;
  order_.resize(static_cast<size_t>(dataset_->size()));
  std::iota(order_.begin(), order_.end(), int64_t{0});
  if (opts_.shuffle && order_.size() > 1) {
    detail::Rng rng(opts_.generator ? *opts_.generator : own_generator_);
    for (size_t i = order_.size() - 1; i > 0; --i)  // Fisher-Yates
      std::swap(order_[i], order_[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(i)))]);
  }
  if (opts_.num_workers > 0 && num_batches() > 0) {
    std::lock_guard lock(mu_);
    done_.clear();
    next_claim_ = 0;
    stop_ = false;
    for (int w = 0; w < opts_.num_workers; ++w) workers_.emplace_back([this] { worker_loop(); });
  }
}

Batch DataLoader::make_batch(int64_t k) const {
  const int64_t n = static_cast<int64_t>(order_.size());
  const int64_t begin = k * opts_.batch_size, end = std::min(n, begin + opts_.batch_size);
  std::vector<Example> examples;
  examples.reserve(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) examples.push_back(dataset_->get(order_[static_cast<size_t>(i)]));
  CollateOptions copts;
  copts.pad_to = opts_.pad_to;
  copts.paired = dataset_->paired();
  return collate(examples, copts, std::span<const int64_t>(order_).subspan(static_cast<size_t>(begin),
                                                                           static_cast<size_t>(end - begin)));
}

void DataLoader::worker_loop() {
  const int64_t nb = num_batches();
  while (true) {
    int64_t k;
    {
      std::unique_lock lock(mu_);
      // Claim the next batch once it is inside the window [next_, next_ + prefetch).
      space_cv_.wait(lock, [&] { return stop_ || next_claim_ >= nb || next_claim_ < next_ + opts_.prefetch; });
      if (stop_ || next_claim_ >= nb) return;
      k = next_claim_++;
    }
    Slot slot;
    try {
      slot.batch = make_batch(k);
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

void DataLoader::stop_workers() {
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

std::optional<Batch> DataLoader::next_batch() {
  if (epoch_ < 0) reset();
  if (epoch_failed_ || next_ >= num_batches()) return std::nullopt;
  const int64_t k = next_;
  if (workers_.empty()) {
    ++next_;
    try {
      return make_batch(k);
    } catch (...) {
      epoch_failed_ = true;
      throw;
    }
  }
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

}  // namespace cfx::data
