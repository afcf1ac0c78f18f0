// Replacing a file so that a crash leaves the old one or the new one, never a torn file: the
// protocol nn/checkpoint.cpp and data/d4rl/d4rl_file.cpp write their HDF5 files with.
//
//   write_through_temporary(path, [&](const fs::path& tmp) { /* write and close tmp */ });
//
// write(tmp) fills "<path>.tmp"; it is then fsync'ed, renamed over `path`, and the directory
// fsync'ed. If anything throws, the temporary is removed and the exception propagates.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace cfx::detail {

// Best effort: durability, not correctness, depends on it.
inline void fsync_path(const std::filesystem::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

template <class Write>
void write_through_temporary(const std::filesystem::path& path, Write&& write) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  try {
    write(tmp);
    fsync_path(tmp, false);
    std::filesystem::rename(tmp, path);
    fsync_path(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."), true);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

}  // namespace cfx::detail
