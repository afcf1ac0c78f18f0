// LRA ListOps reader: basic_{train,val,test}.tsv -> ids (see lra.h).
#include <algorithm>
#include <string>

#include "data/detail/io.h"  // defines: LineReader, split, parse_int, quote
#include "data/lra/lra.h"

namespace cfx::data {

namespace {
constexpr const char* kWho = "load_listops_tsv";
constexpr const char* kHint =
    "LRA ListOps lives in lra_release/listops-1000/ (google-research/long-range-arena); "
    "or make a synthetic copy with cfx::data::generate_listops (data/lra/generate.h)";
}  // namespace

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
  }
  return "?";
}

std::shared_ptr<PackedDataset> load_listops_tsv(const std::filesystem::path& file, int64_t max_len) {
  CFX_CHECK(max_len >= 1, kWho, ": max_len must be >= 1, got ", max_len);
  detail::require_file(kWho, file, kHint);
  detail::LineReader reader(kWho, file);
  const std::string where = file.string();

  std::string line;
  CFX_CHECK(reader.next(line), kWho, ": ", where, ":1: empty file (expected a header naming Source and Target)");
  const auto header = detail::split(line, '\t');
  auto column = [&](std::string_view name) {
    const auto it = std::find(header.begin(), header.end(), name);
    CFX_CHECK(it != header.end(), kWho, ": ", where, ":1: header has no '", name, "' column (got ",
              detail::quote(line), ")");
    return static_cast<size_t>(it - header.begin());
  };
  const size_t src_col = column("Source"), tgt_col = column("Target");

  auto ds = std::make_shared<PackedDataset>(/*id_offset=*/0);
  std::vector<uint8_t> ids;
  while (reader.next(line)) {
    if (line.empty()) continue;
    const int64_t ln = reader.line();
    const auto fields = detail::split(line, '\t');
    CFX_CHECK(fields.size() == header.size(), kWho, ": ", where, ":", ln, ": expected ", header.size(),
              " tab-separated fields (as the header), got ", fields.size());
    const auto target = detail::parse_int(fields[tgt_col]);
    CFX_CHECK(target.has_value(), kWho, ": ", where, ":", ln, ": Target ", detail::quote(fields[tgt_col]),
              " is not an integer");
    CFX_CHECK(*target >= 0 && *target <= 9, kWho, ": ", where, ":", ln, ": Target ", *target,
              " is outside 0..9");
    const std::vector<int32_t> tokens = listops_tokenize(fields[src_col]);
    CFX_CHECK(!tokens.empty(), kWho, ": ", where, ":", ln, ": Source is empty");
    const size_t n = std::min(tokens.size(), static_cast<size_t>(max_len));
    ids.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n));
    ds->add(ids, *target);
  }
  return ds;
}

std::shared_ptr<PackedDataset> lra_listops(const std::filesystem::path& dir, Split split, int64_t max_len) {
  return load_listops_tsv(dir / (std::string("basic_") + split_name(split) + ".tsv"), max_len);
}

}  // namespace cfx::data
