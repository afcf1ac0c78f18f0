// 8-bit grayscale PNG decode/encode through libspng, kept out of public headers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace cfx::data::detail {

// Decodes `bytes` (the content of `path`, named in errors) as an 8-bit grayscale PNG of exactly
// width x height; returns the row-major pixels. Throws "<who>: <path>: <what>" otherwise.
std::vector<uint8_t> decode_gray_png(const char* who, const std::filesystem::path& path, std::string_view bytes,
                                     int64_t width, int64_t height);

// Writes pixels [height, width] row-major as an 8-bit grayscale PNG.
void write_gray_png(const std::filesystem::path& path, const uint8_t* pixels, int64_t width, int64_t height);

}  // namespace cfx::data::detail
