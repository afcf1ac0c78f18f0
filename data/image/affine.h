// The geometric ops of timm's RandAugment, pixel-exact to Pillow 9.4 with resample=BICUBIC:
// img.transform(img.size, Image.AFFINE, m, BICUBIC, fillcolor=fill) and the
// img.rotate(degrees, BICUBIC, fillcolor=fill) built on it, plus the shear and translate
// matrices timm passes.
//
// Pillow's transform is not a resize: it samples the source at the mapped centre of each
// output pixel with its own 4x4 cubic (a = -0.5, edge-clamped taps, double arithmetic,
// truncated to uint8), with no antialiasing. An output pixel whose centre maps outside the
// source keeps the fill colour.
//
// Not here: bilinear and nearest resampling (timm uses them only when no interpolation is
// configured; the ImageNet recipe passes bicubic); resizing and cropping.
#pragma once

#include <array>
#include <cstdint>

#include "data/image/image.h"

namespace cfx::data::pil {

// A fill colour; an L image uses fill[0].
using Fill = std::array<uint8_t, 3>;

// img.transform(img.size, AFFINE, (a, b, c, d, e, f), BICUBIC, fillcolor=fill): output pixel
// (x, y) samples the source at (a x' + b y' + c, d x' + e y' + f), x' = x + 0.5, y' = y + 0.5.
Image affine_bicubic(const Image& img, const std::array<double, 6>& matrix, const Fill& fill);

// The matrix img.rotate(degrees) (no expand, centre w/2, h/2) hands to transform: the
// inverse rotation, entries rounded to 15 decimals as Pillow does.
std::array<double, 6> rotate_matrix(int64_t width, int64_t height, double degrees);

// img.rotate(degrees, resample=BICUBIC, fillcolor=fill), counter-clockwise. Like Pillow,
// 0 and 180 degrees (and 90, 270 on a square image) are exact copies / transposes.
Image rotate(const Image& img, double degrees, const Fill& fill);

// timm's shear_x / shear_y: matrices (1, factor, 0, 0, 1, 0) and (1, 0, 0, factor, 1, 0).
Image shear_x(const Image& img, double factor, const Fill& fill);
Image shear_y(const Image& img, double factor, const Fill& fill);
// timm's translate_x_abs / translate_y_abs: (1, 0, pixels, 0, 1, 0) and (1, 0, 0, 0, 1,
// pixels); the content moves by -pixels. translate_*_rel passes pct * width (height).
Image translate_x(const Image& img, double pixels, const Fill& fill);
Image translate_y(const Image& img, double pixels, const Fill& fill);

}  // namespace cfx::data::pil
