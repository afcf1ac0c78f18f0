// The float32 pointwise math of ops/cpu/vec_math.h (tanh, and through it GELU's tanh form and
// its backward), through the ops that use it, against float64 libm: a sweep of
// float bit patterns over the whole range plus the special values. ctest runs this suite once
// per CPU capability, so every ISA copy of the kernels is held to the same bound.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/cpu_capability.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "testing.h"

using namespace cfx;

namespace {

// Every `stride`-th float bit pattern, positive and negative, plus the values where the
// formulas switch or saturate. NaNs are left out (checked on their own).
std::vector<float> sweep(uint32_t stride) {
  std::vector<float> v;
  for (uint64_t b = 0; b < 0x7f800000u; b += stride) {
    v.push_back(std::bit_cast<float>(static_cast<uint32_t>(b)));
    v.push_back(-std::bit_cast<float>(static_cast<uint32_t>(b)));
  }
  for (float x : {0.0f, -0.0f, 0.625f, std::nextafter(0.625f, 0.0f), 9.0f, 9.01f, 87.0f, 88.0f, 1e-30f,
                  std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::infinity()}) {
    v.push_back(x);
    v.push_back(-x);
  }
  return v;
}

Tensor from(const std::vector<float>& v) { return tensor(v, {static_cast<int64_t>(v.size())}); }

// Distance in representable floats between a and the float nearest to the exact value r.
double ulp_error(float a, double r) {
  const float rf = static_cast<float>(r);
  if (a == rf) return 0;
  auto ordered = [](float f) {
    const int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  return static_cast<double>(std::llabs(ordered(a) - ordered(rf)));
}

struct Worst {
  double ulp = 0;
  float at = 0;
};

template <class Ref>
Worst worst_ulp(const Tensor& out, const std::vector<float>& x, Ref ref) {
  Worst w;
  const float* y = out.data_ptr<float>();
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = ulp_error(y[i], ref(static_cast<double>(x[i])));
    if (e > w.ulp) w = {e, x[i]};
  }
  return w;
}

}  // namespace

TEST_CASE("vec_math tanh (float32) is within 2 ulp of libm over the whole range") {
  const std::vector<float> x = sweep(4093);  // ~2.1M values, a prime stride hits every exponent
  const Tensor t = from(x);
  const Worst tanh_w = worst_ulp(tanh(t), x, [](double v) { return std::tanh(v); });
  MESSAGE(std::string(cpu_capability_name(cpu_capability())), ": ", x.size(), " inputs; tanh max ", tanh_w.ulp,
          " ulp at ", tanh_w.at);
  CHECK(tanh_w.ulp <= 2);
}

TEST_CASE("vec_math tanh special values: NaN stays NaN, Inf saturates, -0 stays -0") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor t = from({nan, -nan, inf, -inf, 0.0f, -0.0f});
  const Tensor th = tanh(t);
  const float* a = th.data_ptr<float>();
  CHECK(std::isnan(a[0]));
  CHECK(std::isnan(a[1]));
  CHECK(a[2] == 1.0f);
  CHECK(a[3] == -1.0f);
  CHECK((a[4] == 0.0f && !std::signbit(a[4])));
  CHECK((a[5] == 0.0f && std::signbit(a[5])));
}

TEST_CASE("GELU (tanh form) forward and backward in float32 match float64 to the conditioning of 1 + tanh") {
  // GELU's 1 + tanh cancels for negative x, so the bound is absolute in |x|, as for any float
  // implementation: 4 float32 ulps of tanh, times |x| / 2 for the forward.
  std::vector<float> xs;
  for (int i = -200000; i <= 200000; ++i) xs.push_back(static_cast<float>(i) * 5e-5f);  // [-10, 10]
  for (float v : {30.0f, -30.0f, 1e4f, -1e4f}) xs.push_back(v);
  const Tensor x32 = from(xs).requires_grad_();
  const Tensor x64 = x32.detach().to(kFloat64).requires_grad_();
  const Tensor y32 = gelu(x32, "tanh"), y64 = gelu(x64, "tanh");
  sum(y32).backward();
  sum(y64).backward();
  const float *a = y32.data_ptr<float>(), *ga = x32.grad().data_ptr<float>();
  const double *b = y64.data_ptr<double>(), *gb = x64.grad().data_ptr<double>();
  double worst_fwd = 0, worst_bwd = 0;
  int64_t not_finite = 0;  // std::max would skip a NaN silently
  for (size_t i = 0; i < xs.size(); ++i) {
    not_finite += !std::isfinite(a[i]) || !std::isfinite(ga[i]);
    const double scale = 4 * 6e-8 * (0.5 * std::abs(static_cast<double>(xs[i])) + 1);
    worst_fwd = std::max(worst_fwd, std::abs(a[i] - b[i]) / scale);
    // the derivative carries x (1 - t^2) terms: one more factor of |x| + 1
    worst_bwd = std::max(worst_bwd, std::abs(ga[i] - gb[i]) / (scale * (std::abs(static_cast<double>(xs[i])) + 1)));
  }
  MESSAGE(std::string(cpu_capability_name(cpu_capability())), ": GELU tanh float32 vs float64, worst error / bound: forward ",
          worst_fwd, ", backward ", worst_bwd);
  CHECK(not_finite == 0);
  CHECK(worst_fwd <= 1);
  CHECK(worst_bwd <= 1);
}
