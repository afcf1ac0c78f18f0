// torch.nn.init equivalents, written through copy_ under NoGradGuard.
#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/creation.h"
#include "ops/elementwise.h"

namespace cfx::nn::init {

Tensor uniform_(Tensor t, double lo, double hi, Generator* gen) {
  NoGradGuard no_grad;
  t.copy_(rand(t.shape(), {t.dtype(), t.device()}, gen) * (hi - lo) + lo);
  return t;
}

Tensor normal_(Tensor t, double mean, double std, Generator* gen) {
  NoGradGuard no_grad;
  t.copy_(randn(t.shape(), {t.dtype(), t.device()}, gen) * std + mean);
  return t;
}

Tensor trunc_normal_(Tensor t, double std, double mean, double a, double b, Generator* gen) {
  CFX_CHECK(a < b && a <= mean && mean <= b, "trunc_normal_: expected a <= mean <= b, got a=", a, " mean=", mean,
            " b=", b);
  NoGradGuard no_grad;
  // Redraw out-of-range samples; with the usual std=0.02, [-2, 2] this loop runs once.
  std::vector<double> v = to_vector<double>(randn(t.shape(), {kFloat64}, gen) * std + mean);
  for (double& x : v) {
    while (x < a || x > b) x = randn({}, {kFloat64}, gen).item<double>() * std + mean;
  }
  t.copy_(tensor(v, t.shape()).to(t.dtype()).to(t.device()));
  return t;
}

Tensor constant_(Tensor t, double value) {
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}
Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

std::pair<int64_t, int64_t> fans(const Tensor& w) {
  CFX_CHECK(w.dim() >= 2, "init: fan in/out needs a weight with at least 2 dims, got shape ", w.shape());
  int64_t receptive = 1;
  for (int64_t d = 2; d < w.dim(); ++d) receptive *= w.size(d);
  return {w.size(1) * receptive, w.size(0) * receptive};
}

Tensor xavier_uniform_(Tensor t, double gain, Generator* gen) {
  const auto [fan_in, fan_out] = fans(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(std::move(t), -bound, bound, gen);
}

Tensor kaiming_uniform_default_(Tensor t, Generator* gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fans(t).first));
  return uniform_(std::move(t), -bound, bound, gen);
}

}  // namespace cfx::nn::init
