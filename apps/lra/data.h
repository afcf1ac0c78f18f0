// conflux-lra data: the task's splits through the data/lra/lra.h readers, the majority-class
// baseline, and the `generate` subcommand (synthetic ListOps/Pathfinder in the release format).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/lra/config.h"
#include "data/dataset.h"
#include "data/lra/lra.h"

namespace cfx::lra {

data::Split parse_split(const std::string& name);  // train | val | test
// The split of cfg.task under cfg.data_dir, sequences cut to cfg.max_len.
std::shared_ptr<const data::Dataset> load_split(const LraConfig& cfg, data::Split split);

// Label counts, and the accuracy on `eval` of always answering train's most frequent label.
std::vector<int64_t> label_counts(const data::Dataset& dataset, int64_t num_classes);
struct Baseline {
  int64_t label = 0;
  double accuracy = 0.0;
};
Baseline majority_baseline(const data::Dataset& train, const data::Dataset& eval, int64_t num_classes);

// `conflux-lra generate --task listops|pathfinder --out DIR [...]`; returns the exit code.
int run_generate(const std::vector<std::string>& args);

}  // namespace cfx::lra
