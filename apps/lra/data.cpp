// LRA data for the app (see data.h).
#include "apps/lra/data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "apps/common/cli.h"
#include "core/error.h"
#include "data/lra/generate.h"

namespace cfx::lra {

data::Split parse_split(const std::string& name) {
  if (name == "train") return data::Split::kTrain;
  if (name == "val") return data::Split::kVal;
  if (name == "test") return data::Split::kTest;
  CFX_FAIL("conflux-lra: unknown split '", name, "'; expected train, val or test");
}

std::shared_ptr<const data::Dataset> load_split(const LraConfig& cfg, data::Split split) {
  CFX_CHECK(!cfg.data_dir.empty(), "conflux-lra: --data is required (the ", cfg.task, " release directory)",
            "\nHINT: `conflux-lra generate --task listops --out DIR` writes a synthetic ListOps set");
  const std::string& t = cfg.task;
  if (t == "listops") return data::lra_listops(cfg.data_dir, split, cfg.max_len);
  if (t == "text") return data::lra_text(cfg.data_dir, split, cfg.max_len);
  if (t == "retrieval") return data::lra_retrieval(cfg.data_dir, split, cfg.max_len);
  if (t == "image") return data::lra_image(cfg.data_dir, split);
  if (t == "pathfinder") return data::lra_pathfinder(cfg.data_dir, split, 32);
  CFX_FAIL("conflux-lra: unknown task '", t, "'");
}

std::vector<int64_t> label_counts(const data::Dataset& dataset, int64_t num_classes) {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  const auto* packed = dynamic_cast<const data::PackedDataset*>(&dataset);
  for (int64_t i = 0; i < dataset.size(); ++i) {
    const int64_t y = packed ? packed->label(i) : dataset.get(i).label;
    CFX_CHECK(y >= 0 && y < num_classes, "conflux-lra: label ", y, " of example ", i, " outside 0..", num_classes - 1);
    ++counts[static_cast<size_t>(y)];
  }
  return counts;
}

Baseline majority_baseline(const data::Dataset& train, const data::Dataset& eval, int64_t num_classes) {
  const std::vector<int64_t> tc = label_counts(train, num_classes), ec = label_counts(eval, num_classes);
  Baseline b;
  b.label = std::max_element(tc.begin(), tc.end()) - tc.begin();
  b.accuracy = eval.size() > 0 ? static_cast<double>(ec[static_cast<size_t>(b.label)]) / static_cast<double>(eval.size()) : 0.0;
  return b;
}

int run_generate(const std::vector<std::string>& args) {
  std::string task = "listops", out;
  int64_t train = 96000, val = 2000, test = 2000, seed = 0;
  int64_t min_len = 500, max_len = 2000, max_depth = 10, max_args = 10;  // LRA ListOps
  int64_t images = 2000, contour = 14, distractors = 5;                  // Pathfinder
  app::Flags f("conflux-lra generate", "Writes a synthetic LRA data set in the release format (data/lra/generate.h).");
  f.add("task", &task, "listops | pathfinder");
  f.add("out", &out, "directory to write (created)");
  f.add("train", &train, "listops: training examples");
  f.add("val", &val, "listops: validation examples");
  f.add("test", &test, "listops: test examples");
  f.add("min-len", &min_len, "listops: lengths are > min-len (exclusive, tokens without parentheses)");
  f.add("max-len", &max_len, "listops: lengths are < max-len (exclusive)");
  f.add("max-depth", &max_depth, "listops: tree depth limit");
  f.add("max-args", &max_args, "listops: operator arity limit");
  f.add("images", &images, "pathfinder: images in all (the reader splits 80/10/10)");
  f.add("contour-length", &contour, "pathfinder: dashes per long path");
  f.add("distractors", &distractors, "pathfinder: distractor paths per image");
  f.add("seed", &seed, "generator seed (same seed and flags -> same files)");
  const auto positional = f.parse(args);
  if (f.help_requested()) return std::cout << f.help(), 0;
  CFX_CHECK(positional.empty(), "conflux-lra generate: unexpected argument '", positional.empty() ? "" : positional[0], "'");
  CFX_CHECK(!out.empty(), "conflux-lra generate: --out DIR is required");
  CFX_CHECK(seed >= 0, "conflux-lra generate: --seed must be >= 0");

  if (task == "listops") {
    CFX_CHECK(train > 0 && val > 0 && test > 0, "conflux-lra generate: --train, --val and --test must be positive");
    data::ListOpsOptions o;
    o.min_length = min_len, o.max_length = max_len, o.max_depth = max_depth, o.max_args = max_args;
    data::generate_listops(out, train, val, test, o, static_cast<uint64_t>(seed));
    std::cout << fmt::format("wrote {}/basic_{{train,val,test}}.tsv: {} / {} / {} examples, lengths in ({}, {})\n", out,
                             train, val, test, min_len, max_len);
  } else if (task == "pathfinder") {
    CFX_CHECK(images >= 10, "conflux-lra generate: --images must be >= 10");
    data::PathfinderOptions o;
    o.contour_length = contour, o.num_distractors = distractors;
    data::generate_pathfinder(out, images, o, static_cast<uint64_t>(seed));
    std::cout << fmt::format("wrote {} Pathfinder images under {}/imgs (metadata in {}/metadata)\n", images, out, out);
  } else {
    CFX_FAIL("conflux-lra generate: --task must be listops or pathfinder (the others are real corpora), got '", task, "'");
  }
  return 0;
}

}  // namespace cfx::lra
