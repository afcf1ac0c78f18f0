// An 8-bit image as PIL holds one after .convert("RGB") or in mode "L": rows top to bottom,
// pixels left to right, channels interleaved (HWC). The input pipeline of the ImageNet app
// (decode -> crop/resize -> RandAugment -> tensor) passes these between its stages; only the
// last stage makes a float tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.h"

namespace cfx::data {

struct Image {
  int64_t height = 0, width = 0;
  int64_t channels = 0;         // 3 (RGB) or 1 (L)
  std::vector<uint8_t> pixels;  // height * width * channels

  Image() = default;
  Image(int64_t h, int64_t w, int64_t c, uint8_t fill = 0)
      : height(h), width(w), channels(c), pixels(static_cast<size_t>(h * w * c), fill) {
    CFX_CHECK(h >= 0 && w >= 0 && (c == 1 || c == 3), "Image: expected height, width >= 0 and 1 or 3 channels, got ",
              h, " x ", w, " x ", c);
  }
  bool empty() const { return pixels.empty(); }
  uint8_t* row(int64_t y) { return pixels.data() + y * width * channels; }
  const uint8_t* row(int64_t y) const { return pixels.data() + y * width * channels; }
  uint8_t& at(int64_t y, int64_t x, int64_t c) { return pixels[static_cast<size_t>((y * width + x) * channels + c)]; }
  uint8_t at(int64_t y, int64_t x, int64_t c) const {
    return pixels[static_cast<size_t>((y * width + x) * channels + c)];
  }
};

}  // namespace cfx::data
