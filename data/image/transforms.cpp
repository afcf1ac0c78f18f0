// torchvision 0.14 / timm transforms on Image (data/image/transforms.h). The Python each one
// mirrors is quoted beside it.
#include "data/image/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/creation.h"

namespace cfx::data {

namespace {

// Python 3's round(x) for the values here: to the nearest integer, halves to even.
int64_t py_round(double x) {
  if (std::abs(x - std::trunc(x)) == 0.5) return static_cast<int64_t>(2.0 * std::round(x / 2.0));
  return static_cast<int64_t>(std::round(x));
}

// Python's // for the (possibly negative) differences of sizes.
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void check_image(const char* who, const Image& img) {
  CFX_CHECK(!img.empty() && (img.channels == 1 || img.channels == 3), who,
            ": expected a non-empty 1- or 3-channel image, got ", img.height, " x ", img.width, " x ", img.channels);
}

}  // namespace

std::array<int64_t, 2> resize_shorter_size(int64_t height, int64_t width, int64_t size) {
  CFX_CHECK(height > 0 && width > 0 && size > 0, "resize_shorter: expected positive sizes, got image ", height, " x ",
            width, " and size ", size);
  // short, long = (w, h) if w <= h else (h, w)
  // new_short, new_long = requested_new_short, int(requested_new_short * long / short)
  const bool portrait = width <= height;
  const int64_t shorter = portrait ? width : height, longer = portrait ? height : width;
  const auto new_long = static_cast<int64_t>(static_cast<double>(size * longer) / static_cast<double>(shorter));
  return portrait ? std::array<int64_t, 2>{new_long, size} : std::array<int64_t, 2>{size, new_long};
}

Image resize_shorter(const Image& img, int64_t size, ResampleFilter filter) {
  check_image("resize_shorter", img);
  const auto [h, w] = resize_shorter_size(img.height, img.width, size);
  return resize(img, h, w, filter);
}

Image crop(const Image& img, int64_t top, int64_t left, int64_t height, int64_t width) {
  check_image("crop", img);
  CFX_CHECK(height > 0 && width > 0, "crop: expected a positive crop size, got ", height, " x ", width);
  Image out(height, width, img.channels);  // zeros where the box leaves the image
  const int64_t y0 = std::max<int64_t>(top, 0), y1 = std::min(top + height, img.height);
  const int64_t x0 = std::max<int64_t>(left, 0), x1 = std::min(left + width, img.width);
  if (x0 >= x1) return out;
  const size_t bytes = static_cast<size_t>((x1 - x0) * img.channels);
  for (int64_t y = y0; y < y1; ++y)
    std::memcpy(out.row(y - top) + (x0 - left) * img.channels, img.row(y) + x0 * img.channels, bytes);
  return out;
}

Image center_crop(const Image& img, int64_t height, int64_t width) {
  check_image("center_crop", img);
  CFX_CHECK(height > 0 && width > 0, "center_crop: expected a positive crop size, got ", height, " x ", width);
  // Padding to the crop size puts (crop - size) // 2 zeros before and the rest after; the
  // crop of the padded image is then a crop of the original at a negative offset.
  int64_t pad_top = 0, pad_left = 0, h = img.height, w = img.width;
  if (width > w || height > h) {
    if (width > w) pad_left = floor_div(width - w, 2), w = width;
    if (height > h) pad_top = floor_div(height - h, 2), h = height;
  }
  // crop_top = int(round((image_height - crop_height) / 2.0))
  const int64_t top = py_round(static_cast<double>(h - height) / 2.0);
  const int64_t left = py_round(static_cast<double>(w - width) / 2.0);
  return crop(img, top - pad_top, left - pad_left, height, width);
}

Image hflip(const Image& img) {
  check_image("hflip", img);
  Image out(img.height, img.width, img.channels);
  const int64_t c = img.channels;
  for (int64_t y = 0; y < img.height; ++y) {
    const uint8_t* src = img.row(y);
    uint8_t* dst = out.row(y) + (img.width - 1) * c;
    for (int64_t x = 0; x < img.width; ++x, src += c, dst -= c) std::memcpy(dst, src, static_cast<size_t>(c));
  }
  return out;
}

Image resized_crop(const Image& img, const CropBox& box, int64_t height, int64_t width, ResampleFilter filter) {
  return resize(crop(img, box), height, width, filter);
}

CropBox random_resized_crop_params(int64_t height, int64_t width, detail::Rng& rng,
                                   const RandomResizedCropOptions& o) {
  CFX_CHECK(height > 0 && width > 0, "random_resized_crop: expected a non-empty image, got ", height, " x ", width);
  CFX_CHECK(o.scale_min > 0 && o.scale_min <= o.scale_max && o.ratio_min > 0 && o.ratio_min <= o.ratio_max,
            "random_resized_crop: expected 0 < scale_min <= scale_max and 0 < ratio_min <= ratio_max, got scale (",
            o.scale_min, ", ", o.scale_max, ") ratio (", o.ratio_min, ", ", o.ratio_max, ")");
  const double area = static_cast<double>(height * width);
  const double log_min = std::log(o.ratio_min), log_max = std::log(o.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    // target_area = random.uniform(*scale) * area
    // aspect_ratio = math.exp(random.uniform(*log_ratio))
    const double target_area = rng.uniform(o.scale_min, o.scale_max) * area;
    const double aspect_ratio = std::exp(rng.uniform(log_min, log_max));
    const int64_t w = py_round(std::sqrt(target_area * aspect_ratio));
    const int64_t h = py_round(std::sqrt(target_area / aspect_ratio));
    // timm tests w <= W and h <= H; the 0 < (torchvision's) only matters for images of a few
    // pixels, where an empty crop would fail later.
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t i = rng.randint(0, height - h);
      const int64_t j = rng.randint(0, width - w);
      return {i, j, h, w};
    }
  }
  // Fallback to central crop
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < o.ratio_min) {
    h = py_round(static_cast<double>(w) / o.ratio_min);
  } else if (in_ratio > o.ratio_max) {
    w = py_round(static_cast<double>(h) * o.ratio_max);
  }
  return {floor_div(height - h, 2), floor_div(width - w, 2), h, w};
}

Image random_resized_crop(const Image& img, int64_t size, detail::Rng& rng, const RandomResizedCropOptions& opts,
                          ResampleFilter filter) {
  check_image("random_resized_crop", img);
  return resized_crop(img, random_resized_crop_params(img.height, img.width, rng, opts), size, size, filter);
}

void write_normalized(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std,
                      float* out_chw) {
  check_image("write_normalized", img);
  // ToTensor: x.float().div(255); Normalize: sub_(mean).div_(std), all float32. 256 values
  // per channel, so a table holds every result exactly.
  float table[3][256];
  for (int c = 0; c < 3; ++c) {
    CFX_CHECK(std[c] != 0.0f, "write_normalized: std[", c, "] is 0");
    for (int v = 0; v < 256; ++v) table[c][v] = (static_cast<float>(v) / 255.0f - mean[c]) / std[c];
  }
  const int64_t plane = img.height * img.width, stride = img.channels;
  for (int c = 0; c < 3; ++c) {
    const float* t = table[c];
    const uint8_t* src = img.pixels.data() + (img.channels == 3 ? c : 0);
    float* dst = out_chw + c * plane;
    for (int64_t i = 0; i < plane; ++i) dst[i] = t[src[i * stride]];
  }
}

Tensor to_tensor_normalized(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  check_image("to_tensor_normalized", img);
  Tensor out = empty({3, img.height, img.width}, {kFloat32});
  write_normalized(img, mean, std, out.data_ptr<float>());
  return out;
}

}  // namespace cfx::data
