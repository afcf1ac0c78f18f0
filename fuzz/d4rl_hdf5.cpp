// read_d4rl (data/d4rl/d4rl_file.cpp): a D4RL HDF5 file, through libhdf5; then the episode
// split of the RL app (data/d4rl/trajectories.cpp).
#include "data/d4rl/d4rl_file.h"
#include "data/d4rl/trajectories.h"
#include "fuzz_input.h"
#include "hdf5_open_ids.h"

CFX_FUZZ_TARGET(data, size) {
  const cfx::fuzz::NoOpenHdf5Ids check;  // checked after the reader returns or throws
  const cfx::data::d4rl::D4rlDataset d = cfx::data::d4rl::read_d4rl(cfx::fuzz::as_named_file(data, size, "input.hdf5"));
  const auto trajectories = cfx::data::d4rl::split_trajectories(d);
  cfx::data::d4rl::state_stats(d, trajectories);
}
