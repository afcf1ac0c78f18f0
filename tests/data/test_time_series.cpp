// UEA preprocessing (data/uea/time_series.h): interpolation of missing values, standardisation
// with training statistics (ddof = 1), padding with a mask; on a hand-made set and on the
// real JapaneseVowels files.
#include <cmath>
#include <limits>

#include "data/uea/time_series.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::have_shared_data;
using cfx::testing::shared_data_dir;

namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

// Two channels; case 0 has 5 steps, case 1 has 2.
TimeSeriesSet toy() {
  TimeSeriesSet s;
  s.problem_name = "toy";
  s.channels = 2;
  s.class_names = {"a", "b"};
  s.series = {{kNan, 10, 1, kNan, kNan, kNan, 4, 13, kNan, kNan}, {2, 20, 6, 40}};
  s.lengths = {5, 2};
  s.labels = {"a", "b"};
  return s;
}

}  // namespace

TEST_CASE("interpolate_missing: linear inside, nearest value at both ends (pandas limit_direction=both)") {
  TimeSeriesSet s = toy();
  interpolate_missing(s);
  // channel 0: [nan, 1, nan, 4, nan] -> [1, 1, 2.5, 4, 4]; channel 1: [10, nan, nan, 13, nan] -> [10, 11, 12, 13, 13]
  CHECK(s.series[0] == std::vector<float>{1, 10, 1, 11, 2.5f, 12, 4, 13, 4, 13});
  CHECK(s.series[1] == std::vector<float>{2, 20, 6, 40});  // nothing missing: unchanged
  TimeSeriesSet empty_channel = toy();
  empty_channel.series[1] = {kNan, 1, kNan, 2};
  check_error([&] { interpolate_missing(empty_channel); }, {"case 1 channel 0", "no value at all"});
}

TEST_CASE("standardization: per-channel mean and sample std over every step of the training set") {
  TimeSeriesSet train = toy();
  interpolate_missing(train);
  const ChannelStats st = fit_standardization(train);
  // channel 0 values: 1, 1, 2.5, 4, 4, 2, 6 -> mean 20.5/7; channel 1: 10..13, 13, 20, 40
  const std::vector<double> c0 = {1, 1, 2.5, 4, 4, 2, 6}, c1 = {10, 11, 12, 13, 13, 20, 40};
  for (const auto& [c, values] : {std::pair{0, c0}, std::pair{1, c1}}) {
    double mean = 0, ss = 0;
    for (double v : values) mean += v / 7;
    for (double v : values) ss += (v - mean) * (v - mean);
    CHECK(st.mean[c] == doctest::Approx(mean).epsilon(1e-14));
    CHECK(st.std[c] == doctest::Approx(std::sqrt(ss / 6)).epsilon(1e-14));  // ddof = 1
  }
  TimeSeriesSet test = toy();
  interpolate_missing(test);
  standardize(test, st);
  CHECK(test.series[1][0] == doctest::Approx((2 - st.mean[0]) / (st.std[0] + 2.220446049250313e-16)).epsilon(1e-6));
  CHECK(test.series[1][3] == doctest::Approx((40 - st.mean[1]) / st.std[1]).epsilon(1e-6));
  check_error([&] { fit_standardization(toy()); }, {"is missing (interpolate_missing first)"});
  ChannelStats wrong{{0.0}, {1.0}};
  check_error([&] { standardize(test, wrong); }, {"statistics for 1 channels, the set has 2"});
}

TEST_CASE("pad_series: zero after the end, cut beyond max_len, padding mask true after the end") {
  const TimeSeriesSet s = toy();
  const PaddedSeries p = pad_series(s, 3, {1, 0});
  CHECK(p.x.shape() == Shape{2, 3, 2});
  CHECK(p.padding.shape() == Shape{2, 3});
  const std::vector<float> x = to_vector<float>(p.x);
  CHECK(std::vector<float>(x.begin(), x.begin() + 6) == std::vector<float>{2, 20, 6, 40, 0, 0});  // case 1, padded
  // case 0 as it is (not interpolated here), cut to 3 steps: [n=1, t, c] starts at 6
  CHECK(std::isnan(x[6]));
  CHECK(x[7] == 10.0f);
  CHECK(x[8] == 1.0f);
  CHECK(std::isnan(x[11]));
  CHECK(to_vector<int64_t>(p.padding.to(kInt64)) == std::vector<int64_t>{0, 0, 1, 0, 0, 0});
  check_error([&] { pad_series(s, 3, {2}); }, {"case index 2 out of range"});
  check_error([&] { pad_series(s, 0); }, {"max_len must be positive"});
}

TEST_CASE("UEA preprocessing on JapaneseVowels: standardised train set, test cut to the train length") {
  if (!have_shared_data("uea")) return;
  const auto dir = shared_data_dir() / "uea" / "JapaneseVowels";
  TimeSeriesSet train = read_ts(dir / "JapaneseVowels_TRAIN.ts"), test = read_ts(dir / "JapaneseVowels_TEST.ts");
  interpolate_missing(train);
  interpolate_missing(test);
  const ChannelStats st = fit_standardization(train);
  standardize(train, st);
  standardize(test, st);
  // After standardisation every training channel has mean ~0 and sample std ~1.
  const ChannelStats again = fit_standardization(train);
  for (int64_t c = 0; c < train.channels; ++c) {
    CHECK(std::abs(again.mean[c]) < 1e-5);
    CHECK(again.std[c] == doctest::Approx(1.0).epsilon(1e-5));
  }
  const int64_t max_len = train.max_length();  // 26: the official max_seq_len is the training file's
  const PaddedSeries p = pad_series(test, max_len);
  CHECK(p.x.shape() == Shape{370, 26, 12});
  int64_t cut = 0;
  for (int64_t n = 0; n < test.size(); ++n) cut += test.lengths[n] > max_len;
  CHECK(cut > 0);  // some test utterances (up to 29 steps) are longer than any training one
}
