// Pillow 9.4's colour ops, transcribed from PIL/ImageOps.py, PIL/ImageEnhance.py and
// src/libImaging/{Blend,Convert,Filter}.c. Bit-exactness depends on doing the arithmetic in
// the same types and order as the C code (float where Pillow uses float), unfused.
#include "data/image/pil_ops.h"

#include <algorithm>
#include <vector>

// Pillow's and torch's results come from separate multiplies and adds; a fused a*b+c
// (GCC contracts by default in C++, e.g. under -march=native) changes the last bit and so
// some truncated pixels. Keep every expression in this file unfused.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace cfx::data::pil {

namespace {

void check_image(const Image& img, const char* op) {
  CFX_CHECK(img.channels == 1 || img.channels == 3, op, ": expected an RGB or L image, got ", img.channels,
            " channels");
  CFX_CHECK(static_cast<int64_t>(img.pixels.size()) == img.height * img.width * img.channels, op,
            ": image holds ", img.pixels.size(), " bytes, expected ", img.height, " x ", img.width, " x ",
            img.channels);
}

// Per-channel histograms, as img.histogram() returns them (256 bins per band).
std::vector<std::array<int64_t, 256>> histograms(const Image& img) {
  std::vector<std::array<int64_t, 256>> h(static_cast<size_t>(img.channels));
  for (auto& band : h) band.fill(0);
  const int64_t c = img.channels;
  for (size_t i = 0; i < img.pixels.size(); ++i) ++h[i % static_cast<size_t>(c)][img.pixels[i]];
  return h;
}

// img.point(lut) with one table per channel.
Image point_per_channel(const Image& img, const std::vector<std::array<uint8_t, 256>>& luts) {
  Image out = img;
  const size_t c = static_cast<size_t>(img.channels);
  for (size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = luts[i % c][img.pixels[i]];
  return out;
}

uint8_t clip8(int64_t v) { return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255)); }

// Filter.c's clip8: truncation toward zero after clipping.
uint8_t clip8f(float v) {
  if (v <= 0.0f) return 0;
  if (v >= 255.0f) return 255;
  return static_cast<uint8_t>(v);
}

// The L image as an image of the input's mode (convert("L").convert(mode)).
Image grey_as_mode(const Image& img) {
  const Image grey = to_grey(img);
  if (img.channels == 1) return grey;
  Image out(img.height, img.width, 3);
  for (size_t i = 0; i < grey.pixels.size(); ++i)
    out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = grey.pixels[i];
  return out;
}

// ImageFilter.SMOOTH through Filter.c's ImagingFilter3x3: float kernel (1/13, 5/13),
// offset 0 + 0.5 for rounding, rows summed y+1, y, y-1, each as (left + centre) + right.
// The first and last row and column are copied; an image under 3x3 is copied whole.
Image smooth(const Image& img) {
  if (img.width < 3 || img.height < 3) return img;
  const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
  const int64_t c = img.channels, w = img.width;
  Image out = img;
  for (int64_t y = 1; y + 1 < img.height; ++y) {
    const uint8_t* up = img.row(y - 1);
    const uint8_t* mid = img.row(y);
    const uint8_t* down = img.row(y + 1);
    uint8_t* o = out.row(y);
    for (int64_t x = 1; x + 1 < w; ++x) {
      for (int64_t b = 0; b < c; ++b) {
        const int64_t l = (x - 1) * c + b, m = x * c + b, r = (x + 1) * c + b;
        float ss = 0.5f;
        ss += static_cast<float>(down[l]) * k1 + static_cast<float>(down[m]) * k1 + static_cast<float>(down[r]) * k1;
        ss += static_cast<float>(mid[l]) * k1 + static_cast<float>(mid[m]) * k5 + static_cast<float>(mid[r]) * k1;
        ss += static_cast<float>(up[l]) * k1 + static_cast<float>(up[m]) * k1 + static_cast<float>(up[r]) * k1;
        o[m] = clip8f(ss);
      }
    }
  }
  return out;
}

}  // namespace

Image point(const Image& img, const std::array<uint8_t, 256>& lut) {
  check_image(img, "pil::point");
  Image out = img;
  for (auto& v : out.pixels) v = lut[v];
  return out;
}

Image autocontrast(const Image& img) {
  check_image(img, "pil::autocontrast");
  const auto hist = histograms(img);
  std::vector<std::array<uint8_t, 256>> luts(hist.size());
  for (size_t band = 0; band < hist.size(); ++band) {
    const auto& h = hist[band];
    int lo = 0, hi = 255;
    while (lo < 255 && h[static_cast<size_t>(lo)] == 0) ++lo;
    while (hi > 0 && h[static_cast<size_t>(hi)] == 0) --hi;
    auto& lut = luts[band];
    if (hi <= lo) {
      for (int i = 0; i < 256; ++i) lut[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
      continue;
    }
    const double scale = 255.0 / (hi - lo);
    const double offset = -lo * scale;
    // Python's int() truncates toward zero, as the cast does.
    for (int i = 0; i < 256; ++i) lut[static_cast<size_t>(i)] = clip8(static_cast<int64_t>(i * scale + offset));
  }
  return point_per_channel(img, luts);
}

Image equalize(const Image& img) {
  check_image(img, "pil::equalize");
  const auto hist = histograms(img);
  std::vector<std::array<uint8_t, 256>> luts(hist.size());
  for (size_t band = 0; band < hist.size(); ++band) {
    const auto& h = hist[band];
    auto& lut = luts[band];
    for (int i = 0; i < 256; ++i) lut[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    int64_t total = 0, last = 0, nonzero = 0;
    for (int64_t count : h)
      if (count) total += count, last = count, ++nonzero;
    if (nonzero <= 1) continue;
    const int64_t step = (total - last) / 255;  // the highest bin does not count
    if (step == 0) continue;
    int64_t n = step / 2;
    // n // step can reach 256 at the top; Image.point clips table entries to [0, 255].
    for (int i = 0; i < 256; ++i) {
      lut[static_cast<size_t>(i)] = clip8(n / step);
      n += h[static_cast<size_t>(i)];
    }
  }
  return point_per_channel(img, luts);
}

Image invert(const Image& img) {
  std::array<uint8_t, 256> lut;
  for (int i = 0; i < 256; ++i) lut[static_cast<size_t>(i)] = static_cast<uint8_t>(255 - i);
  return point(img, lut);
}

Image posterize(const Image& img, int bits) {
  if (bits >= 8) return img;
  // ~(2 ** (8 - bits) - 1): for bits <= 0 the mask clears all eight bits.
  const int mask = bits <= 0 ? 0 : ~((1 << (8 - bits)) - 1);
  std::array<uint8_t, 256> lut;
  for (int i = 0; i < 256; ++i) lut[static_cast<size_t>(i)] = static_cast<uint8_t>(i & mask);
  return point(img, lut);
}

Image solarize(const Image& img, int threshold) {
  std::array<uint8_t, 256> lut;
  for (int i = 0; i < 256; ++i) lut[static_cast<size_t>(i)] = static_cast<uint8_t>(i < threshold ? i : 255 - i);
  return point(img, lut);
}

Image solarize_add(const Image& img, int add, int threshold) {
  std::array<uint8_t, 256> lut;
  for (int i = 0; i < 256; ++i)
    lut[static_cast<size_t>(i)] = i < threshold ? clip8(std::min(255, i + add)) : static_cast<uint8_t>(i);
  return point(img, lut);
}

Image blend(const Image& a, const Image& b, double alpha_in) {
  check_image(a, "pil::blend");
  check_image(b, "pil::blend");
  CFX_CHECK(a.height == b.height && a.width == b.width && a.channels == b.channels,
            "pil::blend: images differ in size: ", a.height, " x ", a.width, " x ", a.channels, " vs ", b.height,
            " x ", b.width, " x ", b.channels);
  const float alpha = static_cast<float>(alpha_in);  // _imaging.c passes (float)alpha
  if (alpha == 0.0f) return a;
  if (alpha == 1.0f) return b;
  Image out(a.height, a.width, a.channels);
  const bool inside = alpha >= 0.0f && alpha <= 1.0f;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const int v1 = a.pixels[i], v2 = b.pixels[i];
    const float v = static_cast<float>(v1) + alpha * static_cast<float>(v2 - v1);
    out.pixels[i] = inside ? static_cast<uint8_t>(v) : clip8f(v);
  }
  return out;
}

Image to_grey(const Image& img) {
  check_image(img, "pil::to_grey");
  if (img.channels == 1) return img;
  Image out(img.height, img.width, 1);
  for (size_t i = 0; i < out.pixels.size(); ++i) {
    const uint32_t r = img.pixels[3 * i], g = img.pixels[3 * i + 1], b = img.pixels[3 * i + 2];
    out.pixels[i] = static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
  }
  return out;
}

Image color(const Image& img, double factor) { return blend(grey_as_mode(img), img, factor); }

Image contrast(const Image& img, double factor) {
  const Image grey = to_grey(img);
  int64_t sum = 0;
  for (uint8_t v : grey.pixels) sum += v;
  // ImageStat's mean is a Python float; an empty image would divide by zero there too.
  CFX_CHECK(!grey.pixels.empty(), "pil::contrast: empty image");
  const double mean = static_cast<double>(sum) / static_cast<double>(grey.pixels.size());
  const auto flat = static_cast<uint8_t>(static_cast<int64_t>(mean + 0.5));
  return blend(Image(img.height, img.width, img.channels, flat), img, factor);
}

Image brightness(const Image& img, double factor) {
  return blend(Image(img.height, img.width, img.channels, 0), img, factor);
}

Image sharpness(const Image& img, double factor) {
  check_image(img, "pil::sharpness");
  return blend(smooth(img), img, factor);
}

}  // namespace cfx::data::pil
