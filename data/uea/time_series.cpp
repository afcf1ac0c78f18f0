// UEA preprocessing (data/uea/time_series.h).
#include "data/uea/time_series.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/creation.h"

namespace cfx::data {

void interpolate_missing(TimeSeriesSet& set) {
  const int64_t C = set.channels;
  for (int64_t n = 0; n < set.size(); ++n) {
    std::vector<float>& s = set.series[n];
    const int64_t T = set.lengths[n];
    for (int64_t c = 0; c < C; ++c) {
      auto at = [&](int64_t t) -> float& { return s[t * C + c]; };
      int64_t prev = -1;  // last step with a value
      for (int64_t t = 0; t < T; ++t) {
        if (std::isnan(at(t))) continue;
        if (prev < 0) {
          for (int64_t u = 0; u < t; ++u) at(u) = at(t);  // leading gap: the first value
        } else {
          for (int64_t u = prev + 1; u < t; ++u) {  // interior gap: linear in the time index
            const double w = static_cast<double>(u - prev) / static_cast<double>(t - prev);
            at(u) = static_cast<float>(at(prev) + w * (static_cast<double>(at(t)) - at(prev)));
          }
        }
        prev = t;
      }
      CFX_CHECK(prev >= 0, "interpolate_missing: case ", n, " channel ", c, " of ", set.problem_name,
                " has no value at all (every step is missing)");
      for (int64_t u = prev + 1; u < T; ++u) at(u) = at(prev);  // trailing gap: the last value
    }
  }
}

ChannelStats fit_standardization(const TimeSeriesSet& train) {
  const int64_t C = train.channels;
  // Welford's update in double: one pass, no cancellation on long channels.
  std::vector<double> mean(C, 0.0), m2(C, 0.0);
  int64_t count = 0;
  for (int64_t n = 0; n < train.size(); ++n)
    for (int64_t t = 0; t < train.lengths[n]; ++t) {
      ++count;
      for (int64_t c = 0; c < C; ++c) {
        const double x = train.series[n][t * C + c];
        CFX_CHECK(!std::isnan(x), "fit_standardization: case ", n, " step ", t, " channel ", c,
                  " is missing (interpolate_missing first)");
        const double d = x - mean[c];
        mean[c] += d / static_cast<double>(count);
        m2[c] += d * (x - mean[c]);
      }
    }
  CFX_CHECK(count >= 2, "fit_standardization: need at least 2 time steps, got ", count);
  ChannelStats stats{mean, std::vector<double>(C)};
  for (int64_t c = 0; c < C; ++c) stats.std[c] = std::sqrt(m2[c] / static_cast<double>(count - 1));  // ddof = 1
  return stats;
}

void standardize(TimeSeriesSet& set, const ChannelStats& stats) {
  const int64_t C = set.channels;
  CFX_CHECK(static_cast<int64_t>(stats.mean.size()) == C, "standardize: statistics for ", stats.mean.size(),
            " channels, the set has ", C);
  constexpr double kEps = 2.220446049250313e-16;  // np.finfo(float).eps, as the official code
  for (std::vector<float>& s : set.series)
    for (size_t i = 0; i < s.size(); ++i) {
      const size_t c = i % static_cast<size_t>(C);
      s[i] = static_cast<float>((s[i] - stats.mean[c]) / (stats.std[c] + kEps));
    }
}

PaddedSeries pad_series(const TimeSeriesSet& set, int64_t max_len, const std::vector<int64_t>& indices) {
  CFX_CHECK(max_len > 0, "pad_series: max_len must be positive, got ", max_len);
  std::vector<int64_t> rows = indices;
  if (rows.empty())
    for (int64_t n = 0; n < set.size(); ++n) rows.push_back(n);
  const int64_t N = static_cast<int64_t>(rows.size()), C = set.channels;
  Tensor x = zeros({N, max_len, C}, {kFloat32});
  Tensor padding = full({N, max_len}, 1.0, {kBool});
  float* xp = x.data_ptr<float>();
  bool* mp = padding.data_ptr<bool>();
  for (int64_t i = 0; i < N; ++i) {
    const int64_t n = rows[i];
    CFX_CHECK(n >= 0 && n < set.size(), "pad_series: case index ", n, " out of range [0, ", set.size(), ")");
    const int64_t T = std::min(set.lengths[n], max_len);  // longer cases are cut, as the official collate
    std::copy_n(set.series[n].data(), T * C, xp + i * max_len * C);
    std::fill_n(mp + i * max_len, T, false);
  }
  return {x, padding};
}

}  // namespace cfx::data
