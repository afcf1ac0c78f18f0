// Writing images: JPEG through libturbojpeg (4:2:0 chroma, as PIL's default), for the
// synthetic ImageFolder of `conflux-imagenet generate` and for tests.
#pragma once

#include <filesystem>
#include <string>

#include "data/image/image.h"

namespace cfx::data {

// The JPEG bytes of an RGB or grayscale image at `quality` (1..100).
std::string encode_jpeg(const Image& image, int quality = 90);
// encode_jpeg to `path`, through a temporary file renamed into place.
void write_jpeg(const std::filesystem::path& path, const Image& image, int quality = 90);

}  // namespace cfx::data
