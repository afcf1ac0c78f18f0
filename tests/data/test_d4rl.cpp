// The D4RL data layer (data/d4rl/): the HDF5 file both ways (round trip, the types h5py and
// old files use, every error), the episode split of the official script, the state
// statistics, and every value of the Flowformer RL context windows on hand-made data.
#include <hdf5.h>

#include <cmath>
#include <string>
#include <vector>

#include "data/d4rl/context.h"
#include "data/d4rl/d4rl_file.h"
#include "data/d4rl/trajectories.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data::d4rl;
using cfx::testing::check_error;
using cfx::testing::check_values;
using cfx::testing::TempDir;

namespace {

// Five rows with every optional field present.
D4rlDataset full_dataset() {
  D4rlDataset d;
  d.obs_dim = 3;
  d.act_dim = 2;
  for (int i = 0; i < 5; ++i) {
    for (int c = 0; c < 3; ++c) d.observations.push_back(0.1f * i + 1.25f * c - 0.3f);
    for (int c = 0; c < 3; ++c) d.next_observations.push_back(0.1f * (i + 1) + 1.25f * c - 0.3f);
    for (int a = 0; a < 2; ++a) d.actions.push_back(a ? -0.7f * i : 1e-3f * i);
    d.rewards.push_back(3.5f - 0.9f * i);
  }
  d.terminals = {0, 0, 1, 0, 0};
  d.timeouts = {0, 0, 0, 0, 1};
  d.nq = 2;
  d.nv = 1;
  for (int i = 0; i < 5; ++i) {
    d.qpos.push_back(1.0 / 3.0 + i);
    d.qpos.push_back(-1e-12 * i);
    d.qvel.push_back(2.0 / 7.0 * i);
  }
  return d;
}

void check_same(const D4rlDataset& a, const D4rlDataset& b) {
  CHECK(a.obs_dim == b.obs_dim);
  CHECK(a.act_dim == b.act_dim);
  CHECK(a.observations == b.observations);
  CHECK(a.actions == b.actions);
  CHECK(a.rewards == b.rewards);
  CHECK(a.terminals == b.terminals);
  CHECK(a.timeouts == b.timeouts);
  CHECK(a.next_observations == b.next_observations);
  CHECK(a.qpos == b.qpos);
  CHECK(a.qvel == b.qvel);
  CHECK(a.nq == b.nq);
  CHECK(a.nv == b.nv);
}

// An owned hid_t for the raw-HDF5 test files.
struct H5 {
  hid_t id;
  herr_t (*close)(hid_t);
  ~H5() {
    if (id >= 0) close(id);
  }
  operator hid_t() const { return id; }
};

// Writes dataset `name` (intermediate groups created) of file type `ftype` from `data`.
void raw_write(hid_t file, const std::string& name, hid_t ftype, hid_t mtype, std::vector<hsize_t> dims, const void* data) {
  H5 lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  REQUIRE(H5Pset_create_intermediate_group(lcpl, 1) >= 0);
  H5 space{H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose};
  H5 dset{H5Dcreate2(file, name.c_str(), ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
  REQUIRE(dset.id >= 0);
  REQUIRE(H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
}

// h5py's numpy-bool type: an enum of native int8 with FALSE = 0, TRUE = 1.
hid_t h5py_bool() {
  const hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
  const int8_t no = 0, yes = 1;
  H5Tenum_insert(t, "FALSE", &no);
  H5Tenum_insert(t, "TRUE", &yes);
  return t;
}

// A four-row file written without write_d4rl; `skip` names a dataset to leave out and
// `reward_rows` sets the length of rewards.
void write_raw_file(const std::filesystem::path& p, const std::string& skip = "", hsize_t reward_rows = 4) {
  H5 file{H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
  REQUIRE(file.id >= 0);
  const std::vector<double> obs = {0.5, 1.0 / 3.0, -2.0, 1e-40, 7.0, 8.0, 9.5, -0.25};  // [4, 2] float64
  const std::vector<float> act = {1, 2, 3, 4};                                         // [4, 1]
  const std::vector<double> rew = {0.1, 0.2, 0.3, 0.4};
  const std::vector<uint8_t> term = {0, 1, 0, 0};
  const std::vector<int8_t> tout = {0, 0, 0, 1};
  H5 boolean{h5py_bool(), H5Tclose};
  if (skip != "observations") raw_write(file, "observations", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {4, 2}, obs.data());
  if (skip != "actions") raw_write(file, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {4, 1}, act.data());
  raw_write(file, "rewards", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {reward_rows}, rew.data());
  raw_write(file, "terminals", H5T_STD_U8LE, H5T_NATIVE_UINT8, {4}, term.data());
  raw_write(file, "timeouts", boolean, boolean, {4}, tout.data());
  const int32_t version = 2;
  raw_write(file, "metadata/version", H5T_STD_I32LE, H5T_NATIVE_INT32, {1}, &version);  // ignored
  raw_write(file, "infos/action_log_probs", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {4}, act.data());  // ignored
}

// Ten rows, obs_dim 2: a terminal at row 2, a timeout at row 6, rows 7-9 end neither way.
// Row i observes (i, i*i), except the tail (100, -100), which statistics must not see.
D4rlDataset ten_rows() {
  D4rlDataset d;
  d.obs_dim = 2;
  d.act_dim = 1;
  for (int i = 0; i < 10; ++i) {
    d.observations.push_back(i < 7 ? float(i) : 100.0f);
    d.observations.push_back(i < 7 ? float(i * i) : -100.0f);
    d.actions.push_back(float(i));
    d.rewards.push_back(1.0f);
    d.terminals.push_back(i == 2);
    d.timeouts.push_back(i == 6);
  }
  return d;
}

// Rows 0-2: a length-3 trajectory ending by a terminal; rows 3-8: a length-6 one ending by a
// timeout; rows 9-10: an unfinished tail. Row i: obs (i, 10 + i), actions (i, -i), reward i + 1.
D4rlDataset two_trajectories() {
  D4rlDataset d;
  d.obs_dim = 2;
  d.act_dim = 2;
  for (int i = 0; i < 11; ++i) {
    d.observations.insert(d.observations.end(), {float(i), 10.0f + i});
    d.actions.insert(d.actions.end(), {float(i), -float(i)});
    d.rewards.push_back(i + 1.0f);
    d.terminals.push_back(i == 2);
    d.timeouts.push_back(i == 8);
  }
  return d;
}

const StateStats kStats{{1.0f, 2.0f}, {2.0f, 4.0f}};  // hand-given: (s - 1) / 2, (s - 2) / 4

}  // namespace

TEST_CASE("d4rl: write_d4rl then read_d4rl round-trips every field, with and without the optional ones") {
  TempDir dir;
  const D4rlDataset full = full_dataset();
  write_d4rl(full, dir / "full.hdf5");
  CHECK(!std::filesystem::exists(dir / "full.hdf5.tmp"));  // renamed into place
  check_same(read_d4rl(dir / "full.hdf5"), full);

  D4rlDataset bare = full;
  bare.next_observations.clear();
  bare.qpos.clear();
  bare.qvel.clear();
  bare.nq = bare.nv = 0;
  write_d4rl(bare, dir / "bare.hdf5");
  check_same(read_d4rl(dir / "bare.hdf5"), bare);
  write_d4rl(full, dir / "bare.hdf5");  // overwrites an existing file
  check_same(read_d4rl(dir / "bare.hdf5"), full);

  // The stored types are h5py's: float32 data, float64 infos, numpy bool as enum int8 {FALSE, TRUE}.
  H5 file{H5Fopen((dir / "full.hdf5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  REQUIRE(file.id >= 0);
  auto type_of = [&](const char* name) {
    H5 dset{H5Dopen2(file, name, H5P_DEFAULT), H5Dclose};
    REQUIRE(dset.id >= 0);
    return H5Dget_type(dset);
  };
  for (const char* name : {"observations", "actions", "rewards", "next_observations"}) {
    H5 t{type_of(name), H5Tclose};
    CHECK_MESSAGE((H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 4), name);
  }
  for (const char* name : {"infos/qpos", "infos/qvel"}) {
    H5 t{type_of(name), H5Tclose};
    CHECK_MESSAGE((H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 8), name);
  }
  for (const char* name : {"terminals", "timeouts"}) {
    H5 t{type_of(name), H5Tclose};
    REQUIRE(H5Tget_class(t) == H5T_ENUM);
    H5 base{H5Tget_super(t), H5Tclose};
    CHECK(H5Tequal(base, H5T_NATIVE_INT8) > 0);
    REQUIRE(H5Tget_nmembers(t) == 2);
    int8_t value = -1;
    char* member = H5Tget_member_name(t, 0);
    H5Tget_member_value(t, 0, &value);
    CHECK(std::string(member) == "FALSE");
    CHECK(value == 0);
    H5free_memory(member);
    member = H5Tget_member_name(t, 1);
    H5Tget_member_value(t, 1, &value);
    CHECK(std::string(member) == "TRUE");
    CHECK(value == 1);
    H5free_memory(member);
  }
}

TEST_CASE("d4rl: read_d4rl converts float64 data, uint8 and h5py-enum flags, float flags; ignores metadata") {
  TempDir dir;
  write_raw_file(dir / "raw.hdf5");
  const D4rlDataset d = read_d4rl(dir / "raw.hdf5");
  CHECK(d.size() == 4);
  CHECK(d.obs_dim == 2);
  CHECK(d.act_dim == 1);
  CHECK(d.observations == std::vector<float>{0.5f, float(1.0 / 3.0), -2.0f, float(1e-40), 7.0f, 8.0f, 9.5f, -0.25f});
  CHECK(d.actions == std::vector<float>{1, 2, 3, 4});
  CHECK(d.rewards == std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f});
  CHECK(d.terminals == std::vector<uint8_t>{0, 1, 0, 0});
  CHECK(d.timeouts == std::vector<uint8_t>{0, 0, 0, 1});
  CHECK(d.next_observations.empty());
  CHECK(d.qpos.empty());
  CHECK(d.qvel.empty());
  CHECK(d.nq == 0);
  CHECK(d.nv == 0);

  // Old files: float flags; any nonzero integer is true.
  {
    H5 file{H5Fcreate((dir / "old.hdf5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    const std::vector<float> obs = {1, 2, 3}, rew = {0, 0, 0}, term = {0.0f, 1.0f, -0.5f};
    const std::vector<int8_t> tout = {5, 0, -1};
    raw_write(file, "observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {3, 1}, obs.data());
    raw_write(file, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {3, 1}, obs.data());
    raw_write(file, "rewards", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {3}, rew.data());
    raw_write(file, "terminals", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {3}, term.data());
    raw_write(file, "timeouts", H5T_STD_I8LE, H5T_NATIVE_INT8, {3}, tout.data());
  }
  const D4rlDataset old = read_d4rl(dir / "old.hdf5");
  CHECK(old.terminals == std::vector<uint8_t>{0, 1, 1});
  CHECK(old.timeouts == std::vector<uint8_t>{1, 0, 1});
}

TEST_CASE("d4rl: read_d4rl and write_d4rl errors name the file, the dataset and both sizes") {
  TempDir dir;
  const auto missing = dir / "nope.hdf5";
  check_error([&] { read_d4rl(missing); }, {"read_d4rl", "missing file", missing.string()});

  cfx::testing::write_file(dir / "text.hdf5", "not hdf5\n");
  check_error([&] { read_d4rl(dir / "text.hdf5"); }, {"not an HDF5 file"});

  write_raw_file(dir / "no_actions.hdf5", "actions");
  check_error([&] { read_d4rl(dir / "no_actions.hdf5"); },
              {(dir / "no_actions.hdf5").string(), "no dataset 'actions'", "the file has: ", "observations", "rewards",
               "infos/action_log_probs"});

  write_raw_file(dir / "short.hdf5", "", 3);
  check_error([&] { read_d4rl(dir / "short.hdf5"); }, {"short.hdf5", "rewards has 3 rows, observations has 4"});

  {  // rewards [4, 1]: wrong rank
    H5 file{H5Fcreate((dir / "rank.hdf5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    const std::vector<float> v = {1, 2, 3, 4};
    raw_write(file, "observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {4, 1}, v.data());
    raw_write(file, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {4, 1}, v.data());
    raw_write(file, "rewards", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {4, 1}, v.data());
  }
  check_error([&] { read_d4rl(dir / "rank.hdf5"); }, {"'rewards' has shape [4, 1] (rank 2), expected rank 1 [N]"});

  D4rlDataset wide = full_dataset();
  wide.next_observations.resize(5 * 4);  // 4 columns, observations has 3
  {
    // write_d4rl refuses it, so write the mismatched width by hand next to a good file.
    check_error([&] { write_d4rl(wide, dir / "wide.hdf5"); }, {"write_d4rl", "next_observations has 20 values, expected 5 x 3"});
    write_d4rl(full_dataset(), dir / "wide.hdf5");
    H5 file{H5Fopen((dir / "wide.hdf5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose};
    REQUIRE(H5Ldelete(file, "next_observations", H5P_DEFAULT) >= 0);
    raw_write(file, "next_observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {5, 4}, wide.next_observations.data());
  }
  check_error([&] { read_d4rl(dir / "wide.hdf5"); }, {"next_observations has width 4, observations has 3"});

  D4rlDataset bad = full_dataset();
  bad.terminals[1] = 3;
  check_error([&] { write_d4rl(bad, dir / "bad.hdf5"); }, {"terminals[1] is 3, expected 0 or 1"});
  CHECK(!std::filesystem::exists(dir / "bad.hdf5.tmp"));  // a failed write leaves nothing
  CHECK(!std::filesystem::exists(dir / "bad.hdf5"));
  bad = full_dataset();
  bad.actions.pop_back();
  check_error([&] { write_d4rl(bad, dir / "bad.hdf5"); }, {"actions has 9 values, expected 5 x 2"});
}

TEST_CASE("d4rl: split_trajectories ends at terminals and timeouts (row included) and drops the unfinished tail") {
  const D4rlDataset d = ten_rows();
  const std::vector<Trajectory> t = split_trajectories(d);
  REQUIRE(t.size() == 2);
  CHECK(t[0].begin == 0);
  CHECK(t[0].length == 3);
  CHECK(t[0].terminal);
  CHECK(t[1].begin == 3);
  CHECK(t[1].length == 4);
  CHECK(!t[1].terminal);  // ended by the timeout

  D4rlDataset both = d;
  both.timeouts[2] = 1;  // a row that is terminal and a timeout ends one trajectory, a terminal one
  both.terminals[9] = 1;  // and a terminal on the last row keeps the tail
  const std::vector<Trajectory> u = split_trajectories(both);
  REQUIRE(u.size() == 3);
  CHECK(u[0].length == 3);
  CHECK(u[0].terminal);
  CHECK(u[2].begin == 7);
  CHECK(u[2].length == 3);
  CHECK(u[2].terminal);

  D4rlDataset none = d;
  none.terminals.assign(10, 0);
  none.timeouts.assign(10, 0);
  CHECK(split_trajectories(none).empty());
}

TEST_CASE("d4rl: state_stats is the population mean and std + 1e-6 over the kept rows only") {
  const D4rlDataset d = ten_rows();
  const StateStats s = state_stats(d, split_trajectories(d));  // rows 0-6: (i, i*i)
  // column 0: 0..6, mean 3, variance 28 / 7 = 4; column 1: 0, 1, 4, ..., 36, mean 13, variance 1092 / 7 = 156.
  CHECK(s.mean == std::vector<float>{3.0f, 13.0f});
  CHECK(s.std == std::vector<float>{static_cast<float>(2.0 + 1e-6), static_cast<float>(std::sqrt(156.0) + 1e-6)});

  check_error([&] { state_stats(d, {}); }, {"state_stats", "hold no rows"});
  check_error([&] { state_stats(d, {{8, 5, false}}); }, {"trajectory 0 covers rows [8, 13), the dataset has 10"});
}

TEST_CASE("d4rl: ContextSamples gives one right-padded window per start step, every value as the official code") {
  const D4rlDataset d = two_trajectories();
  const std::vector<Trajectory> trajs = split_trajectories(d);
  REQUIRE(trajs.size() == 2);  // [0, 3) terminal, [3, 9) timeout; rows 9-10 dropped
  const ContextSamples samples(d, trajs, kStats, {.context = 4, .max_ep_len = 1000, .return_scale = 10.0});
  CHECK(samples.size() == 9);  // 3 + 6 rows of the kept trajectories

  const std::vector<int64_t> rows = {1, 4, 5};  // traj 0 si 1 (padded), traj 1 si 1, traj 1 si 2
  const data::TensorDict b = samples.batch(rows);
  CHECK(b.keys() == std::vector<std::string>{"states", "actions", "rewards", "dones", "rtg", "timesteps", "mask"});
  CHECK(b.at("states").shape() == Shape{3, 4, 2});
  CHECK(b.at("actions").shape() == Shape{3, 4, 2});
  CHECK(b.at("rewards").shape() == Shape{3, 4, 1});
  CHECK(b.at("dones").shape() == Shape{3, 4});
  CHECK(b.at("rtg").shape() == Shape{3, 5, 1});
  CHECK(b.at("timesteps").shape() == Shape{3, 4});
  CHECK(b.at("mask").shape() == Shape{3, 4});
  for (const char* f : {"states", "actions", "rewards", "rtg", "mask"}) CHECK_MESSAGE(b.at(f).dtype() == kFloat32, f);
  for (const char* f : {"dones", "timesteps"}) CHECK_MESSAGE(b.at(f).dtype() == kInt64, f);
  auto field = [&](const char* name, int64_t r) { return b.at(name).select(0, r); };

  // Sample 1: rows 1-2 of the length-3 trajectory, then 2 padded steps.
  check_values(field("states", 0), {(1 - 1) / 2.0, (11 - 2) / 4.0,  // row 1: (1, 11)
                                    (2 - 1) / 2.0, (12 - 2) / 4.0,  // row 2: (2, 12)
                                    -1 / 2.0, -2 / 4.0,             // padding: s = 0, so -mean / std
                                    -1 / 2.0, -2 / 4.0});
  check_values(field("actions", 0), {1, -1, 2, -2, -10, -10, -10, -10});
  check_values(field("rewards", 0), {2, 3, 0, 0});
  check_values(field("dones", 0), {0, 1, 2, 2});                // row 2 is the terminal
  check_values(field("rtg", 0), {0.5, 0.3, 0, 0, 0});           // (2 + 3) / 10, 3 / 10, then past the end
  check_values(field("timesteps", 0), {1, 2, 0, 0});
  check_values(field("mask", 0), {1, 1, 0, 0});

  // Sample 4: rows 4-7 (steps 1-4 of the second trajectory, rewards 4..9), no padding.
  check_values(field("states", 1), {1.5, 3.0, 2.0, 3.25, 2.5, 3.5, 3.0, 3.75});
  check_values(field("actions", 1), {4, -4, 5, -5, 6, -6, 7, -7});
  check_values(field("rewards", 1), {5, 6, 7, 8});
  check_values(field("dones", 1), {0, 0, 0, 0});
  check_values(field("rtg", 1), {3.5, 3.0, 2.4, 1.7, 0.9});  // suffix sums 35, 30, 24, 17, 9 (step 5 exists)
  check_values(field("timesteps", 1), {1, 2, 3, 4});
  check_values(field("mask", 1), {1, 1, 1, 1});

  // Sample 5: rows 5-8 end the trajectory exactly, so the (K+1)-th return-to-go is 0; the
  // timeout row is no terminal.
  check_values(field("rtg", 2), {3.0, 2.4, 1.7, 0.9, 0.0});
  check_values(field("dones", 2), {0, 0, 0, 0});
  check_values(field("mask", 2), {1, 1, 1, 1});

  // A batch is the same sample wherever it sits in it.
  const data::TensorDict one = samples.batch(std::vector<int64_t>{4});
  for (const auto& [name, t] : one) CHECK_MESSAGE(to_vector<double>(t) == to_vector<double>(b.at(name).select(0, 1)), name);

  check_error([&] { samples.batch(std::vector<int64_t>{0, 9}); }, {"row 9 (batch position 1) out of range [0, 9)"});
}

TEST_CASE("d4rl: ContextSamples clips timesteps to max_ep_len - 1 and checks its inputs") {
  const D4rlDataset d = two_trajectories();
  const std::vector<Trajectory> trajs = split_trajectories(d);
  const ContextSamples samples(d, trajs, kStats, {.context = 4, .max_ep_len = 3, .return_scale = 1000.0});
  const data::TensorDict b = samples.batch(std::vector<int64_t>{3, 4, 0});
  check_values(b.at("timesteps").select(0, 0), {0, 1, 2, 2});
  check_values(b.at("timesteps").select(0, 1), {1, 2, 2, 2});
  check_values(b.at("timesteps").select(0, 2), {0, 1, 2, 0});  // padding stays 0
  check_values(b.at("rtg").select(0, 0), {0.039, 0.035, 0.030, 0.024, 0.017});  // / 1000

  // Default options: K = 20 windows, so every sample of these short trajectories is padded.
  const ContextSamples k20(d, trajs, state_stats(d, trajs));
  CHECK(k20.size() == 9);
  CHECK(k20.batch(std::vector<int64_t>{0}).at("mask").shape() == Shape{1, 20});
  check_values(k20.batch(std::vector<int64_t>{8}).at("mask"),
               {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});

  check_error([&] { (void)ContextSamples(d, trajs, StateStats{{0.0f}, {1.0f}}); }, {"1 means", "width 2"});
  check_error([&] { (void)ContextSamples(d, {{5, 10, false}}, kStats); }, {"trajectory 0 covers rows [5, 15)", "11 rows"});
  check_error([&] { (void)ContextSamples(d, trajs, kStats, {.context = 0}); }, {"context must be positive"});
}
