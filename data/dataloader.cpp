// DataLoader (see dataloader.h).
#include "data/dataloader.h"

#include <vector>

namespace cfx::data {

namespace {

const std::shared_ptr<const Dataset>& checked(const std::shared_ptr<const Dataset>& dataset) {
  CFX_CHECK(dataset, "DataLoader: dataset is null");
  return dataset;
}

std::shared_ptr<const Sampler> make_sampler(const Dataset& dataset, const DataLoaderOptions& o) {
  if (!o.shuffle) return std::make_shared<SequentialSampler>(dataset.size());
  return std::make_shared<RandomSampler>(dataset.size(), o.seed, RandomSamplerOptions{.generator = o.generator});
}

// Examples `indices` of `dataset`, collated (the batch seed is unused: nothing random here).
Loader<Batch>::MakeBatch make_collate(std::shared_ptr<const Dataset> dataset, const DataLoaderOptions& o) {
  CFX_CHECK(o.pad_to >= 0, "DataLoader: pad_to must be >= 0, got ", o.pad_to);
  CollateOptions copts;
  copts.pad_to = o.pad_to;
  copts.paired = checked(dataset)->paired();  // (argument order is unspecified: check here too)
  return [dataset = std::move(dataset), copts](std::span<const int64_t> indices, uint64_t) {
    std::vector<Example> examples;
    examples.reserve(indices.size());
    for (int64_t i : indices) examples.push_back(dataset->get(i));
    return collate(examples, copts, indices);
  };
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions o)
    : Loader<Batch>(make_sampler(*checked(dataset), o), make_collate(dataset, o),
                    {.batch_size = o.batch_size, .drop_last = o.drop_last, .seed = o.seed,
                     .num_workers = o.num_workers, .prefetch = o.prefetch}),
      dataset_(std::move(dataset)) {}

}  // namespace cfx::data
