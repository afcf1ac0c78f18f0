// Helpers for the image tests: the PIL reference files of tests/data/reference/image/ (written
// by make_image_reference.py), pixel differences, and the FNV-1a hash the script uses.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "data/image/image.h"
#include "data_helpers.h"

namespace cfx::testing {

inline std::filesystem::path image_reference_dir() {
  return std::filesystem::path(CONFLUX_SOURCE_DIR) / "tests/data/reference/image";
}

// One record of a reference .bin: a header line of space-separated fields, then bytes.
struct ImageRecord {
  std::vector<std::string> fields;
  std::string bytes;
};

// Reads every record of `file`; `payload(fields)` says how many bytes follow each header.
template <class PayloadSize>
std::vector<ImageRecord> read_image_records(const std::filesystem::path& file, PayloadSize payload) {
  const std::string all = read_bytes(file);
  REQUIRE_MESSAGE(!all.empty(), "missing or empty reference file ", file.string(),
                  " (tests/data/reference/make_image_reference.py writes it)");
  std::vector<ImageRecord> out;
  size_t pos = 0;
  while (pos < all.size()) {
    const size_t nl = all.find('\n', pos);
    REQUIRE(nl != std::string::npos);
    ImageRecord r;
    std::istringstream header(all.substr(pos, nl - pos));
    for (std::string f; header >> f;) r.fields.push_back(f);
    const size_t n = payload(r.fields);
    REQUIRE_MESSAGE(nl + 1 + n <= all.size(), file.string(), ": record '", r.fields.at(0), "' is cut short");
    r.bytes = all.substr(nl + 1, n);
    pos = nl + 1 + n;
    out.push_back(std::move(r));
  }
  return out;
}

inline data::Image image_from_bytes(const std::string& bytes, int64_t h, int64_t w, int64_t c) {
  data::Image img(h, w, c);
  REQUIRE(bytes.size() == img.pixels.size());
  std::copy(bytes.begin(), bytes.end(), img.pixels.begin());
  return img;
}

// max |a - b| over the pixels, or 256 when the shapes differ.
inline int max_pixel_diff(const data::Image& a, const data::Image& b) {
  if (a.height != b.height || a.width != b.width || a.channels != b.channels) return 256;
  int m = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return m;
}

inline uint64_t fnv1a64(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

// The 48 x 40 RGB sample every resize record starts from, and its red plane as an L image.
inline data::Image reference_sample(int64_t channels) {
  const data::Image rgb = image_from_bytes(read_bytes(image_reference_dir() / "sample_48x40.rgb"), 40, 48, 3);
  if (channels == 3) return rgb;
  data::Image gray(40, 48, 1);
  for (size_t i = 0; i < gray.pixels.size(); ++i) gray.pixels[i] = rgb.pixels[3 * i];
  return gray;
}

}  // namespace cfx::testing
