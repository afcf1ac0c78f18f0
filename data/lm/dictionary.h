// fairseq's Dictionary for word-level language modelling (WikiText-103, BENCHMARKS.md §2.1),
// rule for rule as fairseq-preprocess --only-source builds it, so that dict.txt files and
// token ids move between fairseq and Conflux unchanged:
//
//   - ids 0..3 are the specials <s>, <pad>, </s>, <unk>; the words follow;
//   - a line's words are its whitespace-separated fields (fairseq tokenize_line: Python's
//     \s+, which includes Unicode spaces), and every line, blank ones too, ends with </s>;
//   - finalize(): words by count, most frequent first, ties in code-point order (fairseq sorts
//     by symbol, then Counter.most_common keeps that order among equal counts); then
//     "madeupword0000", ... (count 0) until the size is a multiple of 8;
//   - dict.txt holds "<word> <count>" per line for every non-special entry, in id order; a
//     literal "<unk>" in the text counts toward the special, as fairseq's add_symbol does.
//
// Not here: the binarised token files (data/lm/token_file.h), blocks (data/lm/blocks.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cfx::data::lm {

// Progress of a long pass over files: bytes done of bytes in all. May be empty.
using Progress = std::function<void(int64_t done, int64_t total)>;

class Dictionary {
 public:
  static constexpr int32_t kBos = 0, kPad = 1, kEos = 2, kUnk = 3, kSpecials = 4;

  Dictionary();  // the four specials, count 1 each (fairseq's initial counts)

  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  // The id of `word`, or kUnk when it is not in the dictionary.
  int32_t index(std::string_view word) const;
  bool contains(std::string_view word) const { return ids_.count(word) > 0; }
  const std::string& word(int32_t id) const;  // throws for an id outside [0, size)
  int64_t count(int32_t id) const;
  // Adds `n` to word's count (a new word gets the next id); returns its id.
  int32_t add(std::string_view word, int64_t n = 1);

  // Re-orders the words by count (ties in code-point order), keeps those with count >=
  // threshold (-1: all) up to nwords entries in all (-1: no limit), then pads the size to a
  // multiple of padding_factor with "madeupword%04d" entries of count 0.
  void finalize(int64_t threshold = -1, int64_t nwords = -1, int64_t padding_factor = 8);

  // dict.txt: "<word> <count>" for ids kSpecials.. in order (written to a .tmp and renamed).
  void save(const std::filesystem::path& file) const;
  // Reads a dict.txt (fairseq's format; "#fairseq:overwrite" flags allowed). Errors name
  // file:line: a line without a count, a bad count, a duplicate word.
  static Dictionary load(const std::filesystem::path& file);

  // A line's ids: its words (kUnk for unknown ones, counted in *unknown), then kEos.
  std::vector<int32_t> encode_line(std::string_view line, int64_t* unknown = nullptr) const;
  // Words joined by spaces; kEos becomes a newline, kPad is skipped.
  std::string decode(std::span<const int32_t> ids) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> words_;
  std::vector<int64_t> counts_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
};

// The whitespace-separated fields of a UTF-8 line, as Python's re.sub(r"\s+", " ", line)
// .strip().split() finds them: ASCII whitespace, \x1c-\x1f, U+0085, U+00A0, U+1680,
// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000 separate words.
std::vector<std::string_view> split_words(std::string_view line);

// Calls `line` for every line of a text, split as Python's universal newlines do (\n, \r\n
// and a lone \r end a line; a last line without an end counts).
void for_each_line(std::string_view text, const std::function<void(std::string_view)>& line);

// The dictionary of the given files (fairseq-preprocess --only-source on --trainpref),
// finalised with the defaults. Throws naming a missing or empty file.
Dictionary build_dictionary(const std::vector<std::filesystem::path>& files, const Progress& progress = {});

}  // namespace cfx::data::lm
