// RandAugment's op table: timm's names, its two op lists, LEVEL_TO_ARG and NAME_TO_OP
// (timm/data/auto_augment.py). The level formulas are timm 0.4.x's (the recipe's), plus the
// clamps later timm added for mmax > 10 (solarize <= 256, solarize_add <= 128, increasing
// enhance >= 0.1), which do not change any level in [0, 10].
#include <algorithm>
#include <cmath>

#include "data/image/pil_ops.h"
#include "data/image/rand_augment.h"

namespace cfx::data {

std::string_view aug_op_name(AugOp op) {
  switch (op) {
    case AugOp::AutoContrast: return "AutoContrast";
    case AugOp::Equalize: return "Equalize";
    case AugOp::Invert: return "Invert";
    case AugOp::Rotate: return "Rotate";
    case AugOp::Posterize: return "Posterize";
    case AugOp::PosterizeIncreasing: return "PosterizeIncreasing";
    case AugOp::Solarize: return "Solarize";
    case AugOp::SolarizeIncreasing: return "SolarizeIncreasing";
    case AugOp::SolarizeAdd: return "SolarizeAdd";
    case AugOp::Color: return "Color";
    case AugOp::ColorIncreasing: return "ColorIncreasing";
    case AugOp::Contrast: return "Contrast";
    case AugOp::ContrastIncreasing: return "ContrastIncreasing";
    case AugOp::Brightness: return "Brightness";
    case AugOp::BrightnessIncreasing: return "BrightnessIncreasing";
    case AugOp::Sharpness: return "Sharpness";
    case AugOp::SharpnessIncreasing: return "SharpnessIncreasing";
    case AugOp::ShearX: return "ShearX";
    case AugOp::ShearY: return "ShearY";
    case AugOp::TranslateXRel: return "TranslateXRel";
    case AugOp::TranslateYRel: return "TranslateYRel";
  }
  CFX_FAIL("aug_op_name: unknown AugOp ", static_cast<int>(op));
}

const std::vector<AugOp>& rand_augment_ops(bool increasing) {
  using enum AugOp;
  static const std::vector<AugOp> plain = {
      AutoContrast, Equalize, Invert, Rotate, Posterize, Solarize, SolarizeAdd, Color,
      Contrast, Brightness, Sharpness, ShearX, ShearY, TranslateXRel, TranslateYRel};
  static const std::vector<AugOp> inc = {
      AutoContrast, Equalize, Invert, Rotate, PosterizeIncreasing, SolarizeIncreasing, SolarizeAdd,
      ColorIncreasing, ContrastIncreasing, BrightnessIncreasing, SharpnessIncreasing,
      ShearX, ShearY, TranslateXRel, TranslateYRel};
  return increasing ? inc : plain;
}

bool aug_op_is_signed(AugOp op) {
  switch (op) {
    case AugOp::Rotate:
    case AugOp::ColorIncreasing:
    case AugOp::ContrastIncreasing:
    case AugOp::BrightnessIncreasing:
    case AugOp::SharpnessIncreasing:
    case AugOp::ShearX:
    case AugOp::ShearY:
    case AugOp::TranslateXRel:
    case AugOp::TranslateYRel: return true;
    default: return false;
  }
}

double level_to_arg(AugOp op, double level, bool negate, double translate_pct) {
  constexpr double kDenom = 10.0;  // timm's _LEVEL_DENOM (_MAX_LEVEL in 0.4.x)
  const double sign = negate ? -1.0 : 1.0;
  // Python's int() of a non-negative float: truncation.
  auto trunc = [](double v) { return std::trunc(v); };
  switch (op) {
    case AugOp::AutoContrast:
    case AugOp::Equalize:
    case AugOp::Invert: return 0.0;
    case AugOp::Rotate: return sign * ((level / kDenom) * 30.0);
    case AugOp::Posterize: return trunc((level / kDenom) * 4);
    case AugOp::PosterizeIncreasing: return 4 - trunc((level / kDenom) * 4);
    case AugOp::Solarize: return std::min(256.0, trunc((level / kDenom) * 256));
    case AugOp::SolarizeIncreasing: return 256 - std::min(256.0, trunc((level / kDenom) * 256));
    case AugOp::SolarizeAdd: return std::min(128.0, trunc((level / kDenom) * 110));
    case AugOp::Color:
    case AugOp::Contrast:
    case AugOp::Brightness:
    case AugOp::Sharpness: return (level / kDenom) * 1.8 + 0.1;
    case AugOp::ColorIncreasing:
    case AugOp::ContrastIncreasing:
    case AugOp::BrightnessIncreasing:
    case AugOp::SharpnessIncreasing: {
      // timm >= 0.6 clamps to >= 0.1 for mmax > 10; 0.4.x (the recipe's) did not, which
      // differs at level 10 exactly (1 - 0.9 = 0.09999999999999998), so clamp only above 10.
      const double v = 1.0 + sign * ((level / kDenom) * 0.9);
      return level > kDenom ? std::max(0.1, v) : v;
    }
    case AugOp::ShearX:
    case AugOp::ShearY: return sign * ((level / kDenom) * 0.3);
    case AugOp::TranslateXRel:
    case AugOp::TranslateYRel: return sign * ((level / kDenom) * translate_pct);
  }
  CFX_FAIL("level_to_arg: unknown AugOp ", static_cast<int>(op));
}

Image apply_aug_op(const Image& img, AugOp op, double arg, const pil::Fill& fill) {
  const auto whole = [&](const char* what) {
    CFX_CHECK(arg == std::trunc(arg) && std::abs(arg) < 1e6, "apply_aug_op: ", aug_op_name(op),
              " expects a whole-number ", what, ", got ", arg);
    return static_cast<int>(arg);
  };
  switch (op) {
    case AugOp::AutoContrast: return pil::autocontrast(img);
    case AugOp::Equalize: return pil::equalize(img);
    case AugOp::Invert: return pil::invert(img);
    case AugOp::Rotate: return pil::rotate(img, arg, fill);
    case AugOp::Posterize:
    case AugOp::PosterizeIncreasing: return pil::posterize(img, whole("bit count"));
    case AugOp::Solarize:
    case AugOp::SolarizeIncreasing: return pil::solarize(img, whole("threshold"));
    case AugOp::SolarizeAdd: return pil::solarize_add(img, whole("addend"));
    case AugOp::Color:
    case AugOp::ColorIncreasing: return pil::color(img, arg);
    case AugOp::Contrast:
    case AugOp::ContrastIncreasing: return pil::contrast(img, arg);
    case AugOp::Brightness:
    case AugOp::BrightnessIncreasing: return pil::brightness(img, arg);
    case AugOp::Sharpness:
    case AugOp::SharpnessIncreasing: return pil::sharpness(img, arg);
    case AugOp::ShearX: return pil::shear_x(img, arg, fill);
    case AugOp::ShearY: return pil::shear_y(img, arg, fill);
    // timm's translate_x_rel: pixels = pct * img.size[0] (the width)
    case AugOp::TranslateXRel: return pil::translate_x(img, arg * static_cast<double>(img.width), fill);
    case AugOp::TranslateYRel: return pil::translate_y(img, arg * static_cast<double>(img.height), fill);
  }
  CFX_FAIL("apply_aug_op: unknown AugOp ", static_cast<int>(op));
}

}  // namespace cfx::data
