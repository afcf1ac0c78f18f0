// The geometric steps of the ImageNet transforms, with torchvision 0.14's and timm's exact
// rounding on PIL images (BENCHMARKS.md 3.1):
//   eval   resize_shorter(img, 256, bicubic) -> center_crop(224) -> write_normalized
//   train  random_resized_crop(img, 224, rng) (timm RandomResizedCropAndInterpolation,
//          bicubic) -> hflip with p 0.5 -> RandAugment (data/image/rand_augment.h) -> normalise
// Python's round() is round-half-to-even; it is used where torchvision and timm call it.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"
#include "data/detail/rng.h"
#include "data/image/image.h"
#include "data/image/resize.h"

namespace cfx::data {

// A rectangle of an image: rows [top, top + height), columns [left, left + width).
struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox&) const = default;
};

// transforms.Resize(size): the output (height, width) with the shorter side `size` and the
// longer int(size * long / short) (truncated), as _compute_resized_output_size.
std::array<int64_t, 2> resize_shorter_size(int64_t height, int64_t width, int64_t size);
// transforms.Resize(size, interpolation) on a PIL image.
Image resize_shorter(const Image& img, int64_t size, ResampleFilter filter = ResampleFilter::kBicubic);

// F.crop / PIL's img.crop((left, top, left + width, top + height)): pixels outside the image
// are 0, as PIL fills them.
Image crop(const Image& img, int64_t top, int64_t left, int64_t height, int64_t width);
inline Image crop(const Image& img, const CropBox& b) { return crop(img, b.top, b.left, b.height, b.width); }

// transforms.CenterCrop((height, width)): top = int(round((H - height) / 2.0)), likewise left;
// an image smaller than the crop is first padded with zeros as torchvision does.
Image center_crop(const Image& img, int64_t height, int64_t width);
inline Image center_crop(const Image& img, int64_t size) { return center_crop(img, size, size); }

// Left-right mirror (transforms.RandomHorizontalFlip once it has decided to flip).
Image hflip(const Image& img);

// F.resized_crop: crop(box) then resize to height x width (crop first: the kernel does not
// reach outside the crop, unlike resize with a box).
Image resized_crop(const Image& img, const CropBox& box, int64_t height, int64_t width,
                   ResampleFilter filter = ResampleFilter::kBicubic);

// timm RandomResizedCropAndInterpolation's ranges (the defaults of torchvision's too).
struct RandomResizedCropOptions {
  double scale_min = 0.08, scale_max = 1.0;              // of the image's area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;   // width / height, drawn log-uniformly
};

// timm's RandomResizedCropAndInterpolation.get_params on a height x width image: up to 10
// draws of (area, log-ratio) whose rounded crop fits, placed uniformly; else the centred
// crop of the whole image with its aspect ratio clamped to the range. Draws from `rng` in
// timm's order (uniform area, uniform log-ratio, then randint top, randint left).
CropBox random_resized_crop_params(int64_t height, int64_t width, detail::Rng& rng,
                                   const RandomResizedCropOptions& opts = {});
// get_params, then resized_crop to size x size.
Image random_resized_crop(const Image& img, int64_t size, detail::Rng& rng, const RandomResizedCropOptions& opts = {},
                          ResampleFilter filter = ResampleFilter::kBicubic);

// ImageNet's normalisation (timm IMAGENET_DEFAULT_MEAN / _STD).
inline constexpr std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};

// ToTensor() + Normalize(mean, std) into `out_chw` (3 * H * W floats, channel planes): value
// (x / 255 - mean[c]) / std[c] in float32, in torchvision's operation order, so the floats are
// bit-identical. A grayscale image is taken as R = G = B. For writing straight into a batch.
void write_normalized(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std,
                      float* out_chw);
// The same as a new float32 tensor [3, H, W].
Tensor to_tensor_normalized(const Image& img, const std::array<float, 3>& mean = kImageNetMean,
                            const std::array<float, 3>& std = kImageNetStd);

}  // namespace cfx::data
