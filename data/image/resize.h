// PIL's Image.resize, bit for bit (Pillow 9.4 libImaging/Resample.c; tests compare with PIL):
// a separable convolution, horizontal pass then vertical, whose kernel support grows with the
// downscale factor (antialiasing); per output pixel the coefficients are normalised to sum 1,
// turned into 22-bit fixed point with rounding, and each pass rounds and clips to 0..255.
//
// Sizes are given as (height, width), like the rest of data/image; PIL's order is (width, height):
//   resize(img, h, w, ResampleFilter::kBicubic)  ==  img.resize((w, h), Image.BICUBIC)
// NEAREST is not here: PIL does it with an affine transform, not this resampler.
#pragma once

#include <cstdint>

#include "data/image/image.h"

namespace cfx::data {

// PIL's filters and their supports: box 0.5, bilinear 1, hamming 1, bicubic 2 (a = -0.5), lanczos 3.
enum class ResampleFilter { kBox, kBilinear, kHamming, kBicubic, kLanczos };

const char* resample_filter_name(ResampleFilter filter);

// The source region of resize(..., box=(x0, y0, x1, y1)) in pixels, edges exclusive. float, as
// PIL's C side parses it ("(ffff)"), so fractional boxes round exactly as there.
struct ResizeBox {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// img.resize((width, height), filter): the whole image to height x width (both >= 1).
Image resize(const Image& img, int64_t height, int64_t width, ResampleFilter filter = ResampleFilter::kBicubic);

// img.resize((width, height), filter, box): `box` of the image to height x width. Pixels
// outside the box but inside the image do take part (PIL clamps the kernel to the image,
// not the box), so this is not crop-then-resize.
Image resize(const Image& img, int64_t height, int64_t width, ResampleFilter filter, const ResizeBox& box);

}  // namespace cfx::data
