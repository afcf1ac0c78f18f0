// RandAugment: every pixel op against Pillow 9.4's output (tests/data/reference/randaug_pil.bin,
// written by make_randaug_reference.py), timm 0.4.12's AugmentOp on fixed draws, the
// level -> argument formulas, the config string, and the draws (uniform op choice, prob,
// magnitude noise, negation, seeded determinism).
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "data/detail/rng.h"
#include "data/image/affine.h"
#include "data/image/pil_ops.h"
#include "data/image/rand_augment.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;

namespace {

struct RefRecord {
  std::string name, op;
  double arg = 0, level = -1;
  bool negated = false;
  Image image;
};

std::vector<RefRecord> load_reference() {
  const std::string path = std::string(CONFLUX_SOURCE_DIR) + "/tests/data/reference/randaug_pil.bin";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open ", path);
  std::vector<RefRecord> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream header(line);
    RefRecord r;
    int64_t h = 0, w = 0, c = 0;
    int negated = 0;
    header >> r.name >> r.op >> r.arg >> h >> w >> c >> r.level >> negated;
    REQUIRE_MESSAGE(!header.fail(), "bad record header '", line, "' in ", path);
    r.negated = negated != 0;
    r.image = Image(h, w, c);
    in.read(reinterpret_cast<char*>(r.image.pixels.data()), static_cast<std::streamsize>(r.image.pixels.size()));
    REQUIRE_MESSAGE(in.good(), "truncated record ", r.name, " in ", path);
    out.push_back(std::move(r));
  }
  REQUIRE(out.size() > 3);
  return out;
}

const pil::Fill kFillRgb = {124, 116, 104};
constexpr uint8_t kFillL = 117;  // L24 luma of kFillRgb, as the generator computes it

// The Pillow call a reference record names (make_randaug_reference.py's apply()).
Image apply_pil(const std::string& op, const Image& img, double arg) {
  const pil::Fill fill = img.channels == 3 ? kFillRgb : pil::Fill{kFillL, kFillL, kFillL};
  const int iarg = static_cast<int>(arg);
  if (op == "autocontrast") return pil::autocontrast(img);
  if (op == "equalize") return pil::equalize(img);
  if (op == "invert") return pil::invert(img);
  if (op == "posterize") return pil::posterize(img, iarg);
  if (op == "solarize") return pil::solarize(img, iarg);
  if (op == "solarize_add") return pil::solarize_add(img, iarg);
  if (op == "color") return pil::color(img, arg);
  if (op == "contrast") return pil::contrast(img, arg);
  if (op == "brightness") return pil::brightness(img, arg);
  if (op == "sharpness") return pil::sharpness(img, arg);
  if (op == "rotate") return pil::rotate(img, arg, fill);
  if (op == "shear_x") return pil::shear_x(img, arg, fill);
  if (op == "shear_y") return pil::shear_y(img, arg, fill);
  if (op == "translate_x_rel") return pil::translate_x(img, arg * static_cast<double>(img.width), fill);
  if (op == "translate_y_rel") return pil::translate_y(img, arg * static_cast<double>(img.height), fill);
  FAIL("unknown op in the reference file: ", op);
  return img;
}

int max_diff(const Image& a, const Image& b) {
  REQUIRE(a.height == b.height);
  REQUIRE(a.width == b.width);
  REQUIRE(a.channels == b.channels);
  int m = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return m;
}

AugOp op_by_name(const std::string& name) {
  for (bool inc : {false, true})
    for (AugOp op : rand_augment_ops(inc))
      if (aug_op_name(op) == name) return op;
  FAIL("no AugOp named ", name);
  return AugOp::AutoContrast;
}

}  // namespace

TEST_CASE("randaug: every Pillow op matches Pillow 9.4 exactly on the reference images") {
  const auto refs = load_reference();
  std::map<int64_t, const Image*> inputs;  // by channels * 1000 + width: the three inputs
  std::map<std::string, int> worst;        // per op
  int cases = 0;
  for (const auto& r : refs) {
    if (r.op == "input") {
      inputs[r.image.channels * 1000 + r.image.width] = &r.image;
      continue;
    }
    if (r.level >= 0) continue;  // timm records: the next test
    const Image* in = inputs.at(r.image.channels * 1000 + r.image.width);
    const int d = max_diff(apply_pil(r.op, *in, r.arg), r.image);
    CHECK_MESSAGE(d == 0, r.name, ": max |ours - Pillow| = ", d);
    worst[r.op] = std::max(worst[r.op], d);
    ++cases;
  }
  CHECK(cases >= 50);
  CHECK(worst.size() == 15);  // every op of the 15 has at least one case
}

TEST_CASE("randaug: apply_aug_op equals timm 0.4.12's AugmentOp on fixed draws (inc1 list, m9, mstd 0.5)") {
  const auto refs = load_reference();
  const Image* small = nullptr;
  int cases = 0;
  for (const auto& r : refs) {
    if (r.name == "input_rgb_small") small = &r.image;
    if (r.level < 0) continue;
    REQUIRE(small != nullptr);
    const AugOp op = op_by_name(r.op);
    INFO(r.name);
    // The level argument timm computed, bit for bit.
    CHECK(level_to_arg(op, r.level, r.negated) == r.arg);
    RandAugment ra(RandAugmentConfig::parse("rand-m9-mstd0.5-inc1"));
    const AugStep step{.op = op, .applied = true, .magnitude = r.level, .negated = r.negated,
                       .arg = level_to_arg(op, r.level, r.negated)};
    CHECK(max_diff(ra.apply(*small, {step}), r.image) == 0);
    ++cases;
  }
  CHECK(cases == 17);
}

TEST_CASE("randaug: level_to_arg follows timm's _LEVEL_TO_ARG formulas") {
  // Values printed by timm 0.4.12's LEVEL_TO_ARG functions (repr of the Python floats).
  struct Case { AugOp op; double level; bool negate; double want; };
  const Case cases[] = {
      {AugOp::Rotate, 9.0, false, 27.0},
      {AugOp::Rotate, 9.0, true, -27.0},
      {AugOp::Rotate, 3.3, false, 9.899999999999999},
      {AugOp::Rotate, 9.37, true, -28.11},
      {AugOp::Rotate, 10.0, false, 30.0},
      {AugOp::PosterizeIncreasing, 0.0, false, 4},
      {AugOp::PosterizeIncreasing, 3.3, false, 3},
      {AugOp::PosterizeIncreasing, 9.0, false, 1},
      {AugOp::PosterizeIncreasing, 10.0, false, 0},
      {AugOp::SolarizeIncreasing, 0.0, false, 256},
      {AugOp::SolarizeIncreasing, 3.3, false, 172},
      {AugOp::SolarizeIncreasing, 9.0, false, 26},
      {AugOp::SolarizeIncreasing, 9.37, false, 17},
      {AugOp::SolarizeIncreasing, 10.0, false, 0},
      {AugOp::SolarizeAdd, 3.3, false, 36},
      {AugOp::SolarizeAdd, 9.0, false, 99},
      {AugOp::SolarizeAdd, 9.37, false, 103},
      {AugOp::SolarizeAdd, 10.0, false, 110},
      {AugOp::ColorIncreasing, 0.0, true, 1.0},
      {AugOp::ColorIncreasing, 3.3, false, 1.297},
      {AugOp::ContrastIncreasing, 3.3, true, 0.7030000000000001},
      {AugOp::BrightnessIncreasing, 9.0, false, 1.81},
      {AugOp::SharpnessIncreasing, 9.0, true, 0.18999999999999995},
      {AugOp::SharpnessIncreasing, 9.37, true, 0.15670000000000006},
      {AugOp::ColorIncreasing, 10.0, true, 0.09999999999999998},  // 0.4.x: no clamp at 10
      {AugOp::ShearX, 3.3, false, 0.09899999999999999},
      {AugOp::ShearY, 9.0, true, -0.27},
      {AugOp::ShearX, 9.37, false, 0.28109999999999996},
      {AugOp::TranslateXRel, 3.3, false, 0.1485},
      {AugOp::TranslateYRel, 9.0, true, -0.405},
      {AugOp::TranslateXRel, 9.37, false, 0.42164999999999997},
      {AugOp::TranslateYRel, 10.0, false, 0.45},
      {AugOp::Posterize, 3.3, false, 1},
      {AugOp::Posterize, 9.0, false, 3},
      {AugOp::Solarize, 9.0, false, 230},
      {AugOp::Solarize, 9.37, false, 239},
      {AugOp::Color, 9.0, false, 1.7200000000000002},
      {AugOp::Sharpness, 10.0, false, 1.9000000000000001},
      {AugOp::AutoContrast, 9.0, true, 0.0},
  };
  for (const Case& c : cases) {
    INFO(aug_op_name(c.op), " level ", c.level, " negate ", c.negate);
    CHECK(level_to_arg(c.op, c.level, c.negate) == c.want);
  }
  // Unsigned ops ignore the coin; past level 10 (mmax) the later timm clamps apply.
  CHECK(level_to_arg(AugOp::SolarizeAdd, 9.0, true) == 99);
  CHECK(level_to_arg(AugOp::SolarizeAdd, 20.0, false) == 128);
  CHECK(level_to_arg(AugOp::Solarize, 20.0, false) == 256);
  CHECK(level_to_arg(AugOp::ColorIncreasing, 20.0, true) == 0.1);
  CHECK(level_to_arg(AugOp::TranslateXRel, 9.0, false, 0.3) == doctest::Approx(0.27).epsilon(1e-15));
  CHECK(aug_op_is_signed(AugOp::Rotate));
  CHECK_FALSE(aug_op_is_signed(AugOp::SolarizeIncreasing));
}

TEST_CASE("randaug: the config string parses as timm's rand_augment_transform and rejects the rest") {
  const RandAugmentConfig c = RandAugmentConfig::parse("rand-m9-mstd0.5-inc1");
  CHECK(c.magnitude == 9);
  CHECK(c.num_layers == 2);
  CHECK(c.prob == 0.5);
  CHECK(c.magnitude_std == 0.5);
  CHECK(c.magnitude_max == 10);
  CHECK(c.increasing);
  CHECK(c.translate_pct == 0.45);
  CHECK(c.fill == pil::Fill{124, 116, 104});
  const RandAugment ra(c);
  REQUIRE(ra.ops().size() == 15);
  CHECK(ra.ops()[4] == AugOp::PosterizeIncreasing);
  CHECK(ra.ops()[14] == AugOp::TranslateYRel);

  const RandAugmentConfig d = RandAugmentConfig::parse("rand-n3-m7-p0.8-mstd101-mmax0");
  CHECK(d.num_layers == 3);
  CHECK(d.magnitude == 7);
  CHECK(d.prob == 0.8);
  CHECK(std::isinf(d.magnitude_std));  // > 100: uniform sampling
  CHECK(d.magnitude_max == 10);        // `magnitude_max or 10`
  CHECK_FALSE(d.increasing);
  CHECK(RandAugment(d).ops()[4] == AugOp::Posterize);
  CHECK(RandAugmentConfig::parse("rand").magnitude == 10);
  CHECK(RandAugmentConfig::parse("rand-inc0").increasing);  // timm: bool("0") is True

  check_error([] { RandAugmentConfig::parse("augmix-m5"); }, {"starting with 'rand'", "augmix-m5"});
  check_error([] { RandAugmentConfig::parse("rand-x5"); }, {"unknown key 'x'", "rand-x5"});
  check_error([] { RandAugmentConfig::parse("rand-w0"); }, {"unknown key 'w'", "not supported"});
  check_error([] { RandAugmentConfig::parse("rand-m9.5"); }, {"'m' expects an integer", "9.5"});
  check_error([] { RandAugmentConfig::parse("rand-m9-mstd"); }, {"section 'mstd'", "<key><number>"});
  check_error([] { RandAugmentConfig::parse("rand-p1.5"); }, {"'p' must lie in [0, 1]"});
}

TEST_CASE("randaug: ops are drawn uniformly with replacement, applied with prob 0.5, negated half the time") {
  Generator gen(7);
  data::detail::Rng rng(gen);
  const RandAugment ra("rand-m9-inc1");  // mstd 0: fixed level 9
  std::map<AugOp, int> count;
  int applied = 0, signed_applied = 0, negated = 0, total = 0;
  for (int i = 0; i < 15000; ++i) {
    const auto steps = ra.sample(rng);
    REQUIRE(steps.size() == 2);
    for (const AugStep& s : steps) {
      ++count[s.op];
      ++total;
      if (!s.applied) continue;
      ++applied;
      CHECK(s.magnitude == 9.0);
      CHECK(s.arg == level_to_arg(s.op, 9.0, s.negated));
      if (aug_op_is_signed(s.op)) ++signed_applied, negated += s.negated;
      else CHECK_FALSE(s.negated);
    }
  }
  REQUIRE(count.size() == 15);
  const double expect = total / 15.0, sigma = std::sqrt(total * (1.0 / 15) * (14.0 / 15));
  for (const auto& [op, n] : count) {
    INFO(aug_op_name(op));
    CHECK(std::abs(n - expect) < 5 * sigma);
  }
  CHECK(std::abs(applied - total * 0.5) < 5 * std::sqrt(total * 0.25));
  CHECK(std::abs(negated - signed_applied * 0.5) < 5 * std::sqrt(signed_applied * 0.25));
}

TEST_CASE("randaug: mstd 0.5 draws the level from N(9, 0.5) clipped to [0, 10]; infinite mstd is uniform") {
  Generator gen(11);
  data::detail::Rng rng(gen);
  const RandAugment ra(RandAugmentConfig{.magnitude = 9, .num_layers = 1, .prob = 1.0, .magnitude_std = 0.5});
  double sum = 0, sum_sq = 0;
  int at_max = 0, n = 20000;
  for (int i = 0; i < n; ++i) {
    const AugStep s = ra.sample(rng)[0];
    REQUIRE(s.applied);  // prob 1: no draw, always applied
    CHECK(s.magnitude <= 10.0);
    CHECK(s.magnitude >= 0.0);
    at_max += s.magnitude == 10.0;
    sum += s.magnitude, sum_sq += s.magnitude * s.magnitude;
  }
  // P(N(9, 0.5) > 10) = 0.02275; the clipped mean is 9 - 0.5 * 0.0085 = 8.9958.
  CHECK(std::abs(at_max / double(n) - 0.02275) < 0.005);
  const double mean = sum / n;
  CHECK(std::abs(mean - 8.9958) < 0.02);
  CHECK(std::abs(std::sqrt(sum_sq / n - mean * mean) - 0.49) < 0.02);

  const RandAugment uni(RandAugmentConfig::parse("rand-m8-n1-p1-mstd200"));
  double lo = 10, hi = 0, usum = 0;
  for (int i = 0; i < 5000; ++i) {
    const double m = uni.sample(rng)[0].magnitude;
    lo = std::min(lo, m), hi = std::max(hi, m), usum += m;
  }
  CHECK(lo >= 0.0);
  CHECK(hi < 8.0);
  CHECK(std::abs(usum / 5000 - 4.0) < 0.15);
}

TEST_CASE("randaug: a seed fixes the draws and the image; another seed changes them") {
  const auto refs = load_reference();
  const Image& img = refs[0].image;
  const RandAugment ra("rand-m9-mstd0.5-inc1");
  auto run = [&](uint64_t seed) {
    Generator gen(seed);
    data::detail::Rng rng(gen);
    std::vector<Image> outs;
    for (int i = 0; i < 8; ++i) outs.push_back(ra(img, rng));
    return outs;
  };
  const auto a = run(3), b = run(3), c = run(4);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].pixels == b[i].pixels);
    differ += a[i].pixels != c[i].pixels;
  }
  CHECK(differ > 0);
}

TEST_CASE("randaug: an L image is augmented with the fill's luma; bad arguments throw") {
  const auto refs = load_reference();
  const Image& grey = refs[1].image;
  REQUIRE(grey.channels == 1);
  const RandAugment ra("rand-m9-inc1");
  const AugStep rot{.op = AugOp::Rotate, .applied = true, .magnitude = 9, .arg = 27.0};
  const Image out = ra.apply(grey, {rot});
  CHECK(out.channels == 1);
  CHECK(out.at(0, 0, 0) == kFillL);  // the corner rotates out of the image
  CHECK(ra.apply(grey, {AugStep{.op = AugOp::Rotate, .applied = false, .arg = 27.0}}).pixels == grey.pixels);
  check_error([&] { apply_aug_op(grey, AugOp::SolarizeIncreasing, 26.5, kFillRgb); },
              {"SolarizeIncreasing", "whole-number threshold", "26.5"});
  check_error([] { RandAugment(RandAugmentConfig{.num_layers = -1}); }, {"num_layers must be >= 0"});
}
