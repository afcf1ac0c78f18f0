// PIL's resampler (data/image/resize.h), transcribed from Pillow 9.4 src/libImaging/Resample.c
// (ImagingResampleInner, precompute_coeffs, normalize_coeffs_8bpc, the 8bpc passes) and the
// shortcuts of Image.resize / _imaging.c _resize in front of it. Every expression keeps
// Pillow's operand order and types (float box, double coefficients, int accumulators), so the
// bytes match: do not "simplify" the arithmetic. The library builds in ISO C++ mode, where
// GCC does not contract a * b + c into an FMA, as Pillow's build does not.
#include "data/image/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace cfx::data {

namespace {

double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_filter(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * M_PI;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));  // float constants, as in Pillow
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;  // Pillow's (and Keys') choice; OpenCV and PyTorch use -0.75
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x = x * M_PI;
  return std::sin(x) / x;
}

double lanczos_filter(double x) { return (-3.0 <= x && x < 3.0) ? sinc_filter(x) * sinc_filter(x / 3) : 0.0; }

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_of(ResampleFilter f) {
  switch (f) {
    case ResampleFilter::kBox: return {box_filter, 0.5};
    case ResampleFilter::kBilinear: return {bilinear_filter, 1.0};
    case ResampleFilter::kHamming: return {hamming_filter, 1.0};
    case ResampleFilter::kBicubic: return {bicubic_filter, 2.0};
    case ResampleFilter::kLanczos: return {lanczos_filter, 3.0};
  }
  CFX_FAIL("resize: unknown filter ", static_cast<int>(f));
}

// 8 bits of result, 2 for the overshoot of negative lobes, in an int32 accumulator.
constexpr int kPrecisionBits = 32 - 8 - 2;

// Per output index: the first input index, the number of taps, and ksize fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // xmin, count per output index
  std::vector<int32_t> k;   // out_size * ksize
};

// precompute_coeffs + normalize_coeffs_8bpc.
Coeffs precompute_coeffs(int in_size, float in0, float in1, int out_size, const Filter& filter) {
  double scale = static_cast<double>(in1 - in0) / out_size;  // float difference, as Pillow
  double filterscale = scale;
  if (filterscale < 1.0) filterscale = 1.0;
  const double support = filter.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.k.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      const double v = filter.fn((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    int32_t* k = &c.k[static_cast<size_t>(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) w[x] /= ww;
      k[x] = w[x] < 0 ? static_cast<int32_t>(-0.5 + w[x] * (1 << kPrecisionBits))
                      : static_cast<int32_t>(0.5 + w[x] * (1 << kPrecisionBits));
    }
    c.bounds[2 * xx] = xmin;
    c.bounds[2 * xx + 1] = xmax;
  }
  return c;
}

// Pillow's clip8: the 0.5 bias is in the accumulator's start value; >> is arithmetic in C++20.
inline uint8_t clip8(int v) { return static_cast<uint8_t>(std::clamp(v >> kPrecisionBits, 0, 255)); }

// Rows [y0, y0 + out.height) of `in`, resampled along x.
template <int C>
void horizontal_pass(const Image& in, Image& out, int y0, const Coeffs& c) {
  for (int64_t yy = 0; yy < out.height; ++yy) {
    const uint8_t* src = in.row(yy + y0);
    uint8_t* dst = out.row(yy);
    for (int64_t xx = 0; xx < out.width; ++xx) {
      const int xmin = c.bounds[2 * xx], n = c.bounds[2 * xx + 1];
      const int32_t* k = &c.k[static_cast<size_t>(xx) * c.ksize];
      const uint8_t* s = src + static_cast<int64_t>(xmin) * C;
      int acc[C];
      for (int ch = 0; ch < C; ++ch) acc[ch] = 1 << (kPrecisionBits - 1);
      for (int x = 0; x < n; ++x)
        for (int ch = 0; ch < C; ++ch) acc[ch] += s[x * C + ch] * k[x];
      for (int ch = 0; ch < C; ++ch) dst[xx * C + ch] = clip8(acc[ch]);
    }
  }
}

// Integer sums do not depend on their order, so accumulate a whole row per tap (vectorises).
void vertical_pass(const Image& in, Image& out, const Coeffs& c, int row_shift) {
  const size_t row_len = static_cast<size_t>(in.width * in.channels);
  std::vector<int> acc(row_len);
  for (int64_t yy = 0; yy < out.height; ++yy) {
    const int ymin = c.bounds[2 * yy] - row_shift, n = c.bounds[2 * yy + 1];
    const int32_t* k = &c.k[static_cast<size_t>(yy) * c.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < n; ++y) {
      const uint8_t* src = in.row(ymin + y);
      const int32_t w = k[y];
      for (size_t i = 0; i < row_len; ++i) acc[i] += src[i] * w;
    }
    uint8_t* dst = out.row(yy);
    for (size_t i = 0; i < row_len; ++i) dst[i] = clip8(acc[i]);
  }
}

// ImagingResampleInner: the passes that are needed, the horizontal one only over the rows the
// vertical one reads.
Image resample(const Image& in, int ysize, int xsize, const Filter& filter, const ResizeBox& box) {
  // Pillow's test, quirk included: box[2] (x1) is compared with the output width.
  const bool need_horizontal = xsize != in.width || box.x0 != 0 || box.x1 != xsize;
  const bool need_vertical = ysize != in.height || box.y0 != 0 || box.y1 != ysize;
  const Coeffs horiz = precompute_coeffs(static_cast<int>(in.width), box.x0, box.x1, xsize, filter);
  const Coeffs vert = precompute_coeffs(static_cast<int>(in.height), box.y0, box.y1, ysize, filter);
  const int ybox_first = vert.bounds[0];
  const int ybox_last = vert.bounds[2 * ysize - 2] + vert.bounds[2 * ysize - 1];

  Image temp;
  const Image* src = &in;
  int row_shift = 0;
  if (need_horizontal) {
    temp = Image(ybox_last - ybox_first, xsize, in.channels);
    if (in.channels == 3) horizontal_pass<3>(in, temp, ybox_first, horiz);
    else horizontal_pass<1>(in, temp, ybox_first, horiz);
    src = &temp;
    row_shift = ybox_first;
  }
  if (!need_vertical) {
    if (need_horizontal) return temp;
    return in;
  }
  Image out(ysize, src->width, in.channels);
  vertical_pass(*src, out, vert, row_shift);
  return out;
}

Image crop_rows_cols(const Image& in, int64_t top, int64_t left, int64_t height, int64_t width) {
  Image out(height, width, in.channels);
  for (int64_t y = 0; y < height; ++y)
    std::memcpy(out.row(y), in.row(top + y) + left * in.channels, static_cast<size_t>(width * in.channels));
  return out;
}

}  // namespace

const char* resample_filter_name(ResampleFilter filter) {
  switch (filter) {
    case ResampleFilter::kBox: return "box";
    case ResampleFilter::kBilinear: return "bilinear";
    case ResampleFilter::kHamming: return "hamming";
    case ResampleFilter::kBicubic: return "bicubic";
    case ResampleFilter::kLanczos: return "lanczos";
  }
  return "unknown";
}

Image resize(const Image& img, int64_t height, int64_t width, ResampleFilter filter) {
  const ResizeBox whole{0.0f, 0.0f, static_cast<float>(img.width), static_cast<float>(img.height)};
  return resize(img, height, width, filter, whole);
}

Image resize(const Image& img, int64_t height, int64_t width, ResampleFilter filter, const ResizeBox& box) {
  CFX_CHECK(!img.empty(), "resize: expected a non-empty image, got ", img.height, " x ", img.width, " x ",
            img.channels);
  CFX_CHECK(height >= 1 && width >= 1 && height < (1 << 24) && width < (1 << 24),
            "resize: expected an output size of at least 1 x 1, got ", height, " x ", width);
  CFX_CHECK(box.x0 >= 0 && box.y0 >= 0 && box.x1 <= img.width && box.y1 <= img.height && box.x1 - box.x0 >= 0 &&
                box.y1 - box.y0 >= 0,
            "resize: expected a box inside the ", img.height, " x ", img.width, " image, got (x0 ", box.x0, ", y0 ",
            box.y0, ", x1 ", box.x1, ", y1 ", box.y1, ")");
  // Image.resize: the same size over the whole image is a copy.
  if (height == img.height && width == img.width && box.x0 == 0 && box.y0 == 0 && box.x1 == img.width &&
      box.y1 == img.height)
    return img;
  // _imaging.c: a box on whole pixels the size of the output is a crop.
  if (box.x0 - static_cast<int>(box.x0) == 0 && box.x1 - box.x0 == width && box.y0 - static_cast<int>(box.y0) == 0 &&
      box.y1 - box.y0 == height)
    return crop_rows_cols(img, static_cast<int64_t>(box.y0), static_cast<int64_t>(box.x0), height, width);
  return resample(img, static_cast<int>(height), static_cast<int>(width), filter_of(filter), box);
}

}  // namespace cfx::data
