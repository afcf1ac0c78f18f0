#include "apps/common/seeds.h"

#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "apps/common/run_state.h"
#include "core/error.h"

namespace cfx::app {

namespace {

std::vector<double> values_of(const SeedsReport& r, const std::string& figure) {
  std::vector<double> v;
  for (const Figures& run : r.runs) {
    bool found = false;
    for (const auto& [name, value] : run)
      if (name == figure) v.push_back(value), found = true;
    CFX_CHECK(found, "run_seeds: a run has no figure '", figure, "'");
  }
  return v;
}

}  // namespace

double SeedsReport::mean(const std::string& figure) const {
  const std::vector<double> v = values_of(*this, figure);
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double SeedsReport::std(const std::string& figure) const {
  const std::vector<double> v = values_of(*this, figure);
  if (v.size() < 2) return 0.0;
  const double m = mean(figure);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

SeedsReport run_seeds(int64_t first_seed, int64_t seeds, const std::filesystem::path& out_dir,
                      const std::function<Figures(int64_t, const std::filesystem::path&)>& run_one, const JsonObject& about) {
  CFX_CHECK(seeds >= 1, "run_seeds: needs at least one seed, got ", seeds);
  SeedsReport report;
  report.first_seed = first_seed;
  for (int64_t i = 0; i < seeds; ++i) {
    const int64_t seed = first_seed + i;
    std::cout << fmt::format("\n== seed {} ({} of {})\n", seed, i + 1, seeds) << std::flush;
    report.runs.push_back(run_one(seed, out_dir / fmt::format("seed_{}", seed)));
  }
  JsonObject json = about;
  json.emplace_back("first_seed", first_seed);
  json.emplace_back("seeds", seeds);
  for (const auto& figure : report.runs.front()) {
    const std::string& name = figure.first;
    json.emplace_back(name + "_mean", report.mean(name));
    json.emplace_back(name + "_std", report.std(name));
    const std::vector<double> values = values_of(report, name);
    for (size_t i = 0; i < values.size(); ++i)
      json.emplace_back(fmt::format("{}_seed_{}", name, first_seed + static_cast<int64_t>(i)), values[i]);
  }
  write_file_atomically(out_dir / "summary.json", to_json(json) + "\n");
  return report;
}

}  // namespace cfx::app
