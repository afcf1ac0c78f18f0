// JPEG decoding through TurboJPEG, set up as Pillow 9.4 sets up libjpeg (same library, so the
// pixels are PIL's exactly): accurate integer DCT and fancy upsampling (TurboJPEG's defaults
// with flags 0), RGB output (grayscale replicated, which is what L -> convert("RGB") does).
#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "data/image/detail/decoders.h"

namespace cfx::data::detail {

namespace {

struct TjDeleter {
  void operator()(void* h) const {
    if (h) tjDestroy(h);
  }
};

// One decompressor per thread: decoders run on the loader's workers, and a handle is not
// thread-safe (TurboJPEG's error string is per handle or thread-local).
tjhandle decompressor() {
  thread_local std::unique_ptr<void, TjDeleter> handle(tjInitDecompress());
  CFX_CHECK(handle, "decode_image: tjInitDecompress failed: ", tjGetErrorStr2(nullptr));
  return handle.get();
}

// Where the datastream runs out before its end-of-image marker, or npos when it reaches one.
// PIL feeds libjpeg from the file and raises "image file is truncated" when libjpeg wants
// more bytes than there are; libjpeg-turbo's memory source instead warns and pads the image
// with grey, a warning TurboJPEG reports only if it is the first. So look for ourselves: walk
// the marker segments by their lengths and the entropy-coded data of each scan (where 0xff 00
// is a stuffed byte and 0xff d0..d7 a restart marker) until EOI (0xff d9).
size_t truncated_at(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 2;  // after SOI
  bool in_scan = false;
  while (true) {
    if (in_scan) {
      while (true) {
        const void* ff = i < n ? std::memchr(p + i, 0xff, n - i) : nullptr;
        if (!ff) return n;
        i = static_cast<size_t>(static_cast<const unsigned char*>(ff) - p);
        size_t j = i + 1;
        while (j < n && p[j] == 0xff) ++j;
        if (j >= n) return n;
        if (p[j] == 0x00 || (p[j] >= 0xd0 && p[j] <= 0xd7)) {
          i = j + 1;
          continue;
        }
        break;  // a marker starts at i
      }
      in_scan = false;
    }
    while (i < n && p[i] != 0xff) ++i;  // junk before a marker: libjpeg skips it with a warning
    while (i < n && p[i] == 0xff) ++i;  // fill bytes
    if (i >= n) return n;
    const unsigned char marker = p[i++];
    if (marker == 0xd9) return std::string_view::npos;                                   // EOI
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;  // no length
    if (i + 2 > n) return n;
    const size_t length = (size_t{p[i]} << 8) | p[i + 1];
    if (length < 2) return std::string_view::npos;  // corrupt, not short: libjpeg says so below
    if (i + length > n) return n;
    i += length;
    in_scan = marker == 0xda;  // SOS: entropy-coded data follows its header
  }
}

// Pillow's MULDIV255 and CLIP8 (libImaging/ImagingUtils.h).
inline int muldiv255(int a, int b) {
  const int tmp = a * b + 128;
  return ((tmp >> 8) + tmp) >> 8;
}
inline uint8_t clip8(int v) { return static_cast<uint8_t>(v <= 0 ? 0 : v < 256 ? v : 255); }

// PIL opens every 4-channel JPEG as CMYK with rawmode "CMYK;I" ("assume adobe conventions",
// JpegImagePlugin.py): libjpeg's CMYK output (YCCK already converted by libjpeg) with every
// byte inverted. convert("RGB") is then cmyk2rgb (libImaging/Convert.c):
// R = CLIP8(nk - MULDIV255(C, nk)) with nk = 255 - K, on the inverted values.
void adobe_cmyk_to_rgb(const uint8_t* cmyk, uint8_t* rgb, size_t pixels) {
  for (size_t i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    const int k = 255 - cmyk[3];  // inverted, as PIL stores it
    const int nk = 255 - k;
    for (int c = 0; c < 3; ++c) rgb[c] = clip8(nk - muldiv255(255 - cmyk[c], nk));
  }
}

}  // namespace

Image decode_jpeg(std::string_view bytes, const std::filesystem::path& name) {
  const std::string where = name.string();
  const size_t cut = truncated_at(bytes);
  CFX_CHECK(cut == std::string_view::npos, "decode_image: ", where, ": truncated JPEG: the data ends at byte ", cut,
            " before the end-of-image marker (PIL: \"image file is truncated\")");

  tjhandle tj = decompressor();
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  // A nonzero return is a warning (e.g. "extraneous bytes before marker", which PIL ignores
  // too) or a fatal error; only the latter stops us.
  if (tjDecompressHeader3(tj, src, size, &width, &height, &subsamp, &colorspace) != 0 &&
      tjGetErrorCode(tj) == TJERR_FATAL)
    CFX_FAIL("decode_image: ", where, ": cannot read the JPEG header (libjpeg-turbo: ", tjGetErrorStr2(tj), ")");
  CFX_CHECK(width > 0 && height > 0 && int64_t{width} * height <= kMaxImagePixels, "decode_image: ", where,
            ": JPEG of ", width, " x ", height, " pixels: expected 1 .. ", kMaxImagePixels,
            " pixels (PIL's decompression-bomb limit)");

  Image out(height, width, 3);
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  std::unique_ptr<uint8_t[]> raw;
  if (cmyk) raw = std::make_unique<uint8_t[]>(static_cast<size_t>(width) * height * 4);
  uint8_t* dst = cmyk ? raw.get() : out.pixels.data();
  if (tjDecompress2(tj, src, size, dst, width, /*pitch=*/0, height, cmyk ? TJPF_CMYK : TJPF_RGB, /*flags=*/0) != 0 &&
      tjGetErrorCode(tj) == TJERR_FATAL)
    CFX_FAIL("decode_image: ", where, ": corrupt JPEG data (libjpeg-turbo: ", tjGetErrorStr2(tj), ")");
  if (cmyk) adobe_cmyk_to_rgb(raw.get(), out.pixels.data(), static_cast<size_t>(width) * height);
  return out;
}

}  // namespace cfx::data::detail
