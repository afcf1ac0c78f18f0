// Mixup / CutMix in timm's 'batch' mode, and the Beta draw it needs. See mixup.h.
#include "data/image/mixup.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/creation.h"

// torch mixes with separate float multiplies and an add (mul_, mul_, add_); a fused a*b+c
// (GCC contracts by default in C++, e.g. under -march=native) would change the last bit.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace cfx::data {

double sample_gamma(detail::Rng& rng, double shape) {
  CFX_CHECK(shape > 0 && std::isfinite(shape), "sample_gamma: shape must be positive and finite, got ", shape);
  if (shape < 1.0) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a) (Marsaglia and Tsang, section 6).
    const double g = sample_gamma(rng, shape + 1.0);
    return g * std::pow(rng.uniform(), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng.normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng.uniform();
    if (u < 1.0 - 0.0331 * (x * x) * (x * x)) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double sample_beta(detail::Rng& rng, double a, double b) {
  CFX_CHECK(a > 0 && b > 0, "sample_beta: expected a, b > 0, got ", a, " and ", b);
  for (;;) {
    const double x = sample_gamma(rng, a), y = sample_gamma(rng, b);
    // Both can underflow to 0 for tiny shapes; draw again rather than return 0/0.
    if (x + y > 0) return x / (x + y);
  }
}

CutmixBox rand_bbox(int64_t height, int64_t width, double lam, detail::Rng& rng) {
  CFX_CHECK(height > 0 && width > 0, "rand_bbox: expected a non-empty image, got ", height, " x ", width);
  CFX_CHECK(lam >= 0 && lam <= 1, "rand_bbox: lam must lie in [0, 1], got ", lam);
  const double ratio = std::sqrt(1.0 - lam);
  const auto cut_h = static_cast<int64_t>(static_cast<double>(height) * ratio);
  const auto cut_w = static_cast<int64_t>(static_cast<double>(width) * ratio);
  const int64_t cy = rng.randint(0, height - 1);  // np.random.randint(0, img_h)
  const int64_t cx = rng.randint(0, width - 1);
  auto clip = [](int64_t v, int64_t hi) { return std::clamp<int64_t>(v, 0, hi); };
  return {clip(cy - cut_h / 2, height), clip(cy + cut_h / 2, height), clip(cx - cut_w / 2, width),
          clip(cx + cut_w / 2, width)};
}

Tensor mixup_target(const Tensor& target, int64_t num_classes, double lam, double smoothing) {
  CFX_CHECK(target.dtype() == kInt64 && target.dim() == 1, "mixup_target: expected int64 targets [B], got ",
            target.dtype(), " ", shape_str(target.shape()));
  CFX_CHECK(num_classes > 0, "mixup_target: num_classes must be positive, got ", num_classes);
  const std::vector<int64_t> t = to_vector<int64_t>(target);
  const auto batch = static_cast<int64_t>(t.size());
  for (int64_t i = 0; i < batch; ++i)
    CFX_CHECK(t[static_cast<size_t>(i)] >= 0 && t[static_cast<size_t>(i)] < num_classes, "mixup_target: target[",
              i, "] = ", t[static_cast<size_t>(i)], " is outside [0, ", num_classes, ")");
  // torch: full(off).scatter_(on) in float32, then y1 * lam + y2 * (1 - lam) with the Python
  // scalars cast to float.
  const auto off = static_cast<float>(smoothing / static_cast<double>(num_classes));
  const auto on = static_cast<float>(1.0 - smoothing + smoothing / static_cast<double>(num_classes));
  const auto w1 = static_cast<float>(lam), w2 = static_cast<float>(1.0 - lam);
  const float both = on * w1 + on * w2, own = on * w1 + off * w2, other = off * w1 + on * w2,
              none = off * w1 + off * w2;
  Tensor y = empty({batch, num_classes});
  float* p = y.data_ptr<float>();
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t a = t[static_cast<size_t>(i)], b = t[static_cast<size_t>(batch - 1 - i)];
    float* row = p + i * num_classes;
    std::fill(row, row + num_classes, none);
    if (a == b) {
      row[a] = both;
    } else {
      row[a] = own;
      row[b] = other;
    }
  }
  return y;
}

Mixup::Mixup(MixupConfig config) : config_(config) {
  const MixupConfig& c = config_;
  CFX_CHECK(c.mixup_alpha > 0 || c.cutmix_alpha > 0, "Mixup: one of mixup_alpha > 0, cutmix_alpha > 0 must hold, got ",
            c.mixup_alpha, " and ", c.cutmix_alpha);
  CFX_CHECK(c.prob >= 0 && c.prob <= 1 && c.switch_prob >= 0 && c.switch_prob <= 1,
            "Mixup: prob and switch_prob must lie in [0, 1], got ", c.prob, " and ", c.switch_prob);
  CFX_CHECK(c.num_classes > 0, "Mixup: num_classes must be positive, got ", c.num_classes);
}

MixupResult Mixup::operator()(Tensor& x, const Tensor& target, detail::Rng& rng) const {
  const MixupConfig& c = config_;
  CFX_CHECK(x.dim() == 4 && x.dtype() == kFloat32 && x.is_contiguous() && x.device().is_cpu(),
            "Mixup: expected a contiguous float32 CPU batch [B, C, H, W], got ", x.dtype(), " ", shape_str(x.shape()),
            " on ", x.device().str(), x.is_contiguous() ? "" : " (not contiguous)");
  CFX_CHECK(!x.requires_grad(), "Mixup: mixes in place, so the batch must not require grad");
  const int64_t batch = x.size(0), chw = x.size(1) * x.size(2) * x.size(3);
  CFX_CHECK(target.dim() == 1 && target.size(0) == batch, "Mixup: expected targets [", batch, "], got ",
            shape_str(target.shape()));
  CFX_CHECK(batch % 2 == 0, "Mixup: batch size should be even when using this (timm's check), got ", batch);

  // _params_per_batch, draws in timm's order.
  MixupResult r;
  double lam = 1.0;
  if (c.enabled && rng.uniform() < c.prob) {
    if (c.mixup_alpha > 0 && c.cutmix_alpha > 0) {
      r.cutmix = rng.uniform() < c.switch_prob;
      lam = r.cutmix ? sample_beta(rng, c.cutmix_alpha, c.cutmix_alpha) : sample_beta(rng, c.mixup_alpha, c.mixup_alpha);
    } else if (c.mixup_alpha > 0) {
      lam = sample_beta(rng, c.mixup_alpha, c.mixup_alpha);
    } else {
      r.cutmix = true;
      lam = sample_beta(rng, c.cutmix_alpha, c.cutmix_alpha);
    }
  }

  // _mix_batch: sample i takes from sample j = B-1-i; pairs are done together so each
  // reads the other's original values.
  float* data = x.data_ptr<float>();
  if (lam == 1.0) {
    r.cutmix = false;
  } else if (r.cutmix) {
    const int64_t h = x.size(2), w = x.size(3), planes = x.size(1);
    r.box = rand_bbox(h, w, lam, rng);
    if (c.correct_lam) lam = 1.0 - static_cast<double>(r.box.area()) / static_cast<double>(h * w);
    for (int64_t i = 0; i < batch / 2; ++i) {
      float* a = data + i * chw;
      float* b = data + (batch - 1 - i) * chw;
      for (int64_t p = 0; p < planes; ++p)
        for (int64_t yy = r.box.y0; yy < r.box.y1; ++yy)
          std::swap_ranges(a + (p * h + yy) * w + r.box.x0, a + (p * h + yy) * w + r.box.x1,
                           b + (p * h + yy) * w + r.box.x0);
    }
  } else {
    // x_flipped = x.flip(0).mul_(1 - lam); x.mul_(lam).add_(x_flipped), in float32.
    const auto w1 = static_cast<float>(lam), w2 = static_cast<float>(1.0 - lam);
    for (int64_t i = 0; i < batch / 2; ++i) {
      float* a = data + i * chw;
      float* b = data + (batch - 1 - i) * chw;
      for (int64_t k = 0; k < chw; ++k) {
        const float va = a[k], vb = b[k];
        a[k] = va * w1 + vb * w2;
        b[k] = vb * w1 + va * w2;
      }
    }
  }
  r.lam = lam;
  r.targets = mixup_target(target, c.num_classes, lam, c.label_smoothing);
  return r;
}

}  // namespace cfx::data
