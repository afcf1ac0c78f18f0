// The sktime / UEA `.ts` time-series format (the UEA & UCR archive's multivariate release,
// ../shared/BENCHMARKS.md section 4.2), read exactly and checked line by line.
//
//   # comment lines
//   @problemName JapaneseVowels
//   @timeStamps false            (true is not supported: an error)
//   @univariate false
//   @dimensions 12               (optional; when given every case must have that many)
//   @equalLength false
//   @seriesLength 29             (optional; when given with @equalLength true, checked)
//   @classLabel true 1 2 3 ...   (the class names, in the file's order)
//   @data
//   1.86,1.89,...:-0.20,-0.19,...:...:1     one case per line: channels split by ':',
//                                           values by ',', "?" = missing (NaN), label last
//
// Directives are case-insensitive and labels are lower-cased, as sktime reads them (it
// lower-cases every line), so class codes sort "standing" after "running" as the official
// loader does. A bad directive, number, label or
// channel count is a cfx::Error "read_ts: <path>:<line>: <what>". Every channel of one case
// must have the same length (the 10 sets of the paper do; sktime would resample otherwise).
// Not here: NaN interpolation, normalisation, padding (the UEA app's data pipeline).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cfx::data {

struct TimeSeriesSet {
  std::string problem_name;
  int64_t channels = 0;                  // C, the same for every case
  std::vector<std::string> class_names;  // as declared by @classLabel, lower-cased
  std::vector<std::vector<float>> series;  // per case: [length, C], time-major (row t = one step)
  std::vector<int64_t> lengths;            // per case: its number of time steps
  std::vector<std::string> labels;         // per case: its class name, lower-cased

  int64_t size() const { return static_cast<int64_t>(series.size()); }
  int64_t max_length() const;
};

TimeSeriesSet read_ts(const std::filesystem::path& file);

// Class index of every label as pandas' `Series(labels, dtype="category").cat.codes` gives it
// (the official loader): the distinct labels sorted as strings, numbered from 0. `classes`
// receives that sorted list when not null.
std::vector<int64_t> category_codes(const std::vector<std::string>& labels, std::vector<std::string>* classes = nullptr);

}  // namespace cfx::data
