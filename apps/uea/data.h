// conflux-uea data: finding a set's files, the official preprocessing (data/time_series.h),
// class indices, batches and the seeded training order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/uea/config.h"
#include "core/device.h"
#include "core/tensor.h"
#include "data/time_series.h"

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

struct UeaBatch {
  Tensor x;        // [B, max_len, C] float32
  Tensor padding;  // [B, max_len] bool, true = padded step
  Tensor targets;  // [B] int64
  int64_t size() const { return targets.size(0); }
};
UeaBatch make_batch(const data::TimeSeriesSet& set, const std::vector<int64_t>& targets,
                    const std::vector<int64_t>& rows, int64_t max_len, Device device);

// Epoch `epoch`'s order of n training series: a Fisher-Yates shuffle driven by a
// mt19937_64 seeded with (seed, epoch), so it is the same on every machine and resumable.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace cfx::uea
