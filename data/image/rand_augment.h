// timm's RandAugment (timm/data/auto_augment.py), as the ImageNet recipe configures it:
//
//   RandAugment ra("rand-m9-mstd0.5-inc1");   // create_transform(auto_augment=...) defaults
//   Image out = ra(img, rng);                  // 2 ops drawn uniformly with replacement,
//                                              // each applied with prob 0.5
//
// Per image, as timm's RandAugment.__call__ and AugmentOp.__call__ do, in this order of
// draws: the num_layers op indices (np.random.choice, uniform, with replacement); then per
// op: skip it unless uniform() <= prob; the level magnitude + magnitude_std * N(0, 1)
// (uniform in [0, magnitude] when magnitude_std is infinite), clipped to
// [0, magnitude_max]; for signed ops a coin (uniform() > 0.5 negates); the op's argument by
// timm's _LEVEL_TO_ARG formula (level_to_arg below). The fill colour and bicubic resampling
// are what create_transform passes: fill = round(255 * ImageNet mean) = (124, 116, 104).
// The draws come from detail::Rng, not Python's `random`, so a run is reproducible per seed
// but not draw-for-draw equal to timm's.
//
// sample() and apply() split the draws from the pixels, so tests (and logs) can see what
// was drawn. Not here: the pixel ops themselves (data/image/pil_ops.h, data/image/affine.h).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "data/detail/rng.h"
#include "data/image/affine.h"
#include "data/image/image.h"

namespace cfx::data {

// The ops of timm's two RandAugment lists (NAME_TO_OP keys).
enum class AugOp : uint8_t {
  AutoContrast, Equalize, Invert, Rotate,
  Posterize, PosterizeIncreasing, Solarize, SolarizeIncreasing, SolarizeAdd,
  Color, ColorIncreasing, Contrast, ContrastIncreasing,
  Brightness, BrightnessIncreasing, Sharpness, SharpnessIncreasing,
  ShearX, ShearY, TranslateXRel, TranslateYRel,
};

// timm's name of the op ("ShearX", "SolarizeIncreasing", ...).
std::string_view aug_op_name(AugOp op);
// _RAND_TRANSFORMS (increasing = false) or _RAND_INCREASING_TRANSFORMS, in timm's order.
const std::vector<AugOp>& rand_augment_ops(bool increasing);
// Whether the op's level_to_arg throws timm's _randomly_negate coin.
bool aug_op_is_signed(AugOp op);
// timm's LEVEL_TO_ARG[op](level, hparams) with the coin given (`negate`, ignored by unsigned
// ops); 0 for the ops without an argument (AutoContrast, Equalize, Invert). Posterize and
// Solarize* return whole numbers (bits, threshold), as timm's int() does.
double level_to_arg(AugOp op, double level, bool negate, double translate_pct = 0.45);
// timm's NAME_TO_OP[op](img, arg, fillcolor=fill, resample=BICUBIC); TranslateXRel moves by
// arg * width pixels, TranslateYRel by arg * height. An L image fills with fill[0].
Image apply_aug_op(const Image& img, AugOp op, double arg, const pil::Fill& fill);

struct RandAugmentConfig {
  double magnitude = 10;        // m: level of every op, on the 0..10 scale (_LEVEL_DENOM)
  int64_t num_layers = 2;       // n: ops drawn per image
  double prob = 0.5;            // p: chance that each drawn op is applied
  double magnitude_std = 0;     // mstd: level noise; infinity = uniform in [0, m]
  double magnitude_max = 10;    // mmax: upper clip of the noisy level
  bool increasing = false;      // inc: the *Increasing op list
  double translate_pct = 0.45;  // hparams['translate_pct'] default
  pil::Fill fill = {124, 116, 104};  // hparams['img_mean'] as create_transform sets it

  // timm's rand_augment_transform config string: "rand" then '-'-separated <key><value>
  // sections, keys m, n, p, mstd, mmax, inc (e.g. "rand-m9-mstd0.5-inc1", "rand-n3-p0.8").
  // As in timm: mstd > 100 means infinity, mmax 0 means 10, and any inc value (even inc0)
  // selects the increasing list, since timm tests bool() of the value's string. Unknown
  // keys, sections without a value and malformed numbers throw, naming the section.
  static RandAugmentConfig parse(std::string_view config);
};

// One drawn layer: which op, whether its prob draw passed, and (if so) the level and
// argument it was applied with.
struct AugStep {
  AugOp op = AugOp::AutoContrast;
  bool applied = false;
  double magnitude = 0;  // the noisy, clipped level
  bool negated = false;  // the coin of a signed op
  double arg = 0;        // level_to_arg(op, magnitude, negated)
};

class RandAugment {
 public:
  explicit RandAugment(RandAugmentConfig config = {});
  explicit RandAugment(std::string_view config) : RandAugment(RandAugmentConfig::parse(config)) {}

  // Draws one image's layers (all the randomness of operator()).
  std::vector<AugStep> sample(detail::Rng& rng) const;
  // Applies the applied steps in order.
  Image apply(const Image& img, const std::vector<AugStep>& steps) const;
  Image operator()(const Image& img, detail::Rng& rng) const { return apply(img, sample(rng)); }

  const RandAugmentConfig& config() const { return config_; }
  const std::vector<AugOp>& ops() const { return ops_; }

 private:
  RandAugmentConfig config_;
  std::vector<AugOp> ops_;
};

}  // namespace cfx::data
