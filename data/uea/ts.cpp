// The `.ts` reader (data/uea/ts.h).
#include "data/uea/ts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <string_view>

#include "core/error.h"
#include "data/detail/io.h"

namespace cfx::data {
namespace {

using detail::lower;
using detail::split;
using detail::trim;

// Reads one file; every error names the file and line.
class TsReader {
 public:
  explicit TsReader(const std::filesystem::path& file) : file_(file) {}

  TimeSeriesSet read() {
    detail::LineReader reader("read_ts", file_);
    std::string line;
    bool in_data = false;
    while (reader.next(line)) {
      line_no_ = reader.line();
      const std::string_view text = trim(line);
      if (text.empty() || text.front() == '#') continue;
      if (in_data) {
        read_case(text);
      } else {
        CFX_CHECK(text.front() == '@', "read_ts: ", where(), ": expected a @directive before @data, got ",
                  detail::quote(text));
        in_data = directive(text);
      }
    }
    CFX_CHECK(in_data, "read_ts: ", file_.string(), ": no @data section");
    CFX_CHECK(has_labels_, "read_ts: ", file_.string(), ": no \"@classLabel true ...\" (only classification files are supported)");
    CFX_CHECK(out_.size() > 0, "read_ts: ", file_.string(), ": @data has no cases");
    return std::move(out_);
  }

 private:
  std::string where() const { return file_.string() + ":" + std::to_string(line_no_); }

  bool parse_bool(std::string_view word, const std::string& name) const {
    const std::string w = lower(word);
    CFX_CHECK(w == "true" || w == "false", "read_ts: ", where(), ": @", name, " expects true or false, got \"",
              std::string(word), "\"");
    return w == "true";
  }

  int64_t parse_count(std::string_view word, const std::string& name) const {
    const std::optional<int64_t> v = detail::parse_int(word);
    CFX_CHECK(v && *v > 0, "read_ts: ", where(), ": @", name, " expects a positive integer, got \"", std::string(word), "\"");
    return *v;
  }

  // Returns true at @data.
  bool directive(std::string_view text) {
    const std::vector<std::string_view> words = detail::split_ws(text);
    const std::string name = lower(words[0].substr(1));
    const auto arg = [&](size_t i) -> std::string_view {
      CFX_CHECK(words.size() > i, "read_ts: ", where(), ": @", name, " needs a value");
      return words[i];
    };
    if (name == "data") return true;
    if (name == "problemname") {
      out_.problem_name = std::string(arg(1));
    } else if (name == "timestamps") {
      CFX_CHECK(!parse_bool(arg(1), name), "read_ts: ", where(), ": @timeStamps true is not supported");
    } else if (name == "missing" || name == "univariate") {
      parse_bool(arg(1), name);
    } else if (name == "equallength") {
      equal_length_ = parse_bool(arg(1), name);
    } else if (name == "dimensions") {
      declared_channels_ = parse_count(arg(1), name);
    } else if (name == "serieslength") {
      series_length_ = parse_count(arg(1), name);
    } else if (name == "classlabel") {
      has_labels_ = parse_bool(arg(1), name);
      CFX_CHECK(has_labels_, "read_ts: ", where(), ": @classLabel false: only classification files are supported");
      for (size_t i = 2; i < words.size(); ++i) out_.class_names.push_back(lower(words[i]));
      CFX_CHECK(!out_.class_names.empty(), "read_ts: ", where(), ": @classLabel true lists no classes");
      declared_labels_ = std::set<std::string>(out_.class_names.begin(), out_.class_names.end());
    } else if (name == "targetlabel") {
      CFX_FAIL("read_ts: ", where(), ": @targetLabel (regression) is not supported");
    } else {
      CFX_FAIL("read_ts: ", where(), ": unknown directive @", std::string(words[0].substr(1)));
    }
    return false;
  }

  float parse_value(std::string_view word, size_t channel, size_t step) const {
    word = trim(word);
    if (word == "?" || lower(word) == "nan") return std::numeric_limits<float>::quiet_NaN();
    const std::optional<double> v = detail::parse_double(word);
    CFX_CHECK(v.has_value(), "read_ts: ", where(), ": channel ", channel, " step ", step, ": not a number: ",
              detail::quote(word));
    return static_cast<float>(*v);
  }

  void read_case(std::string_view text) {
    CFX_CHECK(has_labels_, "read_ts: ", where(), ": @data before \"@classLabel true ...\"");
    const std::vector<std::string_view> fields = split(text, ':');
    const int64_t channels = static_cast<int64_t>(fields.size()) - 1;  // the last field is the label
    CFX_CHECK(channels >= 1, "read_ts: ", where(), ": expected channels separated by ':' then a label");
    if (declared_channels_ > 0)
      CFX_CHECK(channels == declared_channels_, "read_ts: ", where(), ": expected ", declared_channels_,
                " channels (@dimensions), got ", channels);
    if (out_.channels == 0) out_.channels = channels;
    CFX_CHECK(channels == out_.channels, "read_ts: ", where(), ": expected ", out_.channels,
              " channels like the first case, got ", channels);
    const std::string label = lower(trim(fields.back()));
    CFX_CHECK(declared_labels_.count(label), "read_ts: ", where(), ": label \"", label,
              "\" is not one of the @classLabel classes");

    std::vector<std::vector<std::string_view>> values(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) values[c] = split(fields[c], ',');
    const int64_t length = static_cast<int64_t>(values[0].size());
    for (int64_t c = 1; c < channels; ++c)
      CFX_CHECK(static_cast<int64_t>(values[c].size()) == length, "read_ts: ", where(), ": channel ", c, " has ",
                values[c].size(), " values, channel 0 has ", length, " (unequal channel lengths are not supported)");
    if (equal_length_ && series_length_ > 0)
      CFX_CHECK(length == series_length_, "read_ts: ", where(), ": expected ", series_length_,
                " values per channel (@seriesLength), got ", length);

    std::vector<float> series(static_cast<size_t>(length * channels));
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t t = 0; t < length; ++t) series[t * channels + c] = parse_value(values[c][t], c, t);
    out_.series.push_back(std::move(series));
    out_.lengths.push_back(length);
    out_.labels.push_back(label);
  }

  std::filesystem::path file_;
  int64_t line_no_ = 0;
  TimeSeriesSet out_;
  bool has_labels_ = false, equal_length_ = false;
  int64_t declared_channels_ = 0, series_length_ = 0;
  std::set<std::string> declared_labels_;
};

}  // namespace

int64_t TimeSeriesSet::max_length() const {
  return lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
}

TimeSeriesSet read_ts(const std::filesystem::path& file) { return TsReader(file).read(); }

std::vector<int64_t> category_codes(const std::vector<std::string>& labels, std::vector<std::string>* classes) {
  std::vector<std::string> sorted(labels);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<int64_t> codes;
  codes.reserve(labels.size());
  for (const std::string& l : labels)
    codes.push_back(std::lower_bound(sorted.begin(), sorted.end(), l) - sorted.begin());
  if (classes) *classes = std::move(sorted);
  return codes;
}

}  // namespace cfx::data
