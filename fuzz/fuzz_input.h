// What every fuzz target shares: the input as a file, for the parsers that take a path, and the
// rule of the targets: a cfx::Error is the right answer to bad bytes; anything else (a crash, an
// ASan or UBSan report, a hang, std::bad_alloc, another exception) escapes to libFuzzer as a bug.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cfx::fuzz {

// A file in memory (memfd: no disk), rewritten with each input; path() names it as
// /proc/self/fd/<n>, which open(), stat() and HDF5 follow like any regular file.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("conflux-fuzz", 0)), path_("/proc/self/fd/" + std::to_string(fd_)) {
    if (fd_ < 0) std::perror("memfd_create"), std::abort();
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  const std::filesystem::path& write(const uint8_t* data, size_t size) {
    if (::ftruncate(fd_, 0) != 0) std::perror("ftruncate"), std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::perror("pwrite"), std::abort();
      done += static_cast<size_t>(n);
    }
    return path_;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_;
  std::filesystem::path path_;
};

// The path of the input written to this process's MemFile.
inline const std::filesystem::path& as_file(const uint8_t* data, size_t size) {
  static MemFile file;
  return file.write(data, size);
}

// A directory of this process under $CFX_FUZZ_TMPDIR (run_fuzz.sh makes one per run in RAM
// and removes it, since a crashing process cannot), else /dev/shm, else /tmp; removed at a
// normal exit. For readers of a whole tree, and for libhdf5, which resolves a path to its real
// name and so cannot open a memfd's /proc/self/fd/<n>.
inline const std::filesystem::path& temp_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      std::error_code ec;
      const char* env = std::getenv("CFX_FUZZ_TMPDIR");
      const std::filesystem::path base = env && *env ? std::filesystem::path(env)
                                         : std::filesystem::is_directory("/dev/shm", ec)
                                             ? std::filesystem::path("/dev/shm")
                                             : std::filesystem::temp_directory_path();
      std::string name = (base / "conflux-fuzz-XXXXXX").string();
      if (!::mkdtemp(name.data())) std::perror("mkdtemp"), std::abort();
      path = name;
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Dir dir;
  return dir.path;
}

// The input written to temp_dir()/<name>, a file with a real name.
inline std::filesystem::path as_named_file(const uint8_t* data, size_t size, const std::string& name = "input") {
  const std::filesystem::path path = temp_dir() / name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) std::perror("write input"), std::abort();
  return path;
}

inline std::string_view as_chars(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace cfx::fuzz

// The body of a target: runs it, accepts a cfx::Error (printed when CFX_FUZZ_VERBOSE is set,
// to see why a seed is rejected), lets everything else through.
#define CFX_FUZZ_TARGET(data, size)                                                \
  static void cfx_fuzz_one(const uint8_t* data, size_t size);                      \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {        \
    try {                                                                          \
      cfx_fuzz_one(data, size);                                                    \
    } catch (const cfx::Error& e) {                                                \
      if (std::getenv("CFX_FUZZ_VERBOSE")) std::fprintf(stderr, "cfx::Error: %s\n", e.what()); \
    }                                                                              \
    return 0;                                                                      \
  }                                                                                \
  static void cfx_fuzz_one(const uint8_t* data, size_t size)
