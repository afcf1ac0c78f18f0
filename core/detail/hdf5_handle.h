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

#include <filesystem>
#include <string>
#include <utility>

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

}  // namespace cfx::detail
