// The D4RL offline-RL HDF5 layout (Fu et al. 2020; e.g. gym_mujoco_v2/hopper_medium-v2.hdf5),
// read into flat row-major arrays and written back the way h5py writes it.
//
//   /observations       [N, obs]  float32 (float64 in some files, e.g. medium-replay)
//   /actions            [N, act]  float32 (or float64)
//   /rewards            [N]       float32 (or float64)
//   /terminals          [N]       bool: h5py's enum {FALSE=0, TRUE=1} of int8 (or any integer, or float)
//   /timeouts           [N]       bool, same
//   /next_observations  [N, obs]  optional
//   /infos/qpos         [N, nq]   optional, MuJoCo positions (float64 in memory)
//   /infos/qvel         [N, nv]   optional, MuJoCo velocities
//   /infos/action_log_probs, /metadata/...   ignored
//
// Dimension letters: N = transitions (rows), obs/act = observation/action widths.
// Every problem is a cfx::Error "read_d4rl: <path>: <what>" naming the dataset, its shape and
// what was expected; a missing dataset lists the ones the file has.
// Not here: splitting into episodes and normalising (data/d4rl/trajectories.h), training
// windows (data/d4rl/context.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace cfx::data::d4rl {

struct D4rlDataset {  // N transitions, row-major
  int64_t obs_dim = 0, act_dim = 0;
  std::vector<float> observations;           // [N, obs_dim]
  std::vector<float> actions;                // [N, act_dim]
  std::vector<float> rewards;                // [N]
  std::vector<uint8_t> terminals, timeouts;  // [N], 0/1
  std::vector<float> next_observations;      // [N, obs_dim], or empty (optional in the file)
  std::vector<double> qpos, qvel;            // infos/qpos [N, nq], infos/qvel [N, nv]; empty when absent
  int64_t nq = 0, nv = 0;

  int64_t size() const { return static_cast<int64_t>(rewards.size()); }  // N
};

// Reads the datasets above; float data of either precision is converted by HDF5 to the
// in-memory type, flags become 0/1 (anything nonzero is 1).
D4rlDataset read_d4rl(const std::filesystem::path& path);

// Writes `d` as h5py would write the same numpy arrays: float32 for observations, actions,
// rewards and next_observations; float64 for infos/qpos and infos/qvel; numpy bool (h5py's
// int8 enum FALSE/TRUE) for terminals and timeouts; the optional ones only when not empty.
// Atomic: writes <path>.tmp and renames it over `path`, so a crash never leaves half a file.
void write_d4rl(const D4rlDataset& d, const std::filesystem::path& path);

}  // namespace cfx::data::d4rl
