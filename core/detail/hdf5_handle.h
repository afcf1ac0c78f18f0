// The HDF5 C API with RAII and cfx::Error, for the rooms that read and write HDF5 files
// (nn/checkpoint.cpp, data/d4rl/d4rl_file.cpp). Internal: libconflux links HDF5 privately
// and no public header includes this one.
//
//   QuietHdf5 quiet;                                           // we report errors ourselves
//   Hdf5Handle file(H5Fopen(...), H5Fclose, "read_d4rl", "open the file", path);
//   hdf5_check(H5Dread(...), "read_d4rl", "read 'rewards'", path);
// Errors read "<who>: <path>: HDF5 failed to <what>".
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cfx::detail {

// Silences HDF5's automatic error-stack printing for one scope.
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &fn_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, fn_, data_); }
  QuietHdf5(const QuietHdf5&) = delete;
  QuietHdf5& operator=(const QuietHdf5&) = delete;

 private:
  H5E_auto2_t fn_ = nullptr;
  void* data_ = nullptr;
};

inline void hdf5_check(herr_t status, const char* who, const std::string& what, const std::filesystem::path& path) {
  CFX_CHECK(status >= 0, who, ": ", path.string(), ": HDF5 failed to ", what);
}

// An owned hid_t, closed by the matching H5?close; throws when the id is invalid. Movable, so
// helpers can return an open object.
class Hdf5Handle {
 public:
  Hdf5Handle(hid_t id, herr_t (*close)(hid_t), const char* who, const std::string& what,
             const std::filesystem::path& path)
      : id_(id), close_(close) {
    CFX_CHECK(id_ >= 0, who, ": ", path.string(), ": HDF5 failed to ", what);
  }
  ~Hdf5Handle() {
    if (id_ >= 0) close_(id_);
  }
  Hdf5Handle(Hdf5Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(Hdf5Handle&&) = delete;
  operator hid_t() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// The identity of an open object in its file (file number + address), for walks over groups
// that must visit each group once: hard links can make a group its own descendant (h5py's
// f["g/loop"] = f), and a plain recursive walk then never ends (found by fuzz/checkpoint_hdf5
// and fuzz/d4rl_hdf5 as a stack overflow). Empty when HDF5 cannot tell.
inline std::string hdf5_object_identity(hid_t obj) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t info;
  if (H5Oget_info3(obj, &info, H5O_INFO_BASIC) < 0) return {};
  return std::to_string(info.fileno) + ":" + std::string(reinterpret_cast<const char*>(&info.token), sizeof info.token);
#else
  H5O_info_t info;
  if (H5Oget_info2(obj, &info, H5O_INFO_BASIC) < 0) return {};
  return std::to_string(info.fileno) + ":" + std::to_string(info.addr);
#endif
}

// The number of elements of dataset `dset` (`name` in errors), checked against the bytes the
// file stores for it, for a reader to call before it allocates a buffer: a damaged or hostile
// header (a shape of 2^35 rows in a 6 KB file; found by fuzz/checkpoint_hdf5) is then an error,
// not a terabyte allocation or an overflowing product. Without filters HDF5 stores every
// element; with filters (gzip, shuffle, ...) the data decodes to at most kHdf5MaxFilterRatio
// times its stored bytes (deflate cannot pass 1032:1). A dataset declared but never written
// (no storage; HDF5 would read its fill value) is refused as well: no h5py, PyTorch or Conflux
// writer leaves one holding data. The stored size is itself read from the header, so it is
// capped by the file's size: a 6 KB file cannot hold a 3 GB contiguous dataset (also found by
// fuzz/checkpoint_hdf5). External storage (data in other files) is not a checkpoint's: refused.
inline constexpr uint64_t kHdf5MaxFilterRatio = 2048;

inline uint64_t hdf5_checked_elements(hid_t dset, const char* who, const std::string& name,
                                      const std::filesystem::path& path) {
  Hdf5Handle space(H5Dget_space(dset), H5Sclose, who, "read the shape of '" + name + "'", path);
  Hdf5Handle type(H5Dget_type(dset), H5Tclose, who, "read the type of '" + name + "'", path);
  Hdf5Handle dcpl(H5Dget_create_plist(dset), H5Pclose, who, "read the storage of '" + name + "'", path);
  const int rank = H5Sget_simple_extent_ndims(space);
  CFX_CHECK(rank >= 0, who, ": ", path.string(), ": HDF5 failed to read the rank of '", name, "'");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  CFX_CHECK(rank == 0 || H5Sget_simple_extent_dims(space, dims.data(), nullptr) == rank, who, ": ", path.string(),
            ": HDF5 failed to read the shape of '", name, "'");
  std::string shape = "[";
  for (size_t i = 0; i < dims.size(); ++i) shape += (i ? ", " : "") + std::to_string(dims[i]);
  shape += "]";
  uint64_t elements = 1, bytes = H5Tget_size(type);
  bool overflow = bytes == 0;
  for (const hsize_t d : dims) overflow |= d > static_cast<hsize_t>(INT64_MAX) || __builtin_mul_overflow(elements, d, &elements);
  overflow |= __builtin_mul_overflow(elements, bytes, &bytes) || bytes > static_cast<uint64_t>(INT64_MAX);
  CFX_CHECK(!overflow, who, ": ", path.string(), ": '", name, "' declares shape ", shape, " of ", H5Tget_size(type),
            "-byte elements, more than 2^63 bytes: a damaged file");
  if (elements == 0) return 0;
  CFX_CHECK(H5Pget_external_count(dcpl) == 0, who, ": ", path.string(), ": '", name,
            "' keeps its data in external files, which this reader does not follow");
  hsize_t file_bytes = 0;
  {
    Hdf5Handle file(H5Iget_file_id(dset), H5Fclose, who, "find the file of '" + name + "'", path);
    CFX_CHECK(H5Fget_filesize(file, &file_bytes) >= 0, who, ": ", path.string(), ": HDF5 failed to read the file size");
  }
  const uint64_t declared_storage = H5Dget_storage_size(dset);
  const uint64_t stored = std::min<uint64_t>(declared_storage, file_bytes);
  const int filters = H5Pget_nfilters(dcpl);
  uint64_t limit = stored;
  if (filters > 0 && __builtin_mul_overflow(stored, kHdf5MaxFilterRatio, &limit)) limit = UINT64_MAX;
  CFX_CHECK(bytes <= limit, who, ": ", path.string(), ": '", name, "' declares shape ", shape, " (", bytes,
            " bytes) but the file stores ", stored, " bytes of it", filters > 0 ? " compressed" : "",
            declared_storage > file_bytes ? " (its header claims " + std::to_string(declared_storage) +
                                                " in a file of " + std::to_string(file_bytes) + " bytes)"
                                          : std::string(),
            ": a damaged file, or a dataset created and never written");
  return elements;
}

}  // namespace cfx::detail
