// PNG decoding through libspng, converted to RGB as Pillow 9.4's PngImagePlugin + convert("RGB")
// do it. PIL's modes per IHDR (PngImagePlugin._MODES) and what convert("RGB") then does:
//   gray 1/2/4/8 bit    "1"/"L"  replicated, low depths scaled to 0..255 (x255, x85, x17)
//   gray 16 bit         "I"      CLIPPED to 0..255 (i2rgb), not shifted: 300 -> 255
//   gray+alpha 8 / 16   "LA" / "RGBA" via "LA;16B"   gray (its high byte) replicated, alpha dropped
//   RGB 8 / 16          "RGB" via "RGB;16B"          16-bit samples: the high byte
//   RGBA 8 / 16         "RGBA"                       alpha dropped, high byte
//   palette 1..8        "P"      looked up in PLTE, tRNS dropped
// tRNS never composites (convert("RGB") drops transparency). libspng's RGB8 output does all
// of these but the 16-bit gray clip, which is done here from the raw big-endian samples.
#include <spng.h>

#include <memory>
#include <string>
#include <vector>

#include "data/image/detail/decoders.h"

namespace cfx::data::detail {

namespace {
struct CtxDeleter {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};
}  // namespace

Image decode_png(std::string_view bytes, const std::filesystem::path& name) {
  const std::string where = name.string();
  std::unique_ptr<spng_ctx, CtxDeleter> ctx(spng_ctx_new(0));
  CFX_CHECK(ctx, "decode_image: ", where, ": cannot create a PNG decoder");
  spng_set_image_limits(ctx.get(), 1u << 20, 1u << 20);
  int err = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size());
  spng_ihdr ihdr{};
  if (!err) err = spng_get_ihdr(ctx.get(), &ihdr);
  CFX_CHECK(err != SPNG_IO_EOF && err != SPNG_EOF, "decode_image: ", where, ": truncated PNG: the file (",
            bytes.size(), " bytes) ends inside its header");
  CFX_CHECK(!err, "decode_image: ", where, ": cannot read the PNG header (libspng: ", spng_strerror(err), ")");
  const int64_t width = ihdr.width, height = ihdr.height;
  CFX_CHECK(width * height <= kMaxImagePixels, "decode_image: ", where, ": PNG of ", width, " x ", height,
            " pixels: expected at most ", kMaxImagePixels, " pixels (PIL's decompression-bomb limit)");

  const bool gray16 = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth == 16;
  const int fmt = gray16 ? SPNG_FMT_RAW : SPNG_FMT_RGB8;
  size_t size = 0;
  err = spng_decoded_image_size(ctx.get(), fmt, &size);
  CFX_CHECK(!err, "decode_image: ", where, ": unsupported PNG (color type ", int(ihdr.color_type), ", bit depth ",
            int(ihdr.bit_depth), "; libspng: ", spng_strerror(err), ")");
  const size_t expected = static_cast<size_t>(width * height) * (gray16 ? 2 : 3);
  CFX_CHECK(size == expected, "decode_image: ", where, ": PNG of ", width, " x ", height, ": expected ", expected,
            " decoded bytes, libspng asks for ", size);
  Image out(height, width, 3);
  std::vector<uint8_t> raw;
  uint8_t* dst = out.pixels.data();
  if (gray16) {
    raw.resize(size);
    dst = raw.data();
  }
  err = spng_decode_image(ctx.get(), dst, size, fmt, /*flags: no tRNS, no gamma=*/0);
  CFX_CHECK(err != SPNG_IO_EOF && err != SPNG_EOF, "decode_image: ", where, ": truncated PNG: the file (",
            bytes.size(), " bytes) ends inside its image data");
  CFX_CHECK(!err, "decode_image: ", where, ": corrupt PNG data (libspng: ", spng_strerror(err), ")");
  if (gray16) {
    for (size_t i = 0, n = static_cast<size_t>(width * height); i < n; ++i) {
      const unsigned v = (unsigned{raw[2 * i]} << 8) | raw[2 * i + 1];
      const auto g = static_cast<uint8_t>(v > 255 ? 255 : v);
      out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = g;
    }
  }
  return out;
}

}  // namespace cfx::data::detail
