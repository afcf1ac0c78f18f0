// Small file helpers shared by the data loaders: whole-file and line-by-line reading,
// strict field splitting and integer parsing, and the error format every loader uses:
//
//   <who>: <path>:<line>: <what>            (text files; line numbers from 1)
//   <who>: <path>: record <k>: <what>        (binary files; records from 0)
//
// Every failure is a cfx::Error (CFX_FAIL adds the C++ file:line); nothing here aborts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cfx::data::detail {

namespace fs = std::filesystem;

// Throws "<who>: missing file <path>" (+ hint) unless `path` is an existing regular file.
void require_file(const char* who, const fs::path& path, std::string_view hint = {});
// Same for a directory.
void require_dir(const char* who, const fs::path& path, std::string_view hint = {});

// The whole file as bytes.
std::string read_file(const char* who, const fs::path& path);

// Reads a text file one line at a time (without the '\n' and a trailing '\r'); line() is
// the 1-based number of the line last returned. Keeps memory flat for multi-GB TSVs.
class LineReader {
 public:
  LineReader(const char* who, const fs::path& path);
  bool next(std::string& line);
  int64_t line() const { return line_; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::ifstream in_;
  int64_t line_ = 0;
};

// Splits on every `sep` (empty fields kept, so "a\t\tb" has three fields).
std::vector<std::string_view> split(std::string_view s, char sep);
// Splits on runs of ASCII whitespace (no empty fields).
std::vector<std::string_view> split_ws(std::string_view s);

// `s` without ASCII whitespace at either end.
std::string_view trim(std::string_view s);
// `s` in ASCII lower case.
std::string lower(std::string_view s);

// The whole of `s` as a base-10 integer (optional sign, no spaces, no trailing junk).
std::optional<int64_t> parse_int(std::string_view s);
// The whole of `s` as a finite floating-point number.
std::optional<double> parse_double(std::string_view s);

// `s` quoted and cut to 40 characters, for error messages.
std::string quote(std::string_view s);

}  // namespace cfx::data::detail
