// File helpers for the data loaders (see io.h).
#include "data/detail/io.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iterator>

namespace cfx::data::detail {

void require_file(const char* who, const fs::path& path, std::string_view hint) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return;
  CFX_FAIL(who, ": missing file ", path.string(), hint.empty() ? "" : "\nHINT: ", hint);
}

void require_dir(const char* who, const fs::path& path, std::string_view hint) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return;
  CFX_FAIL(who, ": missing directory ", path.string(), hint.empty() ? "" : "\nHINT: ", hint);
}

std::string read_file(const char* who, const fs::path& path) {
  require_file(who, path);
  std::ifstream in(path, std::ios::binary);
  CFX_CHECK(in, who, ": cannot open ", path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CFX_CHECK(!in.bad(), who, ": read error in ", path.string());
  return bytes;
}

LineReader::LineReader(const char* who, const fs::path& path) : path_(path) {
  require_file(who, path);
  in_.open(path, std::ios::binary);
  CFX_CHECK(in_, who, ": cannot open ", path.string());
}

bool LineReader::next(std::string& line) {
  if (!std::getline(in_, line)) return false;
  ++line_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  out += s.substr(0, kMax);
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

}  // namespace cfx::data::detail
