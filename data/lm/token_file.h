// Binarised token streams: a text split encoded once with a Dictionary (fairseq-preprocess's
// job) into a compact file that training and evaluation map into memory, so no run
// re-tokenises 539 MB of WikiText-103.
//
// Layout (little-endian), 32 bytes of header then the ids:
//   0  "CFXTOKEN"            magic
//   8  u32 version = 1
//   12 u32 bytes per id      2 when the dictionary has <= 65536 entries, else 4
//   16 u64 tokens            every line's words then </s>, lines in file order
//   24 u64 dictionary size   ids are < this; checked against the Dictionary on open
//   32 ids
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "data/lm/dictionary.h"

namespace cfx::data::lm {

struct BinarizeStats {
  int64_t lines = 0, tokens = 0;  // tokens include one </s> per line
  int64_t unknown = 0;            // words not in the dictionary, written as <unk>
};

// Encodes every line of `text` with `dict` into `out` (written to out.tmp, then renamed).
// Throws naming a missing or empty text file.
BinarizeStats binarize(const std::filesystem::path& text, const Dictionary& dict, const std::filesystem::path& out,
                       const Progress& progress = {});

// A token file mapped read-only into memory. Opening checks the header, the file size and,
// when dictionary_size > 0, that the file was written with a dictionary of that size and that
// every id is below it (an error names the file and the first bad position).
class TokenFile {
 public:
  explicit TokenFile(const std::filesystem::path& file, int64_t dictionary_size = 0);
  ~TokenFile();
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  int64_t size() const { return tokens_; }
  int64_t dictionary_size() const { return dictionary_size_; }
  int32_t operator[](int64_t i) const;  // unchecked position
  // ids [begin, begin + n) into out (bounds checked).
  void copy(int64_t begin, int64_t n, int64_t* out) const;
  std::vector<int32_t> slice(int64_t begin, int64_t end) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  void read_header(int64_t dictionary_size);  // checks and reads the mapped file
  std::filesystem::path path_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const unsigned char* ids_ = nullptr;
  int64_t tokens_ = 0, dictionary_size_ = 0;
  int bytes_per_id_ = 0;
};

}  // namespace cfx::data::lm
