// Decoding image files the way the PyTorch ImageNet pipeline does: torchvision's ImageFolder
// calls PIL's Image.open(f).convert("RGB"), so the result here is that image, pixel for pixel
// (tests/data/test_image_decode.cpp compares with Pillow 9.4):
//   JPEG  libjpeg-turbo through TurboJPEG, with PIL's settings (accurate integer DCT, fancy
//         upsampling); grayscale replicated to RGB; 4-channel (CMYK, YCCK) JPEGs read as
//         Adobe-inverted CMYK and converted by PIL's cmyk2rgb
//   PNG   libspng, chosen by the file's signature whatever its name (one ImageNet "JPEG" is a
//         PNG); alpha and tRNS dropped, palettes expanded, 16-bit samples as PIL converts them
// Other formats (BMP, GIF, TIFF, WebP, PPM) are recognised only to say so in the error.
#pragma once

#include <filesystem>
#include <string_view>

#include "data/image/image.h"

namespace cfx::data {

enum class ImageFormat { kUnknown, kJpeg, kPng, kBmp, kGif, kTiff, kWebp, kPnm };

// The format named by the first bytes of a file (its "magic"); kUnknown when none matches.
ImageFormat sniff_image_format(std::string_view bytes);
const char* image_format_name(ImageFormat format);

// The RGB image (channels == 3) in `bytes`. Throws cfx::Error naming `name_for_errors` and
// what is wrong: an empty or truncated file, not an image, an unsupported format, corrupt data.
// Thread-safe.
Image decode_image(std::string_view bytes, const std::filesystem::path& name_for_errors);

// decode_image of the whole file at `path` (a missing or unreadable file is an error too).
Image read_image(const std::filesystem::path& path);

}  // namespace cfx::data
