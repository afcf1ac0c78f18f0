// Helpers for the data-room tests: a self-deleting temporary directory, file writers, and a
// check that a call throws cfx::Error whose message contains given pieces (file, line, ...).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "testing.h"

namespace cfx::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("conflux_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& sub) const { return path_ / sub; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message of the cfx::Error `fn` throws ("" and a failed check when it does not throw).
inline std::string error_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const cfx::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("threw a non-cfx exception: ", e.what());
    return e.what();
  }
  FAIL_CHECK("expected a cfx::Error, nothing was thrown");
  return "";
}

// Checks that `fn` throws cfx::Error whose message contains every piece.
inline void check_error(const std::function<void()>& fn, std::initializer_list<std::string> pieces) {
  const std::string msg = error_message(fn);
  for (const std::string& piece : pieces)
    CHECK_MESSAGE(msg.find(piece) != std::string::npos, "message lacks '", piece, "': ", msg);
}

inline std::vector<int64_t> row(const Tensor& t2d, int64_t r) { return to_vector<int64_t>(t2d.select(0, r)); }

}  // namespace cfx::testing
