// Episodes of a D4RL dataset and the state statistics the sequence models normalise with,
// as the official decision-transformer preprocessing (kzl/decision-transformer,
// gym/data/download_d4rl_datasets.py, copied unchanged into Flowformer_RL/data/) and
// experiment.py compute them.
//
//   auto trajs = split_trajectories(d);      // rows [begin, begin + length) per episode
//   StateStats stats = state_stats(d, trajs);  // per observation column, over the kept rows
//
// Not here: reading the file (data/d4rl/d4rl_file.h), training windows (data/d4rl/context.h).
#pragma once

#include <cstdint>
#include <vector>

#include "data/d4rl/d4rl_file.h"

namespace cfx::data::d4rl {

struct Trajectory {
  int64_t begin = 0, length = 0;  // rows [begin, begin + length) of the dataset
  bool terminal = false;          // ended by terminals[i] (true) or only by timeouts[i]
};

// An episode ends at every row i with terminals[i] or timeouts[i], row i included. The rows
// after the last end (an episode the file cuts off) are DROPPED, as the official script does:
// it appends its per-episode buffer to `paths` only on done, so the last, unfinished one is
// never kept.
std::vector<Trajectory> split_trajectories(const D4rlDataset& d);

struct StateStats {
  std::vector<float> mean, std;  // [obs_dim]
};

// Mean and population standard deviation (ddof 0) + 1e-6 of each observation column over
// every row of `trajs` (np.mean / np.std(axis=0) + 1e-6 of the concatenated states), computed
// in double (two passes) and stored as float.
StateStats state_stats(const D4rlDataset& d, const std::vector<Trajectory>& trajs);

}  // namespace cfx::data::d4rl
