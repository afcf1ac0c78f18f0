// The D4RL HDF5 reader and writer (data/d4rl/d4rl_file.h) on the HDF5 C API (1.10+). Every
// HDF5 call is checked; HDF5's own error printing is silenced while we run, and failures
// become cfx::Error with the path, the dataset and what was being done.
#include "data/d4rl/d4rl_file.h"

#include <hdf5.h>

#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "core/detail/atomic_file.h"
#include "core/detail/hdf5_handle.h"
#include "core/error.h"
#include "data/detail/io.h"

namespace cfx::data::d4rl {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHint =
    "D4RL files come from d4rl's dataset URLs (e.g. gym_mujoco_v2/hopper_medium-v2.hdf5); list a file's "
    "datasets with `h5ls -r <file>`";

using cfx::detail::Hdf5Handle;
using cfx::detail::QuietHdf5;
using Handle = Hdf5Handle;

void check(herr_t status, const char* who, const std::string& what, const fs::path& path) {
  cfx::detail::hdf5_check(status, who, what, path);
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i];
  os << ']';
  return os.str();
}

// ---- reading ------------------------------------------------------------------------------------

constexpr const char* kRead = "read_d4rl";

// True when every link of `name` ("infos/qpos") exists and the last one is a dataset.
// H5Lexists must be asked one level at a time: a missing group in the middle is an error.
bool has_dataset(hid_t file, const std::string& name) {
  for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1))
    if (H5Lexists(file, name.substr(0, slash).c_str(), H5P_DEFAULT) <= 0) return false;
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) return false;
  const hid_t obj = H5Oopen(file, name.c_str(), H5P_DEFAULT);
  if (obj < 0) return false;
  const bool is_dataset = H5Iget_type(obj) == H5I_DATASET;
  H5Oclose(obj);
  return is_dataset;
}

// Every dataset under `group` (recursively) as "a/b/c", for the "it has: ..." line of errors.
// Each group is entered once (`visited`: core/detail/hdf5_handle.h), so a hard link back to
// an ancestor does not recurse for ever.
void list_datasets(hid_t group, const std::string& prefix, std::vector<std::string>& out, std::set<std::string>& visited) {
  const std::string identity = cfx::detail::hdf5_object_identity(group);
  if (identity.empty() || !visited.insert(identity).second) return;
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) return;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) continue;
    std::string name(static_cast<size_t>(len), '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    const std::string key = prefix.empty() ? name : prefix + "/" + name;
    const hid_t obj = H5Oopen(group, name.c_str(), H5P_DEFAULT);
    if (obj < 0) continue;
    const H5I_type_t kind = H5Iget_type(obj);
    if (kind == H5I_GROUP) list_datasets(obj, key, out, visited);
    if (kind == H5I_DATASET) out.push_back(key);
    H5Oclose(obj);
  }
}

std::string dataset_list(hid_t file) {
  std::vector<std::string> names;
  std::set<std::string> visited;
  list_datasets(file, "", names, visited);
  constexpr size_t kShown = 30;  // real files carry dozens of metadata/policy/... entries
  std::string s;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > kShown) s += ", ... (" + std::to_string(names.size() - kShown) + " more)";
  return names.empty() ? "no datasets" : s;
}

// One open dataset with its shape and stored type.
struct Dataset {
  Handle id;
  Handle type;
  std::string name;
  std::vector<int64_t> dims;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
};

// Opens `name` and checks its rank (`layout` is what it should look like, for the message).
Dataset open_dataset(hid_t file, const std::string& name, int rank, const char* layout, const fs::path& path) {
  CFX_CHECK(has_dataset(file, name), kRead, ": ", path.string(), ": no dataset '", name, "' (expected ", layout,
            "); the file has: ", dataset_list(file), "\nHINT: ", kHint);
  Handle id(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, kRead, "open '" + name + "'", path);
  Handle type(H5Dget_type(id), H5Tclose, kRead, "read the type of '" + name + "'", path);
  Handle space(H5Dget_space(id), H5Sclose, kRead, "read the shape of '" + name + "'", path);
  const int r = H5Sget_simple_extent_ndims(space);
  CFX_CHECK(r >= 0, kRead, ": ", path.string(), ": HDF5 failed to read the rank of '", name, "'");
  std::vector<hsize_t> h(static_cast<size_t>(r));
  if (r > 0) H5Sget_simple_extent_dims(space, h.data(), nullptr);
  std::vector<int64_t> dims(h.begin(), h.end());
  CFX_CHECK(r == rank, kRead, ": ", path.string(), ": '", name, "' has shape ", shape_text(dims), " (rank ", r,
            "), expected rank ", rank, " ", layout);
  cfx::detail::hdf5_checked_elements(id, kRead, name, path);  // so numel() cannot overflow, nor a read allocate TBs
  return {std::move(id), std::move(type), name, std::move(dims)};
}

// The data of a float32 or float64 dataset as T; HDF5 converts between the precisions.
template <class T>
std::vector<T> read_floats(const Dataset& ds, const fs::path& path) {
  const H5T_class_t cls = H5Tget_class(ds.type);
  const size_t bytes = H5Tget_size(ds.type);
  CFX_CHECK(cls == H5T_FLOAT && (bytes == 4 || bytes == 8), kRead, ": ", path.string(), ": '", ds.name,
            "' is not float32 or float64 (HDF5 type class ", static_cast<int>(cls), ", ", bytes, " bytes)");
  std::vector<T> out(static_cast<size_t>(ds.numel()));
  const hid_t mem = sizeof(T) == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
  if (!out.empty())
    check(H5Dread(ds.id, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), kRead, "read '" + ds.name + "'", path);
  return out;
}

// A flag dataset as 0/1. h5py stores numpy bool as an enum {FALSE=0, TRUE=1} over int8, which
// HDF5 will not convert to a plain integer; so enums and integers are read in their own
// (native) type and an element is true when any of its bytes is nonzero, i.e. its integer
// value is. Old files store floats: true when != 0.
std::vector<uint8_t> read_flags(const Dataset& ds, const fs::path& path) {
  const H5T_class_t cls = H5Tget_class(ds.type);
  const size_t n = static_cast<size_t>(ds.numel());
  std::vector<uint8_t> out(n, 0);
  if (n == 0) return out;
  if (cls == H5T_FLOAT) {
    const std::vector<double> v = read_floats<double>(ds, path);
    for (size_t i = 0; i < n; ++i) out[i] = v[i] != 0.0;
    return out;
  }
  CFX_CHECK(cls == H5T_ENUM || cls == H5T_INTEGER, kRead, ": ", path.string(), ": '", ds.name,
            "' is not a bool (h5py enum), integer or float dataset (HDF5 type class ", static_cast<int>(cls), ")");
  Handle mem(H5Tget_native_type(ds.type, H5T_DIR_ASCEND), H5Tclose, kRead, "map the type of '" + ds.name + "'", path);
  const size_t width = H5Tget_size(mem);
  std::vector<unsigned char> raw(n * width);
  check(H5Dread(ds.id, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), kRead, "read '" + ds.name + "'", path);
  for (size_t i = 0; i < n; ++i)
    for (size_t b = 0; b < width; ++b) out[i] |= raw[i * width + b] != 0;
  return out;
}

void check_rows(const Dataset& ds, int64_t rows, const fs::path& path) {
  CFX_CHECK(ds.dims[0] == rows, kRead, ": ", path.string(), ": ", ds.name, " has ", ds.dims[0],
            " rows, observations has ", rows, " (shape ", shape_text(ds.dims), ")");
}

// ---- writing ------------------------------------------------------------------------------------

constexpr const char* kWrite = "write_d4rl";

// Checks that `v` holds rows x cols values.
template <class T>
void check_size(const std::vector<T>& v, int64_t rows, int64_t cols, const char* name) {
  CFX_CHECK(static_cast<int64_t>(v.size()) == rows * cols, kWrite, ": ", name, " has ", v.size(), " values, expected ",
            rows, " x ", cols, " = ", rows * cols, " (N = rewards.size())");
}

// Creates dataset `name` of file type `ftype` and shape `dims`, and writes `data` (memory
// type `mtype`) into it.
void write_dataset(hid_t file, const std::string& name, hid_t ftype, hid_t mtype, std::vector<hsize_t> dims,
                   const void* data, const fs::path& tmp) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, kWrite,
               "create the dataspace of '" + name + "'", tmp);
  Handle dset(H5Dcreate2(file, name.c_str(), ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, kWrite,
              "create '" + name + "'", tmp);
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  if (n > 0) check(H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), kWrite, "write '" + name + "'", tmp);
}

// numpy bool as h5py writes it: enum over native int8 with FALSE = 0, TRUE = 1 (so h5py reads
// the dataset back as dtype bool).
void write_bools(hid_t file, const std::string& name, const std::vector<uint8_t>& v, const fs::path& tmp) {
  std::vector<int8_t> values(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CFX_CHECK(v[i] <= 1, kWrite, ": ", name, "[", i, "] is ", static_cast<int>(v[i]), ", expected 0 or 1");
    values[i] = static_cast<int8_t>(v[i]);
  }
  Handle type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose, kWrite, "create the bool enum type", tmp);
  const int8_t no = 0, yes = 1;
  check(H5Tenum_insert(type, "FALSE", &no), kWrite, "build the bool enum type", tmp);
  check(H5Tenum_insert(type, "TRUE", &yes), kWrite, "build the bool enum type", tmp);
  write_dataset(file, name, type, type, {v.size()}, values.data(), tmp);
}

void write_file(const D4rlDataset& d, const fs::path& tmp) {
  QuietHdf5 quiet;
  const hsize_t n = static_cast<hsize_t>(d.size());
  const auto obs = static_cast<hsize_t>(d.obs_dim), act = static_cast<hsize_t>(d.act_dim);
  Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, kWrite, "create the file", tmp);
  write_dataset(file, "observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, obs}, d.observations.data(), tmp);
  write_dataset(file, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, act}, d.actions.data(), tmp);
  write_dataset(file, "rewards", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n}, d.rewards.data(), tmp);
  write_bools(file, "terminals", d.terminals, tmp);
  write_bools(file, "timeouts", d.timeouts, tmp);
  if (!d.next_observations.empty())
    write_dataset(file, "next_observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, obs}, d.next_observations.data(), tmp);
  if (!d.qpos.empty() || !d.qvel.empty()) {
    Handle infos(H5Gcreate2(file, "infos", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, kWrite,
                 "create the group 'infos'", tmp);
    if (!d.qpos.empty())
      write_dataset(file, "infos/qpos", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {n, static_cast<hsize_t>(d.nq)}, d.qpos.data(), tmp);
    if (!d.qvel.empty())
      write_dataset(file, "infos/qvel", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {n, static_cast<hsize_t>(d.nv)}, d.qvel.data(), tmp);
  }
  check(H5Fflush(file, H5F_SCOPE_GLOBAL), kWrite, "flush", tmp);
}

}  // namespace

D4rlDataset read_d4rl(const fs::path& path) {
  detail::require_file(kRead, path, kHint);
  QuietHdf5 quiet;
  CFX_CHECK(H5Fis_hdf5(path.c_str()) > 0, kRead, ": ", path.string(), ": not an HDF5 file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, kRead, "open the file", path);

  D4rlDataset d;
  const Dataset obs = open_dataset(file, "observations", 2, "[N, obs_dim]", path);
  const int64_t n = obs.dims[0];
  d.obs_dim = obs.dims[1];
  d.observations = read_floats<float>(obs, path);

  const Dataset act = open_dataset(file, "actions", 2, "[N, act_dim]", path);
  check_rows(act, n, path);
  d.act_dim = act.dims[1];
  d.actions = read_floats<float>(act, path);

  const Dataset rew = open_dataset(file, "rewards", 1, "[N]", path);
  check_rows(rew, n, path);
  d.rewards = read_floats<float>(rew, path);

  const Dataset term = open_dataset(file, "terminals", 1, "[N]", path);
  check_rows(term, n, path);
  d.terminals = read_flags(term, path);

  const Dataset tout = open_dataset(file, "timeouts", 1, "[N]", path);
  check_rows(tout, n, path);
  d.timeouts = read_flags(tout, path);

  if (has_dataset(file, "next_observations")) {
    const Dataset next = open_dataset(file, "next_observations", 2, "[N, obs_dim]", path);
    check_rows(next, n, path);
    CFX_CHECK(next.dims[1] == d.obs_dim, kRead, ": ", path.string(), ": next_observations has width ", next.dims[1],
              ", observations has ", d.obs_dim, " (shapes ", shape_text(next.dims), " and ", shape_text(obs.dims), ")");
    d.next_observations = read_floats<float>(next, path);
  }
  if (has_dataset(file, "infos/qpos")) {
    const Dataset qpos = open_dataset(file, "infos/qpos", 2, "[N, nq]", path);
    check_rows(qpos, n, path);
    d.nq = qpos.dims[1];
    d.qpos = read_floats<double>(qpos, path);
  }
  if (has_dataset(file, "infos/qvel")) {
    const Dataset qvel = open_dataset(file, "infos/qvel", 2, "[N, nv]", path);
    check_rows(qvel, n, path);
    d.nv = qvel.dims[1];
    d.qvel = read_floats<double>(qvel, path);
  }
  return d;
}

void write_d4rl(const D4rlDataset& d, const fs::path& path) {
  const int64_t n = d.size();
  check_size(d.observations, n, d.obs_dim, "observations");
  check_size(d.actions, n, d.act_dim, "actions");
  check_size(d.terminals, n, 1, "terminals");
  check_size(d.timeouts, n, 1, "timeouts");
  if (!d.next_observations.empty()) check_size(d.next_observations, n, d.obs_dim, "next_observations");
  if (!d.qpos.empty()) check_size(d.qpos, n, d.nq, "infos/qpos");
  if (!d.qvel.empty()) check_size(d.qvel, n, d.nv, "infos/qvel");

  cfx::detail::write_through_temporary(path, [&](const fs::path& tmp) { write_file(d, tmp); });  // closes the file
}

}  // namespace cfx::data::d4rl
