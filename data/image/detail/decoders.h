// The per-format decoders behind decode_image (data/image/decode.h): each returns the RGB
// image PIL's Image.open(f).convert("RGB") gives, or throws "decode_image: <name>: <what>".
#pragma once

#include <filesystem>
#include <string_view>

#include "data/image/image.h"

namespace cfx::data::detail {

// PIL's decompression-bomb limit (Image.MAX_IMAGE_PIXELS * 2): larger images are refused.
inline constexpr int64_t kMaxImagePixels = 2 * 89478485;

Image decode_jpeg(std::string_view bytes, const std::filesystem::path& name);
Image decode_png(std::string_view bytes, const std::filesystem::path& name);

}  // namespace cfx::data::detail
