// DataLoader: the Loader (data/loader.h) of a token Dataset, batched by collate():
// sequential or shuffled, llm.c-style verbs (STYLE.md practice 13):
//
//   DataLoader loader(train, {.batch_size = 32, .shuffle = true, .seed = 1});
//   for (int epoch = 0; epoch < E; ++epoch) {
//     loader.reset();                              // new epoch: new order
//     while (auto batch = loader.next_batch()) { ... batch->inputs ... }
//   }
//   for (Batch& batch : loader) { ... }           // the same: begin() calls reset()
//
// Order: epoch e is a RandomSampler(n, seed)'s permutation e (data/sampler.h): the same seed
// gives the same sequence of epochs, two epochs differ, and set_epoch(e) / skip(k) move to
// batch k of epoch e without building what comes before. With `generator`, each epoch takes
// that generator's next draws instead. Batches do not depend on num_workers; prefetch and
// error handling are the Loader's.
#pragma once

#include <cstdint>
#include <memory>

#include "core/generator.h"
#include "data/dataset.h"
#include "data/loader.h"

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

class DataLoader : public Loader<Batch> {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions opts = {});
  const Dataset& dataset() const { return *dataset_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
};

}  // namespace cfx::data
