// fairseq's Dictionary (see dictionary.h).
#include "data/lm/dictionary.h"

#include <algorithm>
#include <fstream>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "data/detail/io.h"  // defines: require_file, read_file, parse_int, quote

namespace cfx::data::lm {

namespace fs = std::filesystem;

namespace {

const char* const kSpecialWords[Dictionary::kSpecials] = {"<s>", "<pad>", "</s>", "<unk>"};

// Bytes of the whitespace character starting at s[i] (0 if none): Python's str.isspace().
size_t space_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) return 1;
  if (c < 0xc2 || i + 1 >= s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c == 0xc2) return (c1 == 0x85 || c1 == 0xa0) ? 2 : 0;  // U+0085, U+00A0
  if (i + 2 >= s.size()) return 0;
  const auto c2 = static_cast<unsigned char>(s[i + 2]);
  if (c == 0xe1) return (c1 == 0x9a && c2 == 0x80) ? 3 : 0;  // U+1680
  if (c == 0xe2 && c1 == 0x80)                                // U+2000-200A, 2028, 2029, 202F
    return (c2 <= 0x8a || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf) ? 3 : 0;
  if (c == 0xe2 && c1 == 0x81) return c2 == 0x9f ? 3 : 0;     // U+205F
  if (c == 0xe3) return (c1 == 0x80 && c2 == 0x80) ? 3 : 0;   // U+3000
  return 0;
}

}  // namespace

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0, start = 0;
  bool in_word = false;
  while (i < line.size()) {
    const size_t space = space_at(line, i);
    if (space > 0) {
      if (in_word) words.push_back(line.substr(start, i - start));
      in_word = false;
      i += space;
    } else {
      if (!in_word) start = i, in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(line.substr(start));
  return words;
}

void for_each_line(std::string_view text, const std::function<void(std::string_view)>& line) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    line(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) line(text.substr(start));
}

Dictionary::Dictionary() {
  for (const char* w : kSpecialWords) add(w);
}

int32_t Dictionary::index(std::string_view w) const {
  const auto it = ids_.find(w);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Dictionary::word(int32_t id) const {
  CFX_CHECK(id >= 0 && id < size(), "Dictionary: id ", id, " is outside the dictionary of ", size(), " entries");
  return words_[static_cast<size_t>(id)];
}

int64_t Dictionary::count(int32_t id) const {
  word(id);  // checks the id
  return counts_[static_cast<size_t>(id)];
}

int32_t Dictionary::add(std::string_view w, int64_t n) {
  const auto it = ids_.find(w);
  if (it != ids_.end()) {
    counts_[static_cast<size_t>(it->second)] += n;
    return it->second;
  }
  CFX_CHECK(size() < INT32_MAX, "Dictionary: more than 2^31 - 1 words");
  const auto id = static_cast<int32_t>(size());
  words_.emplace_back(w);
  counts_.push_back(n);
  ids_.emplace(std::string(w), id);
  return id;
}

void Dictionary::finalize(int64_t threshold, int64_t nwords, int64_t padding_factor) {
  if (nwords <= 0) nwords = size();
  // The words by count, most frequent first; equal counts in code-point order (= byte order of UTF-8).
  std::vector<int32_t> order(static_cast<size_t>(size() - kSpecials));
  std::iota(order.begin(), order.end(), kSpecials);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return words_[a] < words_[b]; });
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return counts_[a] > counts_[b]; });

  Dictionary sorted;
  for (int32_t s = 0; s < kSpecials; ++s) sorted.counts_[static_cast<size_t>(s)] = counts_[static_cast<size_t>(s)];
  for (int32_t id : order) {
    if (sorted.size() >= nwords || counts_[id] < threshold) break;
    sorted.add(words_[id], counts_[id]);
  }
  for (int64_t i = 0; padding_factor > 1 && sorted.size() % padding_factor != 0; ++i)
    sorted.add(fmt::format("madeupword{:04d}", i), 0);
  *this = std::move(sorted);
}

void Dictionary::save(const fs::path& file) const {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    CFX_CHECK(out.good(), "Dictionary::save: cannot write ", tmp.string());
    for (int64_t id = kSpecials; id < size(); ++id) out << words_[id] << ' ' << counts_[id] << '\n';
    out.flush();
    CFX_CHECK(out.good(), "Dictionary::save: writing ", tmp.string(), " failed (disk full?)");
  }
  fs::rename(tmp, file);
}

Dictionary Dictionary::load(const fs::path& file) {
  detail::require_file("Dictionary::load", file, "a fairseq dict.txt: one \"<word> <count>\" per line");
  Dictionary d;
  detail::LineReader reader("Dictionary::load", file);
  std::string raw;
  while (reader.next(raw)) {
    std::string_view line(raw);
    while (!line.empty() && space_at(line, line.size() - 1) == 1) line.remove_suffix(1);  // rstrip (ASCII)
    auto last_field = [&](std::string_view& rest) {
      const size_t space = rest.rfind(' ');
      CFX_CHECK(space != std::string_view::npos, "Dictionary::load: ", file.string(), ":", reader.line(),
                ": expected '<word> <count> [#fairseq:overwrite]', got ", detail::quote(raw));
      const std::string_view field = rest.substr(space + 1);
      rest = rest.substr(0, space);
      return field;
    };
    std::string_view field = last_field(line);
    const bool overwrite = field == "#fairseq:overwrite";
    if (overwrite) field = last_field(line);
    const std::optional<int64_t> count = detail::parse_int(field);
    CFX_CHECK(count.has_value(), "Dictionary::load: ", file.string(), ":", reader.line(), ": the count ",
              detail::quote(field), " is not an integer");
    CFX_CHECK(overwrite || !d.contains(line), "Dictionary::load: ", file.string(), ":", reader.line(),
              ": duplicate word ", detail::quote(line), " (fairseq allows it only with #fairseq:overwrite)");
    if (overwrite && d.contains(line)) {
      d.counts_[static_cast<size_t>(d.index(line))] = *count;
    } else {
      d.add(line, *count);
    }
  }
  return d;
}

std::vector<int32_t> Dictionary::encode_line(std::string_view line, int64_t* unknown) const {
  std::vector<int32_t> ids;
  for (std::string_view w : split_words(line)) {
    const int32_t id = index(w);
    if (unknown && id == kUnk && w != kSpecialWords[kUnk]) ++*unknown;
    ids.push_back(id);
  }
  ids.push_back(kEos);
  return ids;
}

std::string Dictionary::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) {
    if (id == kPad) continue;
    if (id == kEos) {
      text += '\n';
      continue;
    }
    if (!text.empty() && text.back() != '\n') text += ' ';
    text += word(id);
  }
  return text;
}

Dictionary build_dictionary(const std::vector<fs::path>& files, const Progress& progress) {
  CFX_CHECK(!files.empty(), "build_dictionary: no files");
  int64_t total = 0, done = 0;
  for (const fs::path& f : files) {
    detail::require_file("build_dictionary", f);
    total += static_cast<int64_t>(fs::file_size(f));
  }
  Dictionary d;
  for (const fs::path& f : files) {
    const std::string text = detail::read_file("build_dictionary", f);
    CFX_CHECK(!text.empty(), "build_dictionary: ", f.string(), " is empty");
    const char* base = text.data();
    int64_t last_report = 0;
    for_each_line(text, [&](std::string_view line) {
      for (std::string_view w : split_words(line)) d.add(w);
      d.add(kSpecialWords[Dictionary::kEos]);
      const int64_t at = line.data() - base;
      if (progress && at - last_report > (int64_t{1} << 22)) progress(done + at, total), last_report = at;
    });
    done += static_cast<int64_t>(text.size());
    if (progress) progress(done, total);
  }
  d.finalize();
  return d;
}

}  // namespace cfx::data::lm
