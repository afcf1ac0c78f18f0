// timm's Mixup / CutMix in mode 'batch' (timm/data/mixup.py, Mixup._mix_batch), as the
// ImageNet recipe uses it: mixup_alpha 0.8, cutmix_alpha 1.0, prob 1.0, switch_prob 0.5,
// label smoothing 0.1, correct_lam on.
//
//   Mixup mixup({.num_classes = 1000});
//   MixupResult r = mixup(images, labels, rng);  // images [B, C, H, W] mixed in place;
//                                                // r.targets [B, 1000] soft labels
//
// One draw per batch, in timm's order: uniform() < prob (mix at all); with both alphas > 0,
// uniform() < switch_prob picks CutMix; lam ~ Beta(alpha, alpha) of the chosen method. Each
// sample i is mixed with sample B-1-i (the batch flipped):
//   mixup:  x = lam x + (1 - lam) flip(x)   (float32, the weights cast to float as torch does)
//   cutmix: the box (rand_bbox: side sqrt(1 - lam) of H and W, centre uniform, clipped)
//           is copied from flip(x); lam becomes 1 - box area / (H W) (correct_lam).
// lam == 1 (no mixing drawn) leaves x alone. targets = mixup_target(labels, lam, smoothing).
// Like timm, the batch size must be even. The draws come from detail::Rng, so a run is
// reproducible per seed but not equal draw-for-draw to numpy's.
//
// Not here: timm's 'pair' and 'elem' modes, cutmix_minmax, FastCollateMixup.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "data/detail/rng.h"

namespace cfx::data {

// Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 boosts through
// Gamma(shape + 1) * U^(1 / shape).
double sample_gamma(detail::Rng& rng, double shape);
// Beta(a, b) = X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b) (np.random.beta's distribution).
double sample_beta(detail::Rng& rng, double a, double b);

// A half-open box [y0, y1) x [x0, x1) of the image plane.
struct CutmixBox {
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  int64_t area() const { return (y1 - y0) * (x1 - x0); }
  bool operator==(const CutmixBox&) const = default;
};

// timm's rand_bbox(img_shape, lam): cut = int(H sqrt(1 - lam)), int(W sqrt(1 - lam));
// centre cy ~ randint[0, H), then cx ~ randint[0, W); each side +- cut // 2, clipped.
CutmixBox rand_bbox(int64_t height, int64_t width, double lam, detail::Rng& rng);

// timm's mixup_target: lam * onehot(t) + (1 - lam) * onehot(flip(t)) with label smoothing
// (off = smoothing / num_classes, on = 1 - smoothing + off), float32 [B, num_classes].
// `target` is int64 [B] with values in [0, num_classes).
Tensor mixup_target(const Tensor& target, int64_t num_classes, double lam, double smoothing);

struct MixupConfig {
  double mixup_alpha = 0.8;      // mixup active if > 0
  double cutmix_alpha = 1.0;     // cutmix active if > 0
  double prob = 1.0;             // chance to mix a batch at all
  double switch_prob = 0.5;      // chance of cutmix when both are active
  bool correct_lam = true;       // lam from the clipped box's area
  double label_smoothing = 0.1;
  int64_t num_classes = 1000;
  bool enabled = true;           // timm's mixup_enabled (the train loop may turn it off)
};

struct MixupResult {
  Tensor targets;        // float32 [B, num_classes]
  double lam = 1.0;      // weight of each sample's own label (after correct_lam)
  bool cutmix = false;   // CutMix was drawn (else mixup, or nothing when lam == 1)
  CutmixBox box;         // the pasted box when cutmix, else empty
};

class Mixup {
 public:
  explicit Mixup(MixupConfig config = {});
  // x: float32 contiguous CPU [B, C, H, W], B even, mixed in place (no autograd history);
  // target: int64 [B].
  MixupResult operator()(Tensor& x, const Tensor& target, detail::Rng& rng) const;
  const MixupConfig& config() const { return config_; }

 private:
  MixupConfig config_;
};

}  // namespace cfx::data
