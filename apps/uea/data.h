// conflux-uea data: finding a set's files, the official preprocessing (data/uea/time_series.h),
// class indices, and the loaders of samples and batches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/uea/config.h"
#include "data/loader.h"
#include "data/tensor_dict.h"
#include "data/uea/time_series.h"

namespace cfx::uea {

struct UeaData {
  data::TimeSeriesSet train, test;          // interpolated and standardised with the train statistics
  std::vector<std::string> classes;         // class index -> label (labels sorted as strings, pandas' codes)
  std::vector<int64_t> train_targets, test_targets;
  int64_t max_len = 0;                      // the model's length: --max-len, else the longest training series
  std::string source;                       // the files read, for messages
};

// Reads <data>/<dataset>/<dataset>_{TRAIN,TEST}.ts, else the per-dimension
// <dataset>Dimension<k>_{TRAIN,TEST}.arff, else <dataset>_{TRAIN,TEST}.arff (data may also be
// the dataset folder itself). Throws naming every path tried when none is there.
UeaData load_uea(const UeaConfig& cfg);

// Series i as a sample: {"x": [T, C] float32, T = min(length, max_len) (a longer test series is
// cut, as the official collate does), "target": [] int64}.
data::TensorDict series_sample(const data::TimeSeriesSet& set, const std::vector<int64_t>& targets, int64_t i,
                               int64_t max_len);

// Batches of a split on the CPU: {"x": [B, max_len, C] zero-padded, "x_padding": [B, max_len]
// bool (true = padded step), "target": [B] int64}; shuffled each epoch by RandomSampler(n,
// seed) for training, in file order for evaluation. The last batch may be smaller.
using UeaLoader = data::Loader<data::TensorDict>;
std::unique_ptr<UeaLoader> make_loader(const data::TimeSeriesSet& set, const std::vector<int64_t>& targets,
                                       int64_t max_len, int64_t batch_size, bool shuffle, uint64_t seed);

}  // namespace cfx::uea
