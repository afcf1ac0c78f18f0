// decode_image: the format from the file's signature, then its decoder (data/image/decode.h).
#include "data/image/decode.h"

#include <cstdio>
#include <string>

#include "data/detail/io.h"  // defines: read_file
#include "data/image/detail/decoders.h"

namespace cfx::data {

namespace {

bool starts_with(std::string_view bytes, std::string_view magic) { return bytes.substr(0, magic.size()) == magic; }

// The first bytes in hex, for "not an image" errors.
std::string hex_prefix(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", static_cast<unsigned char>(bytes[i]));
    out += buf;
  }
  return out;
}

}  // namespace

ImageFormat sniff_image_format(std::string_view b) {
  using namespace std::string_view_literals;
  if (starts_with(b, "\xff\xd8\xff"sv)) return ImageFormat::kJpeg;
  if (starts_with(b, "\x89PNG\r\n\x1a\n"sv)) return ImageFormat::kPng;
  if (starts_with(b, "BM"sv)) return ImageFormat::kBmp;
  if (starts_with(b, "GIF87a"sv) || starts_with(b, "GIF89a"sv)) return ImageFormat::kGif;
  if (starts_with(b, "II*\0"sv) || starts_with(b, "MM\0*"sv)) return ImageFormat::kTiff;
  // (size first: substr(8) of a shorter file throws std::out_of_range; found by fuzz/image_decode)
  if (b.size() >= 12 && starts_with(b, "RIFF"sv) && b.substr(8, 4) == "WEBP"sv) return ImageFormat::kWebp;
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return ImageFormat::kPnm;
  return ImageFormat::kUnknown;
}

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "JPEG";
    case ImageFormat::kPng: return "PNG";
    case ImageFormat::kBmp: return "BMP";
    case ImageFormat::kGif: return "GIF";
    case ImageFormat::kTiff: return "TIFF";
    case ImageFormat::kWebp: return "WebP";
    case ImageFormat::kPnm: return "PPM/PGM";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

Image decode_image(std::string_view bytes, const std::filesystem::path& name_for_errors) {
  const std::string where = name_for_errors.string();
  CFX_CHECK(!bytes.empty(), "decode_image: ", where, ": empty file (0 bytes)");
  // By content, not by name: ImageNet's train set has a PNG and CMYK files named .JPEG.
  const ImageFormat format = sniff_image_format(bytes);
  switch (format) {
    case ImageFormat::kJpeg: return detail::decode_jpeg(bytes, name_for_errors);
    case ImageFormat::kPng: return detail::decode_png(bytes, name_for_errors);
    case ImageFormat::kUnknown:
      CFX_FAIL("decode_image: ", where, ": not an image: expected a JPEG (ff d8 ff) or PNG (89 50 4e 47) signature, "
               "got ", hex_prefix(bytes), " (", bytes.size(), " bytes)");
    default:
      CFX_FAIL("decode_image: ", where, ": unsupported image format ", image_format_name(format),
               " (only JPEG and PNG are decoded)");
  }
}

Image read_image(const std::filesystem::path& path) {
  return decode_image(detail::read_file("read_image", path), path);
}

}  // namespace cfx::data
