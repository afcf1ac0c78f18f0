// lra_pathfinder (data/lra/image.cpp): a Pathfinder tree, metadata/0.npy + imgs/0/*.png.
// Input: the metadata text, then optionally a NUL byte and the bytes of imgs/0/sample_0.png
// (without one, a valid 32x32 image is there), so the fuzzer drives both the line parser and
// the images it names. Field 0/1 of a line may name any path; only files under the tree exist.
#include <fstream>

#include "data/detail/png.h"
#include "data/lra/lra.h"
#include "fuzz_input.h"

namespace fs = std::filesystem;

CFX_FUZZ_TARGET(data, size) {
  const fs::path& root = cfx::fuzz::temp_dir();
  static const bool made = [&] {
    fs::create_directories(root / "metadata");
    fs::create_directories(root / "imgs" / "0");
    return true;
  }();
  (void)made;
  const std::string_view input = cfx::fuzz::as_chars(data, size);
  const size_t nul = input.find('\0');
  const std::string_view meta = input.substr(0, nul);
  {
    std::ofstream out(root / "metadata" / "0.npy", std::ios::binary | std::ios::trunc);
    out.write(meta.data(), static_cast<std::streamsize>(meta.size()));
  }
  const fs::path png = root / "imgs" / "0" / "sample_0.png";
  if (nul == std::string_view::npos) {
    static const uint8_t pixels[32 * 32] = {};
    cfx::data::detail::write_gray_png(png, pixels, 32, 32);
  } else {
    const std::string_view bytes = input.substr(nul + 1);
    std::ofstream out(png, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  for (const auto split : {cfx::data::Split::kTrain, cfx::data::Split::kVal, cfx::data::Split::kTest}) {
    const auto ds = cfx::data::lra_pathfinder(root, split);
    for (int64_t i = 0; i < ds->size(); ++i) ds->get(i);
  }
}
