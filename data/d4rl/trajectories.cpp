// Episode splitting and state statistics (data/d4rl/trajectories.h).
#include "data/d4rl/trajectories.h"

#include <cmath>

#include "core/error.h"

namespace cfx::data::d4rl {

std::vector<Trajectory> split_trajectories(const D4rlDataset& d) {
  const int64_t n = d.size();
  CFX_CHECK(static_cast<int64_t>(d.terminals.size()) == n && static_cast<int64_t>(d.timeouts.size()) == n,
            "split_trajectories: terminals has ", d.terminals.size(), " rows, timeouts has ", d.timeouts.size(),
            ", rewards has ", n);
  std::vector<Trajectory> out;
  int64_t begin = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool terminal = d.terminals[i] != 0;
    if (terminal || d.timeouts[i] != 0) {
      out.push_back({begin, i + 1 - begin, terminal});
      begin = i + 1;
    }
  }
  // Rows [begin, n) end neither way: dropped, as the official script (see the header).
  return out;
}

StateStats state_stats(const D4rlDataset& d, const std::vector<Trajectory>& trajs) {
  const int64_t C = d.obs_dim;
  CFX_CHECK(C > 0 && static_cast<int64_t>(d.observations.size()) == d.size() * C, "state_stats: observations has ",
            d.observations.size(), " values, expected N x obs_dim = ", d.size(), " x ", C);
  int64_t count = 0;
  for (size_t j = 0; j < trajs.size(); ++j) {
    const Trajectory& t = trajs[j];
    CFX_CHECK(t.begin >= 0 && t.length >= 0 && t.begin + t.length <= d.size(), "state_stats: trajectory ", j,
              " covers rows [", t.begin, ", ", t.begin + t.length, "), the dataset has ", d.size());
    count += t.length;
  }
  CFX_CHECK(count > 0, "state_stats: the ", trajs.size(), " trajectories hold no rows");

  // Two passes in double: the mean, then the squared deviations (no cancellation over 2M rows).
  std::vector<double> mean(C, 0.0), m2(C, 0.0);
  for (const Trajectory& t : trajs)
    for (int64_t i = t.begin; i < t.begin + t.length; ++i)
      for (int64_t c = 0; c < C; ++c) mean[c] += d.observations[i * C + c];
  for (double& m : mean) m /= static_cast<double>(count);
  for (const Trajectory& t : trajs)
    for (int64_t i = t.begin; i < t.begin + t.length; ++i)
      for (int64_t c = 0; c < C; ++c) {
        const double x = static_cast<double>(d.observations[i * C + c]) - mean[c];
        m2[c] += x * x;
      }
  StateStats s{std::vector<float>(C), std::vector<float>(C)};
  for (int64_t c = 0; c < C; ++c) {
    s.mean[c] = static_cast<float>(mean[c]);
    s.std[c] = static_cast<float>(std::sqrt(m2[c] / static_cast<double>(count)) + 1e-6);  // ddof 0, as np.std
  }
  return s;
}

}  // namespace cfx::data::d4rl
