// The training samples of Flowformer's offline-RL code (Flowformer_RL/data/context_dataset.py,
// ContextDataset with mode "normal", gamma = 1): one window of `context` steps for EVERY start
// index si of every trajectory, right-padded. Built on the fly from the flat arrays of the
// dataset; the official code materialises all windows, which for 2M rows is tens of GB.
//
// Dimension letters: B = rows of a batch, K = context, obs/act = observation/action widths.
//
//   auto trajs = split_trajectories(d);
//   ContextSamples samples(d, trajs, state_stats(d, trajs));   // d must outlive `samples`
//   Loader<TensorDict> loader(std::make_shared<RandomSampler>(samples.size(), seed),
//       [&](std::span<const int64_t> rows, uint64_t) { return samples.batch(rows); }, {...});
//
// Sample index order: trajectory by trajectory (in the order given), si = 0, 1, ... inside
// each, as the official loops append them. Not here: the file (d4rl_file.h), the split and
// statistics (trajectories.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/d4rl/d4rl_file.h"
#include "data/d4rl/trajectories.h"
#include "data/tensor_dict.h"

namespace cfx::data::d4rl {

struct ContextOptions {
  int64_t context = 20;         // K, the window length (the paper's and the official default)
  int64_t max_ep_len = 1000;    // timesteps are clipped to max_ep_len - 1
  double return_scale = 1000.0;  // returns-to-go are divided by it
};

class ContextSamples {
 public:
  // Keeps a reference to `d` (it must outlive this object: real datasets are too big to copy).
  ContextSamples(const D4rlDataset& d, std::vector<Trajectory> trajs, StateStats stats, ContextOptions o = {});
  ContextSamples(D4rlDataset&&, std::vector<Trajectory>, StateStats, ContextOptions = {}) = delete;  // would dangle

  int64_t size() const { return offsets_.back(); }  // number of samples = rows of all trajectories

  // The samples `rows` (each in [0, size())), float32 unless said:
  //   "states"    [B, K, obs]    (s - mean) / std; padded steps are s = 0, so -mean / std
  //   "actions"   [B, K, act]    padded with -10
  //   "rewards"   [B, K, 1]      padded with 0
  //   "dones"     [B, K] int64   terminals of the window (0/1), padded with 2
  //   "rtg"       [B, K + 1, 1]  undiscounted sum of the rewards from step si + k to the end of
  //                              the trajectory (0 past its end), / return_scale
  //   "timesteps" [B, K] int64   si + k clipped to max_ep_len - 1; padded with 0
  //   "mask"      [B, K]         1 on real steps, 0 on padding
  // Thread-safe (const, nothing shared is written), so loader workers may call it.
  TensorDict batch(std::span<const int64_t> rows) const;

 private:
  const D4rlDataset& d_;
  std::vector<Trajectory> trajs_;
  StateStats stats_;
  ContextOptions o_;
  std::vector<int64_t> offsets_;  // [T + 1]: first sample (= first suffix-sum slot) of each trajectory
  std::vector<double> suffix_;    // [size()]: suffix_[offsets_[j] + t] = sum of rewards t.. of trajectory j
};

}  // namespace cfx::data::d4rl
