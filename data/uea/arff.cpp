// ARFF readers for UEA time series (data/uea/arff.h).
#include "data/uea/arff.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <set>
#include <string_view>

#include "core/error.h"
#include "data/detail/io.h"

namespace cfx::data {
namespace {

using detail::lower;
using detail::trim;

bool starts_with_keyword(std::string_view line, std::string_view keyword) {
  return line.size() >= keyword.size() && lower(line.substr(0, keyword.size())) == keyword &&
         (line.size() == keyword.size() || std::isspace(static_cast<unsigned char>(line[keyword.size()])));
}

// Splits at `sep` outside single or double quotes.
std::vector<std::string_view> split_outside_quotes(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && quote) {
      if (s[i] == quote) quote = 0;
    } else if (i < s.size() && (s[i] == '\'' || s[i] == '"')) {
      quote = s[i];
    } else if (i == s.size() || s[i] == sep) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) return s.substr(1, s.size() - 2);
  return s;
}

class ArffReader {
 public:
  explicit ArffReader(const std::filesystem::path& file) : file_(file) {}

  TimeSeriesSet read() {
    detail::LineReader reader("read_arff", file_);
    std::string line;
    bool in_data = false;
    while (reader.next(line)) {
      line_no_ = reader.line();
      const std::string_view text = trim(line);
      if (text.empty() || text.front() == '%') continue;
      if (in_data) read_case(text);
      else in_data = header(text);
    }
    CFX_CHECK(in_data, "read_arff: ", file_.string(), ": no @data section");
    CFX_CHECK(out_.size() > 0, "read_arff: ", file_.string(), ": @data has no cases");
    return std::move(out_);
  }

 private:
  std::string where() const { return file_.string() + ":" + std::to_string(line_no_); }

  // Returns true at @data.
  bool header(std::string_view text) {
    if (starts_with_keyword(text, "@data")) {
      CFX_CHECK(!out_.class_names.empty(), "read_arff: ", where(), ": @data before the class attribute "
                "(a nominal attribute {a,b,...}, last)");
      CFX_CHECK(!in_relational_, "read_arff: ", where(), ": @data inside the relational attribute (no @end)");
      CFX_CHECK(relational_ || steps_ > 0, "read_arff: ", where(), ": no numeric attributes before the class");
      return true;
    }
    if (starts_with_keyword(text, "@relation")) {
      out_.problem_name = std::string(unquote(trim(text.substr(9))));
      return false;
    }
    if (starts_with_keyword(text, "@end")) {
      CFX_CHECK(in_relational_, "read_arff: ", where(), ": @end without a relational attribute");
      in_relational_ = false;
      return false;
    }
    CFX_CHECK(starts_with_keyword(text, "@attribute"), "read_arff: ", where(), ": expected @relation, @attribute, "
              "@end or @data, got ", detail::quote(text));
    CFX_CHECK(out_.class_names.empty(), "read_arff: ", where(), ": an attribute after the class attribute "
              "(the class must be last)");
    std::string_view rest = trim(text.substr(10));
    // the name: quoted, or up to the first blank
    size_t name_end = std::min(rest.find_first_of(" \t"), rest.size());
    if (!rest.empty() && (rest.front() == '\'' || rest.front() == '"')) {
      const size_t close = rest.find(rest.front(), 1);
      CFX_CHECK(close != std::string_view::npos, "read_arff: ", where(), ": unterminated quoted attribute name");
      name_end = close + 1;
    }
    const std::string_view type = trim(rest.substr(name_end));
    const std::string type_lower = lower(type);
    if (type_lower == "numeric" || type_lower == "real" || type_lower == "integer") {
      CFX_CHECK(!relational_ || in_relational_, "read_arff: ", where(), ": a numeric attribute beside the relational one");
      ++steps_;
    } else if (type_lower == "relational") {
      CFX_CHECK(!relational_ && steps_ == 0, "read_arff: ", where(), ": only one relational attribute, first, is supported");
      relational_ = in_relational_ = true;
    } else if (!type.empty() && type.front() == '{') {
      CFX_CHECK(!in_relational_, "read_arff: ", where(), ": a nominal attribute inside the relational one");
      CFX_CHECK(type.back() == '}', "read_arff: ", where(), ": unterminated nominal values \"", std::string(type), "\"");
      for (std::string_view v : split_outside_quotes(type.substr(1, type.size() - 2), ','))
        if (!v.empty()) out_.class_names.push_back(lower(unquote(v)));
      CFX_CHECK(!out_.class_names.empty(), "read_arff: ", where(), ": the class attribute lists no values");
      declared_.insert(out_.class_names.begin(), out_.class_names.end());
    } else {
      CFX_FAIL("read_arff: ", where(), ": unsupported attribute type \"", std::string(type), "\" (numeric, "
               "relational or a nominal class {..} only)");
    }
    return false;
  }

  float value(std::string_view word, int64_t channel, int64_t step) const {
    word = trim(word);
    if (word == "?") return std::numeric_limits<float>::quiet_NaN();
    const std::optional<double> v = detail::parse_double(word);
    CFX_CHECK(v.has_value(), "read_arff: ", where(), ": channel ", channel, " step ", step, ": not a number: ",
              detail::quote(word));
    return static_cast<float>(*v);
  }

  void read_case(std::string_view text) {
    const std::vector<std::string_view> fields = split_outside_quotes(text, ',');
    const std::string label = lower(unquote(fields.back()));
    CFX_CHECK(declared_.count(label), "read_arff: ", where(), ": label \"", label, "\" is not one of the class values");
    std::vector<std::vector<std::string_view>> channels;  // [C][T] words
    if (relational_) {
      CFX_CHECK(fields.size() == 2, "read_arff: ", where(), ": expected '<series>',<label>, got ", fields.size(), " fields");
      const std::string_view series = unquote(fields[0]);
      size_t start = 0;
      for (size_t i = 0; i <= series.size(); ++i) {  // channels separated by the two characters "\n"
        if (i == series.size() || (series[i] == '\\' && i + 1 < series.size() && series[i + 1] == 'n')) {
          channels.push_back(split_outside_quotes(series.substr(start, i - start), ','));
          start = i + 2;
          ++i;
        }
      }
    } else {
      CFX_CHECK(static_cast<int64_t>(fields.size()) == steps_ + 1, "read_arff: ", where(), ": expected ", steps_,
                " values and a label, got ", fields.size(), " fields");
      channels.emplace_back(fields.begin(), fields.end() - 1);
    }
    const int64_t C = static_cast<int64_t>(channels.size()), T = static_cast<int64_t>(channels[0].size());
    if (out_.channels == 0) out_.channels = C;
    CFX_CHECK(C == out_.channels, "read_arff: ", where(), ": expected ", out_.channels, " channels like the first case, got ", C);
    for (int64_t c = 0; c < C; ++c)
      CFX_CHECK(static_cast<int64_t>(channels[c].size()) == T, "read_arff: ", where(), ": channel ", c, " has ",
                channels[c].size(), " values, channel 0 has ", T);
    std::vector<float> s(static_cast<size_t>(T * C));
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < T; ++t) s[t * C + c] = value(channels[c][t], c, t);
    out_.series.push_back(std::move(s));
    out_.lengths.push_back(T);
    out_.labels.push_back(label);
  }

  std::filesystem::path file_;
  int64_t line_no_ = 0;
  TimeSeriesSet out_;
  int64_t steps_ = 0;  // numeric attributes (per channel)
  bool relational_ = false, in_relational_ = false;
  std::set<std::string> declared_;
};

}  // namespace

TimeSeriesSet read_arff(const std::filesystem::path& file) { return ArffReader(file).read(); }

TimeSeriesSet read_arff_dimensions(const std::vector<std::filesystem::path>& files) {
  CFX_CHECK(!files.empty(), "read_arff_dimensions: no files");
  std::vector<TimeSeriesSet> dims;
  for (const auto& f : files) {
    dims.push_back(read_arff(f));
    CFX_CHECK(dims.back().channels == 1, "read_arff_dimensions: ", f.string(), " has ", dims.back().channels,
              " channels, expected a univariate file");
  }
  TimeSeriesSet out = dims[0];
  const int64_t C = static_cast<int64_t>(dims.size()), N = out.size();
  out.channels = C;
  for (int64_t k = 1; k < C; ++k) {
    const TimeSeriesSet& d = dims[k];
    CFX_CHECK(d.size() == N, "read_arff_dimensions: ", files[k].string(), " has ", d.size(), " cases, ",
              files[0].string(), " has ", N);
    for (int64_t n = 0; n < N; ++n) {
      CFX_CHECK(d.labels[n] == out.labels[n] && d.lengths[n] == out.lengths[n], "read_arff_dimensions: case ", n,
                " differs between ", files[0].string(), " and ", files[k].string(), " (label ", out.labels[n], " vs ",
                d.labels[n], ", length ", out.lengths[n], " vs ", d.lengths[n], ")");
    }
  }
  for (int64_t n = 0; n < N; ++n) {
    const int64_t T = out.lengths[n];
    std::vector<float> s(static_cast<size_t>(T * C));
    for (int64_t k = 0; k < C; ++k)
      for (int64_t t = 0; t < T; ++t) s[t * C + k] = dims[k].series[n][t];
    out.series[n] = std::move(s);
  }
  return out;
}

}  // namespace cfx::data
