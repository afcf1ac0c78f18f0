// Mixup / CutMix (timm's Mixup, mode 'batch'): the Beta draw's moments, mixup_target's soft
// labels, mixup's pixel blend with the flipped batch, cutmix's box (copied from the flipped
// sample, rest untouched, lam = kept fraction), the switch between them, timm's even-batch
// rule and the other errors, seeded determinism.
#include <cmath>

#include "data/detail/rng.h"
#include "data/image/mixup.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;

namespace {

Tensor batch_of(int64_t b, int64_t c, int64_t h, int64_t w) {
  Generator gen(99);
  return rand({b, c, h, w}, {}, &gen);
}

float at(const std::vector<float>& v, int64_t c, int64_t h, int64_t w, int64_t i, int64_t ch, int64_t y, int64_t x) {
  return v[static_cast<size_t>(((i * c + ch) * h + y) * w + x)];
}

}  // namespace

TEST_CASE("mixup: sample_beta has the mean and variance of Beta(a, b)") {
  Generator gen(5);
  data::detail::Rng rng(gen);
  for (auto [a, b] : {std::pair{0.8, 0.8}, std::pair{1.0, 1.0}, std::pair{2.0, 5.0}, std::pair{0.3, 1.7}}) {
    INFO("Beta(", a, ", ", b, ")");
    const int n = 40000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      const double v = sample_beta(rng, a, b);
      REQUIRE(v >= 0.0);
      REQUIRE(v <= 1.0);
      sum += v, sum_sq += v * v;
    }
    const double mean = a / (a + b), var = a * b / ((a + b) * (a + b) * (a + b + 1));
    const double m = sum / n, s2 = sum_sq / n - m * m;
    CHECK(std::abs(m - mean) < 5 * std::sqrt(var / n));
    CHECK(std::abs(s2 - var) < 0.05 * var);
  }
  check_error([&] { sample_beta(rng, 0.0, 1.0); }, {"sample_beta", "a, b > 0"});
  check_error([&] { sample_gamma(rng, -1.0); }, {"sample_gamma", "positive"});
}

TEST_CASE("mixup: mixup_target is lam * smoothed onehot + (1 - lam) * smoothed onehot of the flipped batch") {
  // off = 0.1 / 5 = 0.02, on = 0.92; flipped targets: 3, 1, 1, 0.
  const Tensor y = mixup_target(tensor(std::vector<int64_t>{0, 1, 1, 3}, {4}), 5, 0.7, 0.1);
  REQUIRE(y.shape() == Shape{4, 5});
  CHECK(y.dtype() == kFloat32);
  const std::vector<float> want = {0.65f, 0.02f, 0.02f, 0.29f, 0.02f,   // 0.92*0.7 + 0.02*0.3, ...
                                   0.02f, 0.92f, 0.02f, 0.02f, 0.02f,   // own == flipped
                                   0.02f, 0.92f, 0.02f, 0.02f, 0.02f,
                                   0.29f, 0.02f, 0.02f, 0.65f, 0.02f};
  const auto got = to_vector<float>(y);
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
  for (int64_t r = 0; r < 4; ++r) CHECK(to_vector<float>(y.select(0, r).sum())[0] == doctest::Approx(1.0).epsilon(1e-6));
  // lam = 1, no smoothing: plain one-hot.
  const auto hard = to_vector<float>(mixup_target(tensor(std::vector<int64_t>{2, 0}, {2}), 3, 1.0, 0.0));
  CHECK(hard == std::vector<float>{0, 0, 1, 1, 0, 0});
  check_error([] { mixup_target(tensor(std::vector<int64_t>{0, 5}, {2}), 5, 1.0, 0.1); },
              {"target[1] = 5", "outside [0, 5)"});
}

TEST_CASE("mixup: mixup mode blends each sample with the flipped batch, in float32") {
  Tensor x = batch_of(4, 3, 5, 6);
  const auto orig = to_vector<float>(x);
  Generator gen(1);
  data::detail::Rng rng(gen);
  const Mixup mix({.mixup_alpha = 0.8, .cutmix_alpha = 0.0, .num_classes = 10});
  const MixupResult r = mix(x, tensor(std::vector<int64_t>{1, 2, 3, 4}, {4}), rng);
  CHECK_FALSE(r.cutmix);
  CHECK(r.box.area() == 0);
  REQUIRE(r.lam > 0.0);
  REQUIRE(r.lam < 1.0);
  const auto got = to_vector<float>(x);
  const float w1 = static_cast<float>(r.lam), w2 = static_cast<float>(1.0 - r.lam);
  const size_t chw = 3 * 5 * 6;
  for (size_t i = 0; i < 4; ++i)
    for (size_t k = 0; k < chw; ++k) {
      const float want = orig[i * chw + k] * w1 + orig[(3 - i) * chw + k] * w2;
      REQUIRE(got[i * chw + k] == want);
    }
  // targets: row 0 mixes class 1 (lam) with class 4 (1 - lam).
  const auto t = to_vector<float>(r.targets);
  CHECK(t[1] == doctest::Approx(r.lam * 0.91 + (1 - r.lam) * 0.01).epsilon(1e-6));
  CHECK(t[4] == doctest::Approx(r.lam * 0.01 + (1 - r.lam) * 0.91).epsilon(1e-6));
}

TEST_CASE("mixup: cutmix pastes the box from the flipped sample, leaves the rest, and lam is the kept fraction") {
  const int64_t B = 6, C = 2, H = 16, W = 12;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    INFO("seed ", seed);
    Tensor x = batch_of(B, C, H, W);
    const auto orig = to_vector<float>(x);
    Generator gen(seed);
    data::detail::Rng rng(gen);
    const Mixup mix({.mixup_alpha = 0.0, .cutmix_alpha = 1.0, .num_classes = 7});
    const MixupResult r = mix(x, tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 5}, {B}), rng);
    REQUIRE(r.cutmix);
    const CutmixBox& b = r.box;
    CHECK(0 <= b.y0);
    CHECK(b.y0 <= b.y1);
    CHECK(b.y1 <= H);
    CHECK(0 <= b.x0);
    CHECK(b.x0 <= b.x1);
    CHECK(b.x1 <= W);
    CHECK(r.lam == 1.0 - static_cast<double>(b.area()) / static_cast<double>(H * W));
    const auto got = to_vector<float>(x);
    for (int64_t i = 0; i < B; ++i)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t xx = 0; xx < W; ++xx) {
            const bool inside = y >= b.y0 && y < b.y1 && xx >= b.x0 && xx < b.x1;
            const float want = at(orig, C, H, W, inside ? B - 1 - i : i, c, y, xx);
            REQUIRE(at(got, C, H, W, i, c, y, xx) == want);
          }
    // Replaying the draws (mix prob, beta, box) gives the same box.
    Generator gen2(seed);
    data::detail::Rng replay(gen2);
    CHECK(replay.uniform() < 1.0);
    const double lam0 = sample_beta(replay, 1.0, 1.0);
    CHECK(rand_bbox(H, W, lam0, replay) == b);
    for (int64_t row = 0; row < B; ++row)
      CHECK(to_vector<float>(r.targets.select(0, row).sum())[0] == doctest::Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("mixup: rand_bbox has side int(sqrt(1 - lam) * size), +- half around a uniform centre, clipped") {
  Generator gen(3);
  data::detail::Rng rng(gen);
  bool clipped = false, full = false;
  for (int i = 0; i < 500; ++i) {
    const CutmixBox b = rand_bbox(8, 10, 0.75, rng);  // cut 4 x 5 -> half-sides 2 and 2
    CHECK(b.y1 - b.y0 <= 4);
    CHECK(b.x1 - b.x0 <= 4);
    clipped |= b.y0 == 0 || b.x1 == 10;
    full |= b.y1 - b.y0 == 4 && b.x1 - b.x0 == 4;
  }
  CHECK(clipped);
  CHECK(full);
  CHECK(rand_bbox(8, 10, 1.0, rng).area() == 0);
}

TEST_CASE("mixup: the recipe's config switches to cutmix about half the time; prob 0 only smooths labels") {
  Generator gen(17);
  data::detail::Rng rng(gen);
  const Mixup mix({.num_classes = 3});  // 0.8 / 1.0, prob 1, switch 0.5, smoothing 0.1
  int cutmix = 0, n = 2000;
  double mixup_lam_sum = 0;
  for (int i = 0; i < n; ++i) {
    Tensor x = zeros({2, 1, 4, 4});
    const MixupResult r = mix(x, tensor(std::vector<int64_t>{0, 1}, {2}), rng);
    cutmix += r.cutmix;
    if (!r.cutmix) mixup_lam_sum += r.lam;  // cutmix's lam is the (clipped) box's
  }
  CHECK(std::abs(cutmix - n / 2) < 5 * std::sqrt(n * 0.25));
  CHECK(std::abs(mixup_lam_sum / (n - cutmix) - 0.5) < 0.05);  // Beta(0.8, 0.8) has mean 0.5

  const Mixup never({.prob = 0.0, .num_classes = 4});
  Tensor x = batch_of(2, 1, 3, 3);
  const auto before = to_vector<float>(x);
  const MixupResult r = never(x, tensor(std::vector<int64_t>{3, 0}, {2}), rng);
  CHECK(r.lam == 1.0);
  CHECK_FALSE(r.cutmix);
  CHECK(to_vector<float>(x) == before);
  const auto t = to_vector<float>(r.targets);
  CHECK(t[3] == doctest::Approx(0.925));
  CHECK(t[0] == doctest::Approx(0.025));
}

TEST_CASE("mixup: an odd batch, a wrong dtype or shape and bad configs throw") {
  Generator gen(0);
  data::detail::Rng rng(gen);
  const Mixup mix({.num_classes = 5});
  Tensor odd = zeros({3, 1, 2, 2});
  check_error([&] { mix(odd, tensor(std::vector<int64_t>{0, 1, 2}, {3}), rng); }, {"batch size should be even", "3"});
  Tensor f64 = zeros({2, 1, 2, 2}, {.dtype = kFloat64});
  check_error([&] { mix(f64, tensor(std::vector<int64_t>{0, 1}, {2}), rng); }, {"contiguous float32 CPU batch"});
  Tensor flat = zeros({2, 4});
  check_error([&] { mix(flat, tensor(std::vector<int64_t>{0, 1}, {2}), rng); }, {"[B, C, H, W]"});
  Tensor ok = zeros({2, 1, 2, 2});
  check_error([&] { mix(ok, tensor(std::vector<int64_t>{0, 1, 2}, {3}), rng); }, {"expected targets [2]"});
  check_error([] { Mixup({.mixup_alpha = 0, .cutmix_alpha = 0}); }, {"mixup_alpha > 0"});
}

TEST_CASE("mixup: a seed fixes lam, the switch, the box and the pixels") {
  auto run = [](uint64_t seed) {
    Generator gen(seed);
    data::detail::Rng rng(gen);
    const Mixup mix({.num_classes = 10});
    std::vector<std::vector<float>> out;
    std::vector<double> lams;
    for (int i = 0; i < 6; ++i) {
      Tensor x = batch_of(4, 3, 8, 8);
      const MixupResult r = mix(x, tensor(std::vector<int64_t>{0, 1, 2, 3}, {4}), rng);
      out.push_back(to_vector<float>(x));
      lams.push_back(r.lam);
    }
    return std::pair{out, lams};
  };
  const auto a = run(21), b = run(21), c = run(22);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.second != c.second);
}
