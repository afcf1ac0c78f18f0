// The colour and histogram ops of timm's RandAugment, pixel-exact to Pillow 9.4:
// ImageOps.{autocontrast, equalize, invert, posterize, solarize}, timm's solarize_add, and
// ImageEnhance.{Color, Contrast, Brightness, Sharpness}(img).enhance(factor).
//
// Each takes an RGB or L Image (data/image/image.h) and returns a new one. The arithmetic is
// Pillow's own: luma by the fixed-point L24 weights, Image.blend in float with truncation,
// the SMOOTH 3x3 filter in float with +0.5 rounding and the border left as it was. So the
// outputs match Pillow exactly (tests/data/test_rand_augment.cpp checks against a dump).
//
// Not here: the geometric ops (data/image/affine.h), choosing ops at random
// (data/image/rand_augment.h).
#pragma once

#include <array>
#include <cstdint>

#include "data/image/image.h"

namespace cfx::data::pil {

// img.point(lut) with one 256-entry table used for every channel (ImageOps._lut).
Image point(const Image& img, const std::array<uint8_t, 256>& lut);

// ImageOps.autocontrast(img): per channel, stretch [lowest, highest] present value to
// [0, 255] (cutoff 0, no ignore); a channel with one value is left as is.
Image autocontrast(const Image& img);
// ImageOps.equalize(img): per-channel histogram equalisation with Pillow's step rule.
Image equalize(const Image& img);
// ImageOps.invert(img): 255 - v.
Image invert(const Image& img);
// ImageOps.posterize(img, bits): keep the `bits` high bits (bits <= 0 gives black). Like
// timm's wrapper, bits >= 8 returns the image unchanged.
Image posterize(const Image& img, int bits);
// ImageOps.solarize(img, threshold): v >= threshold becomes 255 - v.
Image solarize(const Image& img, int threshold);
// timm's solarize_add: v < threshold becomes min(255, v + add).
Image solarize_add(const Image& img, int add, int threshold = 128);

// Image.blend(a, b, alpha) = a + alpha * (b - a), in float like Pillow (alpha is cast to
// float); truncated, and clipped to [0, 255] when alpha is outside [0, 1].
Image blend(const Image& a, const Image& b, double alpha);
// img.convert("L"): (19595 R + 38470 G + 7471 B + 0x8000) >> 16; an L image is copied.
Image to_grey(const Image& img);

// ImageEnhance.X(img).enhance(factor): blend(degenerate, img, factor), where degenerate is
//   color:      the grey image (img.convert("L").convert(img.mode))
//   contrast:   flat grey at int(mean of the L image + 0.5)
//   brightness: black
//   sharpness:  img.filter(SMOOTH) (kernel 1 1 1 / 1 5 1 / 1 1 1, divided by 13)
Image color(const Image& img, double factor);
Image contrast(const Image& img, double factor);
Image brightness(const Image& img, double factor);
Image sharpness(const Image& img, double factor);

}  // namespace cfx::data::pil
