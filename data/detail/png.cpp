// libspng wrappers (see png.h).
#include "data/detail/png.h"

#include <spng.h>

#include <cstdlib>
#include <fstream>
#include <memory>

#include "core/error.h"

namespace cfx::data::detail {

namespace {
struct CtxDeleter {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};
using Ctx = std::unique_ptr<spng_ctx, CtxDeleter>;
}  // namespace

std::vector<uint8_t> decode_gray_png(const char* who, const std::filesystem::path& path, std::string_view bytes,
                                     int64_t width, int64_t height) {
  const std::string where = path.string();
  Ctx ctx(spng_ctx_new(0));
  CFX_CHECK(ctx, who, ": ", where, ": cannot create a PNG decoder");
  spng_set_image_limits(ctx.get(), 1 << 16, 1 << 16);
  int err = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size());
  spng_ihdr ihdr{};
  if (!err) err = spng_get_ihdr(ctx.get(), &ihdr);
  CFX_CHECK(!err, who, ": ", where, ": not a valid PNG (", spng_strerror(err), ")");
  CFX_CHECK(ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth == 8, who, ": ", where,
            ": expected an 8-bit grayscale PNG, got color type ", int(ihdr.color_type), " bit depth ",
            int(ihdr.bit_depth));
  CFX_CHECK(ihdr.width == width && ihdr.height == height, who, ": ", where, ": expected ", width, "x", height,
            " pixels, got ", ihdr.width, "x", ihdr.height);
  size_t size = 0;
  err = spng_decoded_image_size(ctx.get(), SPNG_FMT_G8, &size);
  CFX_CHECK(!err && size == static_cast<size_t>(width * height), who, ": ", where, ": cannot size the image (",
            spng_strerror(err), ")");
  std::vector<uint8_t> pixels(size);
  err = spng_decode_image(ctx.get(), pixels.data(), size, SPNG_FMT_G8, 0);
  CFX_CHECK(!err, who, ": ", where, ": corrupt PNG data (", spng_strerror(err), ")");
  return pixels;
}

void write_gray_png(const std::filesystem::path& path, const uint8_t* pixels, int64_t width, int64_t height) {
  constexpr const char* kWho = "write_gray_png";
  Ctx ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  CFX_CHECK(ctx, kWho, ": cannot create a PNG encoder");
  spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(width);
  ihdr.height = static_cast<uint32_t>(height);
  ihdr.bit_depth = 8;
  ihdr.color_type = SPNG_COLOR_TYPE_GRAYSCALE;
  int err = spng_set_ihdr(ctx.get(), &ihdr);
  if (!err) err = spng_encode_image(ctx.get(), pixels, static_cast<size_t>(width * height), SPNG_FMT_PNG,
                                    SPNG_ENCODE_FINALIZE);
  CFX_CHECK(!err, kWho, ": ", path.string(), ": encoding failed (", spng_strerror(err), ")");
  size_t len = 0;
  std::unique_ptr<void, decltype(&std::free)> png(spng_get_png_buffer(ctx.get(), &len, &err), &std::free);
  CFX_CHECK(png && !err, kWho, ": ", path.string(), ": encoding failed (", spng_strerror(err), ")");
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(png.get()), static_cast<std::streamsize>(len));
  CFX_CHECK(out.good(), kWho, ": cannot write ", path.string());
}

}  // namespace cfx::data::detail
