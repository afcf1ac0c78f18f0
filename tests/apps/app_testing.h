// Helpers of the app tests: a temporary run directory and the JSON lines of a metrics file.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "apps/common/cli.h"

namespace cfx::testing {

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("conflux_test_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::vector<std::map<std::string, app::JsonValue>> read_jsonl(const std::filesystem::path& file) {
  std::ifstream in(file);
  REQUIRE_MESSAGE(in.is_open(), "missing ", file.string());
  std::vector<std::map<std::string, app::JsonValue>> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(app::parse_json_object(line));  // throws on a bad line
  return rows;
}

inline std::string str(const app::JsonValue& v) { return std::get<std::string>(v); }
inline double num(const app::JsonValue& v) { return app::json_number(v); }

}  // namespace cfx::testing
