// HDF5 checkpoints (nn/checkpoint.h) on the HDF5 C API (1.10+). Every HDF5 call is checked;
// HDF5's own error printing is silenced while we run, and failures become cfx::Error with
// the path and what was being done.
#include "nn/checkpoint.h"

#include <hdf5.h>

#include <map>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/detail/atomic_file.h"
#include "core/detail/hdf5_handle.h"
#include "ops/creation.h"

namespace cfx::nn {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOptimizerGroup = "optimizer";
constexpr const char* kHint =
    "\nHINT: keys are PyTorch state-dict names (module.state_dict()); list a file's keys with `h5ls -r <file>`";

using cfx::detail::QuietHdf5;

// HDF5 1.10.8 (Debian 12's) frees the file of a failed H5Fclose (a full disk) but keeps it in
// its ID table, and its atexit handler then dereferences it and crashes the process after the
// error was reported (HDFFV-11052, fixed in 1.14.1; tests/apps/test_kill_resume.cpp). Every
// handle here is closed by RAII, so the exit-time cleanup has nothing to do: skip it. Runs
// when the library loads, before any HDF5 call (H5dont_atexit must come first).
const bool kSkipHdf5AtExit = [] { return H5dont_atexit() >= 0; }();

// An owned hid_t (core/detail/hdf5_handle.h) whose errors name the checkpoint.
struct Handle : cfx::detail::Hdf5Handle {
  Handle(hid_t id, herr_t (*close)(hid_t), const std::string& what, const fs::path& path)
      : Hdf5Handle(id, close, "checkpoint", what, path) {}
};

void check(herr_t status, const std::string& what, const fs::path& path) {
  cfx::detail::hdf5_check(status, "checkpoint", what, path);
}

hid_t memory_type(DType t) {
  switch (t) {
    case DType::Float32: return H5T_NATIVE_FLOAT;
    case DType::Float64: return H5T_NATIVE_DOUBLE;
    case DType::Int32: return H5T_NATIVE_INT32;
    case DType::Int64: return H5T_NATIVE_INT64;
    case DType::UInt8: case DType::Bool: return H5T_NATIVE_UINT8;
  }
  CFX_FAIL("checkpoint: unsupported dtype ", t);
}

// The little-endian file types h5py writes for the same numpy dtypes.
hid_t file_type(DType t) {
  switch (t) {
    case DType::Float32: return H5T_IEEE_F32LE;
    case DType::Float64: return H5T_IEEE_F64LE;
    case DType::Int32: return H5T_STD_I32LE;
    case DType::Int64: return H5T_STD_I64LE;
    case DType::UInt8: case DType::Bool: return H5T_STD_U8LE;
  }
  CFX_FAIL("checkpoint: unsupported dtype ", t);
}

// ---- reading ------------------------------------------------------------------------------------

struct DatasetInfo {
  Shape shape;
  H5T_class_t type_class = H5T_NO_CLASS;
  size_t type_size = 0;
};

// Every dataset under `group` (recursively), keyed by path relative to the file root. Each
// group is entered once (`visited`: identities, core/detail/hdf5_handle.h), so a hard link
// back to an ancestor is not followed again and the datasets keep their first path.
void list_datasets(hid_t group, const std::string& prefix, const fs::path& path, std::map<std::string, DatasetInfo>& out,
                   std::set<std::string>& visited) {
  const std::string identity = cfx::detail::hdf5_object_identity(group);
  CFX_CHECK(!identity.empty(), "checkpoint: HDF5 failed to identify the group '/", prefix, "' in '", path.string(), "'");
  if (!visited.insert(identity).second) return;
  H5G_info_t info;
  check(H5Gget_info(group, &info), "read the group '/" + prefix + "'", path);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    CFX_CHECK(len >= 0, "checkpoint: HDF5 failed to list '/", prefix, "' in '", path.string(), "'");
    std::string name(static_cast<size_t>(len), '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    const std::string key = prefix.empty() ? name : prefix + "/" + name;
    Handle obj(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose, "open '/" + key + "'", path);
    const H5I_type_t kind = H5Iget_type(obj);
    if (kind == H5I_GROUP) {
      list_datasets(obj, key, path, out, visited);
    } else if (kind == H5I_DATASET) {
      Handle space(H5Dget_space(obj), H5Sclose, "read the shape of '" + key + "'", path);
      Handle type(H5Dget_type(obj), H5Tclose, "read the type of '" + key + "'", path);
      DatasetInfo d;
      const int rank = H5Sget_simple_extent_ndims(space);
      CFX_CHECK(rank >= 0, "checkpoint: HDF5 failed to read the rank of '", key, "' in '", path.string(), "'");
      std::vector<hsize_t> dims(static_cast<size_t>(rank));
      if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
      for (hsize_t s : dims) d.shape.push_back(static_cast<int64_t>(s));
      d.type_class = H5Tget_class(type);
      d.type_size = H5Tget_size(type);
      out.emplace(key, d);
    }
  }
}

Handle open_for_reading(const fs::path& path) {
  CFX_CHECK(fs::exists(path), "checkpoint: no file at '", path.string(), "'",
            "\nHINT: check the path; a save that crashed leaves at most '", path.string(), ".tmp'");
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  CFX_CHECK(is_h5 > 0, "checkpoint: '", path.string(), "' is not an HDF5 file");
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open the file", path);
}

// Reads dataset `key` (shape `shape`) into a new CPU tensor of dtype `dtype` (HDF5 converts).
// The shape is checked against the stored bytes before the tensor is allocated.
Tensor read_dataset(hid_t file, const std::string& key, const Shape& shape, DType dtype, const fs::path& path) {
  Handle dset(H5Dopen2(file, key.c_str(), H5P_DEFAULT), H5Dclose, "open '" + key + "'", path);
  cfx::detail::hdf5_checked_elements(dset, "checkpoint", key, path);
  Tensor t = empty(shape, {dtype});
  if (t.numel() == 0) return t;
  check(H5Dread(dset, memory_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw_data()), "read '" + key + "'", path);
  return t;
}

DType natural_dtype(const DatasetInfo& d) {
  if (d.type_class == H5T_FLOAT) return d.type_size <= 4 ? kFloat32 : kFloat64;
  if (d.type_class == H5T_INTEGER) return kInt64;
  return kFloat32;  // unsupported classes are rejected by the callers
}

// Reads the datasets under `group` ("" = root datasets only, without sub-groups) as a state dict.
StateDict read_group(hid_t file, const std::map<std::string, DatasetInfo>& all, const std::string& group,
                     const fs::path& path) {
  StateDict out;
  for (const auto& [key, info] : all) {
    std::string rel;
    if (group.empty()) {
      if (key.find('/') != std::string::npos) continue;
      rel = key;
    } else {
      if (key.rfind(group + "/", 0) != 0) continue;
      rel = key.substr(group.size() + 1);
    }
    CFX_CHECK(info.type_class == H5T_FLOAT || info.type_class == H5T_INTEGER, "checkpoint: dataset '", key, "' in '",
              path.string(), "' is neither float nor integer");
    out.emplace_back(rel, read_dataset(file, key, info.shape, natural_dtype(info), path));
  }
  return out;
}

// ---- writing ------------------------------------------------------------------------------------

void write_atomically(const StateDict& tensors, const fs::path& path) {
  cfx::detail::write_through_temporary(path, [&](const fs::path& tmp) {
    QuietHdf5 quiet;
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "create the file", tmp);
    Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "create a property list", tmp);
    check(H5Pset_create_intermediate_group(lcpl, 1), "set up group creation", tmp);
    for (const auto& [key, t] : tensors) {
      CFX_CHECK(!key.empty() && key.front() != '/', "checkpoint: invalid key '", key, "'");
      CFX_CHECK(t.defined(), "checkpoint: the tensor for key '", key, "' is undefined");
      Tensor c = t.detach().cpu().contiguous();  // dense row-major, as HDF5 expects
      if (c.dtype() == kBool) c = c.to(kUInt8);
      std::vector<hsize_t> dims(c.shape().begin(), c.shape().end());
      Handle space(c.dim() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(c.dim()), dims.data(), nullptr),
                   H5Sclose, "create the dataspace of '" + key + "'", tmp);
      Handle dset(H5Dcreate2(file, key.c_str(), file_type(c.dtype()), space, lcpl, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
                  "create the dataset '" + key + "' (is a key also a group prefix of another?)", tmp);
      if (c.numel() > 0)
        check(H5Dwrite(dset, memory_type(c.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT, c.raw_data()),
              "write '" + key + "'", tmp);
    }
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flush", tmp);
  });  // the handles close (flushing the file) before the temporary is renamed
}

StateDict module_state_as_float32(const Module& module) {
  NoGradGuard no_grad;
  StateDict out;
  for (const auto& [key, t] : module.state_dict())
    out.emplace_back(key, is_floating(t.dtype()) ? t.detach().to(kFloat32) : t.detach());
  return out;
}

// Validates the file's root datasets against the module's state dict from metadata alone
// (nothing is read or changed on error).
void check_module_keys(const Module& module, const std::map<std::string, DatasetInfo>& all, const fs::path& path) {
  std::ostringstream problems;
  int n = 0;
  std::map<std::string, bool> expected;
  for (const auto& [key, t] : module.state_dict()) {
    expected[key] = true;
    auto it = all.find(key);
    if (it == all.end()) {
      problems << "\n  missing key '" << key << "' (module shape " << shape_str(t.shape()) << ")", ++n;
    } else if (it->second.shape != t.shape()) {
      problems << "\n  shape mismatch for '" << key << "': checkpoint " << shape_str(it->second.shape) << " vs module "
               << shape_str(t.shape()), ++n;
    } else if (it->second.type_class != H5T_FLOAT && is_floating(t.dtype())) {
      problems << "\n  '" << key << "' is not a float dataset in the checkpoint", ++n;
    }
  }
  for (const auto& [key, info] : all)
    if (key.find('/') == std::string::npos && !expected.count(key))
      problems << "\n  unexpected key '" << key << "' (checkpoint shape " << shape_str(info.shape) << ")", ++n;
  for (const auto& [key, info] : all) {
    const auto slash = key.find('/');
    if (slash != std::string::npos && key.substr(0, slash) != kOptimizerGroup)
      problems << "\n  unexpected key '" << key << "' (checkpoint shape " << shape_str(info.shape) << ")", ++n;
  }
  CFX_CHECK(n == 0, "load: checkpoint '", path.string(), "' does not match ", module.type_name(), " (", n,
            " problem(s)):", problems.str(), kHint);
}

}  // namespace

void save_tensors(const StateDict& tensors, const fs::path& path) { write_atomically(tensors, path); }

StateDict load_tensors(const fs::path& path) {
  QuietHdf5 quiet;
  Handle file = open_for_reading(path);
  std::map<std::string, DatasetInfo> all;
  std::set<std::string> visited;
  list_datasets(file, "", path, all, visited);
  StateDict out;
  for (const auto& [key, info] : all) {
    CFX_CHECK(info.type_class == H5T_FLOAT || info.type_class == H5T_INTEGER, "checkpoint: dataset '", key, "' in '",
              path.string(), "' is neither float nor integer");
    out.emplace_back(key, read_dataset(file, key, info.shape, natural_dtype(info), path));
  }
  return out;
}

void save(const Module& module, const fs::path& path) { write_atomically(module_state_as_float32(module), path); }

void save(const Module& module, const Optimizer& optimizer, const fs::path& path) {
  StateDict all = module_state_as_float32(module);
  for (const auto& [key, t] : optimizer.state_dict()) all.emplace_back(std::string(kOptimizerGroup) + "/" + key, t);
  write_atomically(all, path);
}

void load(Module& module, const fs::path& path) {
  QuietHdf5 quiet;
  Handle file = open_for_reading(path);
  std::map<std::string, DatasetInfo> all;
  std::set<std::string> visited;
  list_datasets(file, "", path, all, visited);
  check_module_keys(module, all, path);
  module.load_state_dict(read_group(file, all, "", path));
}

void load(Module& module, Optimizer& optimizer, const fs::path& path) {
  QuietHdf5 quiet;
  Handle file = open_for_reading(path);
  std::map<std::string, DatasetInfo> all;
  std::set<std::string> visited;
  list_datasets(file, "", path, all, visited);
  check_module_keys(module, all, path);
  bool has_optimizer = false;
  for (const auto& [key, info] : all) has_optimizer = has_optimizer || key.rfind(std::string(kOptimizerGroup) + "/", 0) == 0;
  CFX_CHECK(has_optimizer, "load: checkpoint '", path.string(), "' has no optimizer state (no '/", kOptimizerGroup,
            "' group)\nHINT: it was saved with save(module, path); load it with load(module, path)");
  const StateDict opt_state = read_group(file, all, kOptimizerGroup, path);
  try {
    optimizer.load_state_dict(opt_state);  // validates before changing anything
  } catch (const Error& e) {
    CFX_FAIL("load: optimizer state in '", path.string(), "': ", e.what());
  }
  module.load_state_dict(read_group(file, all, "", path));
}

}  // namespace cfx::nn
