// conflux-uea data (data.h).
#include "apps/uea/data.h"

#include <filesystem>

#include "core/error.h"
#include "data/uea/arff.h"
#include "data/uea/ts.h"
#include "ops/creation.h"

namespace cfx::uea {

namespace fs = std::filesystem;

namespace {

// The train and test sets of one dataset folder, in whichever format is there.
std::pair<data::TimeSeriesSet, data::TimeSeriesSet> read_split_files(const fs::path& folder, const std::string& name,
                                                                     std::string& source, std::string& tried) {
  const fs::path ts_train = folder / (name + "_TRAIN.ts"), ts_test = folder / (name + "_TEST.ts");
  tried += "\n  " + ts_train.string();
  if (fs::exists(ts_train) && fs::exists(ts_test)) {
    source = ts_train.string() + ", " + ts_test.string();
    return {data::read_ts(ts_train), data::read_ts(ts_test)};
  }
  auto dims = [&](const std::string& split) {
    std::vector<fs::path> files;
    for (int k = 1; fs::exists(folder / (name + "Dimension" + std::to_string(k) + "_" + split + ".arff")); ++k)
      files.push_back(folder / (name + "Dimension" + std::to_string(k) + "_" + split + ".arff"));
    return files;
  };
  tried += "\n  " + (folder / (name + "Dimension1_TRAIN.arff")).string();
  if (const auto train = dims("TRAIN"), test = dims("TEST"); !train.empty() && train.size() == test.size()) {
    source = folder.string() + "/" + name + "Dimension{1.." + std::to_string(train.size()) + "}_{TRAIN,TEST}.arff";
    return {data::read_arff_dimensions(train), data::read_arff_dimensions(test)};
  }
  const fs::path arff_train = folder / (name + "_TRAIN.arff"), arff_test = folder / (name + "_TEST.arff");
  tried += "\n  " + arff_train.string();
  if (fs::exists(arff_train) && fs::exists(arff_test)) {
    source = arff_train.string() + ", " + arff_test.string();
    return {data::read_arff(arff_train), data::read_arff(arff_test)};
  }
  return {};
}

}  // namespace

UeaData load_uea(const UeaConfig& cfg) {
  std::string source, tried;
  auto [train, test] = read_split_files(fs::path(cfg.data_dir) / cfg.dataset, cfg.dataset, source, tried);
  if (source.empty()) std::tie(train, test) = read_split_files(cfg.data_dir, cfg.dataset, source, tried);
  CFX_CHECK(!source.empty(), "conflux-uea: no ", cfg.dataset, " files (TRAIN and TEST) found; tried:", tried,
            "\nHINT: --data is the folder holding ", cfg.dataset, "/ (the UEA archive's Multivariate_ts), or "
            "`conflux-uea generate` makes a synthetic set");
  CFX_CHECK(train.channels == test.channels, "conflux-uea: ", cfg.dataset, ": train has ", train.channels,
            " channels, test has ", test.channels);

  UeaData d;
  d.source = source;
  data::interpolate_missing(train);
  data::interpolate_missing(test);
  const data::ChannelStats stats = data::fit_standardization(train);
  data::standardize(train, stats);
  data::standardize(test, stats);
  d.train_targets = data::category_codes(train.labels, &d.classes);
  for (const std::string& label : test.labels) {
    const auto it = std::lower_bound(d.classes.begin(), d.classes.end(), label);
    CFX_CHECK(it != d.classes.end() && *it == label, "conflux-uea: ", cfg.dataset, ": the test label '", label,
              "' never occurs in the training file");
    d.test_targets.push_back(it - d.classes.begin());
  }
  d.max_len = cfg.max_len > 0 ? cfg.max_len : train.max_length();
  d.train = std::move(train);
  d.test = std::move(test);
  return d;
}

data::TensorDict series_sample(const data::TimeSeriesSet& set, const std::vector<int64_t>& targets, int64_t i,
                               int64_t max_len) {
  CFX_CHECK(i >= 0 && i < set.size(), "conflux-uea: series index ", i, " out of range [0, ", set.size(), ")");
  const int64_t T = std::min(set.lengths[i], max_len), C = set.channels;
  std::vector<float> steps(set.series[i].begin(), set.series[i].begin() + T * C);
  return {{"x", tensor(steps, {T, C})}, {"target", tensor(std::vector<int64_t>{targets[i]}, {})}};
}

std::unique_ptr<UeaLoader> make_loader(const data::TimeSeriesSet& set, const std::vector<int64_t>& targets,
                                       int64_t max_len, int64_t batch_size, bool shuffle, uint64_t seed) {
  return data::make_sample_loader(
      set.size(), [&set, &targets, max_len](int64_t i) { return series_sample(set, targets, i, max_len); },
      {.pad = {"x"}, .pad_to = max_len}, {.batch_size = batch_size, .seed = seed}, shuffle);
}

}  // namespace cfx::uea
