// Preprocessing of multivariate time series as the official UEA loader does it
// (mvts_transformer's data.py on sktime frames, ../shared/BENCHMARKS.md section 4.2):
//   1. interpolate_missing: per case and channel, NaNs filled by linear interpolation over
//      the time index; NaNs before the first or after the last value take that value
//      (pandas interpolate(limit_direction="both")). A channel with no value at all is an error.
//   2. fit_standardization on the training set: per-channel mean and *sample* standard
//      deviation (ddof = 1) over every time step of every case; standardize applies
//      x <- (x - mean) / (std + 2.220446049250313e-16) (numpy's float64 epsilon) to any set.
//   3. pad_series: cases [length, C] -> one [N, max_len, C] float32 tensor, zero after the
//      end (after normalisation) and cut beyond max_len, as the official collate, with the
//      [N, max_len] bool mask true at padded steps (t >= length): the convention of
//      FlowformerClassifier and of every key_padding_mask here (the official code's
//      padding_mask is its negation).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "data/uea/ts.h"

namespace cfx::data {

void interpolate_missing(TimeSeriesSet& set);

struct ChannelStats {
  std::vector<double> mean, std;  // [C] each
};
ChannelStats fit_standardization(const TimeSeriesSet& train);
void standardize(TimeSeriesSet& set, const ChannelStats& stats);

struct PaddedSeries {
  Tensor x;     // [N, max_len, C] float32
  Tensor padding;  // [N, max_len] bool, true = a padded step
};
// The cases `indices` of `set` (all of them when empty).
PaddedSeries pad_series(const TimeSeriesSet& set, int64_t max_len, const std::vector<int64_t>& indices = {});

}  // namespace cfx::data
