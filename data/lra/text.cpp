// LRA byte-level readers: Text (IMDB review files) and Retrieval (AAN pair TSVs); see lra.h.
#include <algorithm>
#include <string>
#include <utility>

#include "data/detail/io.h"  // defines: LineReader, read_file, split, parse_int, parse_double
#include "data/lra/lra.h"

namespace cfx::data {

namespace fs = std::filesystem;

namespace {

// Python's bytes.strip(): drops ASCII whitespace at both ends (TFDS imdb_reviews does this).
std::string_view strip(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\x0b\x0c";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::span<const uint8_t> prefix_bytes(std::string_view s, int64_t max_len) {
  const size_t n = std::min(s.size(), static_cast<size_t>(max_len));
  return {reinterpret_cast<const uint8_t*>(s.data()), n};
}

}  // namespace

// ---- Text (IMDB) -------------------------------------------------------------------------------

std::shared_ptr<PackedDataset> lra_text(const fs::path& aclimdb_dir, Split split, int64_t max_len) {
  constexpr const char* kWho = "lra_text";
  CFX_CHECK(max_len >= 1, kWho, ": max_len must be >= 1, got ", max_len);
  const fs::path split_dir = aclimdb_dir / (split == Split::kTrain ? "train" : "test");
  auto ds = std::make_shared<PackedDataset>(/*id_offset=*/1);
  const std::pair<const char*, int64_t> labels[] = {{"neg", 0}, {"pos", 1}};
  for (const auto& [sub, label] : labels) {
    const fs::path dir = split_dir / sub;
    detail::require_dir(kWho, dir,
                        "expected the aclImdb layout <root>/{train,test}/{pos,neg}/<id>_<rating>.txt "
                        "(ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz)");
    std::vector<std::pair<int64_t, fs::path>> files;  // (id, path)
    for (const auto& entry : fs::directory_iterator(dir)) {
      const fs::path& p = entry.path();
      if (p.extension() != ".txt") continue;
      const std::string stem = p.stem().string();
      const auto parts = detail::split(stem, '_');
      const auto id = parts.size() == 2 ? detail::parse_int(parts[0]) : std::nullopt;
      const auto rating = parts.size() == 2 ? detail::parse_int(parts[1]) : std::nullopt;
      CFX_CHECK(id && rating, kWho, ": ", p.string(), ": file name is not <id>_<rating>.txt");
      files.emplace_back(*id, p);
    }
    std::sort(files.begin(), files.end());
    for (const auto& [id, path] : files) {
      const std::string text = detail::read_file(kWho, path);
      ds->add(prefix_bytes(strip(text), max_len), label);
    }
  }
  return ds;
}

// ---- Retrieval (AAN) ----------------------------------------------------------------------------

std::shared_ptr<PackedDataset> load_aan_tsv(const fs::path& file, int64_t max_len) {
  constexpr const char* kWho = "load_aan_tsv";
  CFX_CHECK(max_len >= 1, kWho, ": max_len must be >= 1, got ", max_len);
  detail::require_file(kWho, file,
                       "LRA Retrieval lives in lra_release/tsv_data/new_aan_pairs.{train,eval,test}.tsv "
                       "(google-research/long-range-arena)");
  detail::LineReader reader(kWho, file);
  const std::string where = file.string();
  auto ds = std::make_shared<PackedDataset>(/*id_offset=*/1, /*paired=*/true);
  std::string line;
  while (reader.next(line)) {
    if (line.empty()) continue;
    const int64_t ln = reader.line();
    const auto fields = detail::split(line, '\t');
    CFX_CHECK(fields.size() == 5, kWho, ": ", where, ":", ln,
              ": expected 5 tab-separated fields (label id1 id2 text1 text2), got ", fields.size());
    const auto label = detail::parse_double(fields[0]);
    CFX_CHECK(label.has_value(), kWho, ": ", where, ":", ln, ": label ", detail::quote(fields[0]),
              " is not a number");
    CFX_CHECK(*label == 0.0 || *label == 1.0, kWho, ": ", where, ":", ln, ": label ", *label,
              " is not 0 or 1");
    ds->add_pair(prefix_bytes(fields[3], max_len), prefix_bytes(fields[4], max_len), static_cast<int64_t>(*label));
  }
  return ds;
}

std::shared_ptr<PackedDataset> lra_retrieval(const fs::path& dir, Split split, int64_t max_len) {
  const char* name = split == Split::kTrain ? "train" : split == Split::kVal ? "eval" : "test";
  return load_aan_tsv(dir / (std::string("new_aan_pairs.") + name + ".tsv"), max_len);
}

}  // namespace cfx::data
