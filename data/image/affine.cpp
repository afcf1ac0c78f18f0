// Pillow 9.4's AFFINE transform with BICUBIC resampling, transcribed from
// src/libImaging/Geometry.c (affine_transform, bicubic_filter8 / bicubic_filter32RGB,
// ImagingGenericTransform) and PIL/Image.py (rotate's matrix and fast paths). The arithmetic
// stays in double in Geometry.c's order, unfused, so results match to the bit.
#include "data/image/affine.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

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

// Geometry.c's FLOOR: (int)floor(v) below zero, truncation otherwise.
int64_t pil_floor(double v) { return v < 0.0 ? static_cast<int64_t>(std::floor(v)) : static_cast<int64_t>(v); }

// Geometry.c's BICUBIC macro: the cubic through four taps at offset d in [0, 1), a = -0.5
// form, evaluated in this exact order.
double cubic(double v1, double v2, double v3, double v4, double d) {
  const double p1 = v2;
  const double p2 = -v1 + v3;
  const double p3 = 2 * (v1 - v2) + v3 - v4;
  const double p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

uint8_t to_u8(double v) {
  if (v <= 0.0) return 0;
  if (v >= 255.0) return 255;
  return static_cast<uint8_t>(v);  // truncation, as the C cast
}

// bicubic_filter*: samples `img` at (xin, yin) into out[0..channels); false (pixel left at
// the fill colour) when the point lies outside [0, width) x [0, height).
bool bicubic_sample(const Image& img, double xin, double yin, uint8_t* out) {
  const int64_t w = img.width, h = img.height, c = img.channels;
  if (xin < 0.0 || xin >= static_cast<double>(w) || yin < 0.0 || yin >= static_cast<double>(h)) return false;
  xin -= 0.5;
  yin -= 0.5;
  int64_t x = pil_floor(xin), y = pil_floor(yin);
  const double dx = xin - static_cast<double>(x), dy = yin - static_cast<double>(y);
  --x;
  --y;
  auto xclip = [w](int64_t v) { return v < 0 ? 0 : (v < w ? v : w - 1); };
  const int64_t x0 = xclip(x) * c, x1 = xclip(x + 1) * c, x2 = xclip(x + 2) * c, x3 = xclip(x + 3) * c;
  for (int64_t b = 0; b < c; ++b) {
    auto row_cubic = [&](int64_t yy) {
      const uint8_t* in = img.row(yy) + b;
      return cubic(in[x0], in[x1], in[x2], in[x3], dx);
    };
    // The first row is clamped; each later one outside the image repeats the row before.
    const double v1 = row_cubic(y < 0 ? 0 : (y < h ? y : h - 1));
    const double v2 = (y + 1 >= 0 && y + 1 < h) ? row_cubic(y + 1) : v1;
    const double v3 = (y + 2 >= 0 && y + 2 < h) ? row_cubic(y + 2) : v2;
    const double v4 = (y + 3 >= 0 && y + 3 < h) ? row_cubic(y + 3) : v3;
    out[b] = to_u8(cubic(v1, v2, v3, v4, dy));
  }
  return true;
}

// Python's round(v, 15), correctly rounded through the decimal string as CPython does.
double round15(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15f", v);
  return std::strtod(buf, nullptr);
}

// Python's float %: the result takes the divisor's sign.
double py_mod(double v, double m) {
  double r = std::fmod(v, m);
  if (r != 0.0) {
    if ((m < 0) != (r < 0)) r += m;
  } else {
    r = std::copysign(0.0, m);
  }
  return r;
}

// Transpose fast paths of Image.rotate: out(x, y) = img(src_x, src_y).
template <class Map>
Image remap(const Image& img, int64_t out_h, int64_t out_w, Map map) {
  Image out(out_h, out_w, img.channels);
  for (int64_t y = 0; y < out_h; ++y)
    for (int64_t x = 0; x < out_w; ++x) {
      const auto [sx, sy] = map(x, y);
      for (int64_t b = 0; b < img.channels; ++b) out.at(y, x, b) = img.at(sy, sx, b);
    }
  return out;
}

}  // namespace

Image affine_bicubic(const Image& img, const std::array<double, 6>& m, const Fill& fill) {
  CFX_CHECK(img.channels == 1 || img.channels == 3, "pil::affine_bicubic: expected an RGB or L image, got ",
            img.channels, " channels");
  Image out(img.height, img.width, img.channels);
  const int64_t c = img.channels;
  for (int64_t i = 0; i < out.height * out.width; ++i)
    for (int64_t b = 0; b < c; ++b) out.pixels[static_cast<size_t>(i * c + b)] = fill[static_cast<size_t>(b)];
  if (img.empty()) return out;
  for (int64_t y = 0; y < out.height; ++y) {
    uint8_t* o = out.row(y);
    const double yin = static_cast<double>(y) + 0.5;
    for (int64_t x = 0; x < out.width; ++x) {
      const double xin = static_cast<double>(x) + 0.5;
      const double xx = m[0] * xin + m[1] * yin + m[2];
      const double yy = m[3] * xin + m[4] * yin + m[5];
      bicubic_sample(img, xx, yy, o + x * c);
    }
  }
  return out;
}

std::array<double, 6> rotate_matrix(int64_t width, int64_t height, double degrees) {
  const double cx = static_cast<double>(width) / 2.0, cy = static_cast<double>(height) / 2.0;
  const double angle = -(py_mod(degrees, 360.0) * (M_PI / 180.0));  // -math.radians(angle % 360)
  std::array<double, 6> m = {round15(std::cos(angle)), round15(std::sin(angle)), 0.0,
                             round15(-std::sin(angle)), round15(std::cos(angle)), 0.0};
  // transform(-cx, -cy) with the translation still 0, then + centre.
  const double tx = m[0] * -cx + m[1] * -cy + m[2];
  const double ty = m[3] * -cx + m[4] * -cy + m[5];
  m[2] = tx + cx;
  m[5] = ty + cy;
  return m;
}

Image rotate(const Image& img, double degrees, const Fill& fill) {
  const double a = py_mod(degrees, 360.0);
  const int64_t w = img.width, h = img.height;
  if (a == 0.0) return img;
  if (a == 180.0)
    return remap(img, h, w, [w, h](int64_t x, int64_t y) { return std::pair{w - 1 - x, h - 1 - y}; });
  if (a == 90.0 && w == h)  // Transpose.ROTATE_90, counter-clockwise
    return remap(img, w, h, [w](int64_t x, int64_t y) { return std::pair{w - 1 - y, x}; });
  if (a == 270.0 && w == h)  // Transpose.ROTATE_270
    return remap(img, w, h, [h](int64_t x, int64_t y) { return std::pair{y, h - 1 - x}; });
  return affine_bicubic(img, rotate_matrix(w, h, degrees), fill);
}

Image shear_x(const Image& img, double factor, const Fill& fill) {
  return affine_bicubic(img, {1, factor, 0, 0, 1, 0}, fill);
}

Image shear_y(const Image& img, double factor, const Fill& fill) {
  return affine_bicubic(img, {1, 0, 0, factor, 1, 0}, fill);
}

Image translate_x(const Image& img, double pixels, const Fill& fill) {
  return affine_bicubic(img, {1, 0, pixels, 0, 1, 0}, fill);
}

Image translate_y(const Image& img, double pixels, const Fill& fill) {
  return affine_bicubic(img, {1, 0, 0, 0, 1, pixels}, fill);
}

}  // namespace cfx::data::pil
