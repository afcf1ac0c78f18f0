// One recipe run over consecutive seeds, as the papers report their numbers (mean ± std over
// seeds): each seed trains into <out>/seed_<s>/, then every named figure's mean and sample
// standard deviation go to <out>/summary.json and back to the app, which prints its table.
//
//   auto report = app::run_seeds(cfg.seed, cfg.seeds, cfg.out_dir, [&](int64_t seed, const fs::path& dir) {
//     Config one = cfg; one.seed = seed; one.out_dir = dir; ...
//     return app::Figures{{"best_acc", r.best}, {"last_acc", r.last}};
//   }, {{"dataset", cfg.dataset}});
//   report.mean("best_acc"), report.std("best_acc");
//
// summary.json: the `about` entries, "first_seed", "seeds", then per figure "<name>_mean",
// "<name>_std" and "<name>_seed_<s>" for every seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "apps/common/cli.h"

namespace cfx::app {

using Figures = std::vector<std::pair<std::string, double>>;

struct SeedsReport {
  int64_t first_seed = 0;
  std::vector<Figures> runs;  // per seed, in order
  double mean(const std::string& figure) const;
  double std(const std::string& figure) const;  // sample std (n - 1); 0 for one seed
};

SeedsReport run_seeds(int64_t first_seed, int64_t seeds, const std::filesystem::path& out_dir,
                      const std::function<Figures(int64_t seed, const std::filesystem::path& dir)>& run_one,
                      const JsonObject& about = {});

}  // namespace cfx::app
