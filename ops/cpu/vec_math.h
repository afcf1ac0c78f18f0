// Vectorisable float32 math for the pointwise kernels: straight-line code (polynomials, bit
// masks, no calls, no branches) that GCC turns into SIMD inside a plain loop, where a call to
// libm's tanhf / expm1f stays scalar (they were 14% of an LRA training step: issue 16).
//
// tanh's accuracy, against float64 libm over a sweep of float bit patterns and the special values
// (tests/ops/test_vec_math.cpp, under each CPU capability; it prints the max ulp error): NaN
// stays NaN, +-Inf goes to +-1, -0 stays -0. float64 keeps libm:
// its users are the gradchecks, where the last bit matters more than speed.
#pragma once

#ifndef CFX_CPU_CAPABILITY
#error "ops/cpu/ is compiled once per CPU capability; CMakeLists.txt defines CFX_CPU_CAPABILITY"
#endif

#include <bit>
#include <cmath>
#include <cstdint>


namespace cfx::cpu::CFX_CPU_CAPABILITY::vec_math {

inline float exp_neg_fast(float a) {  // exp(-a) for a in [0, 87], ~1 ulp (Cephes expf)
  const float shift = 12582912.0f;    // 1.5 * 2^23: adding it rounds to an integer
  float t = a * -1.44269504088896341f + shift;
  const int32_t n = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(shift);
  t -= shift;
  float r = -a - t * 0.693359375f;
  r = r - t * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * std::bit_cast<float>((n + 127) << 23);
}

// sigmoid(x) = 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) below: exp(-|x|) never
// overflows. For the Flow-Attention kernels' competition and allocation (flow_rows.h), where
// |x| is clamped to 87: below -87 it returns sigmoid(-87) = 1.6e-38, not the subnormal or 0
// libm gives, so the sigmoid op itself keeps libm's exp.
inline float sigmoid(float x) {
  const int32_t bits = std::bit_cast<int32_t>(x);
  const int32_t abs_bits = bits & 0x7fffffff;
  const int32_t a = abs_bits < 0x42ae0000 ? abs_bits : 0x42ae0000;  // min(|x|, 87)
  const float e = exp_neg_fast(std::bit_cast<float>(a));            // exp(-|x|) never overflows
  const int32_t neg = bits >> 31;                                   // all ones when x < 0
  const float num = std::bit_cast<float>((std::bit_cast<int32_t>(1.0f) & ~neg) |
                                         (std::bit_cast<int32_t>(e) & neg));
  const int32_t out = std::bit_cast<int32_t>(num / (1.0f + e));
  const int32_t nan = -static_cast<int32_t>(abs_bits > 0x7f800000);  // all ones for NaN
  return std::bit_cast<float>((bits & nan) | (out & ~nan));          // NaN stays NaN
}
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// tanh(x). |x| < 0.625: Cephes' odd polynomial x + x^3 P(x^2). Otherwise (1 - e) / (1 + e)
// with e = exp(-2|x|) <= 0.29, which has no cancellation; |x| is clamped to 9 first (tanh is
// 1 in float32 beyond ~9.01), so exp_neg_fast's argument stays in its [0, 87] range and Inf
// maps to 1. Both halves are computed for every lane and picked by a bit mask (a float
// `cond ? a : b` is neither if-converted under -ftrapping-math nor trusted: GCC 12.2
// miscompiled one such select at -O3 with AVX2, ../shared/MACHINE-PERF.md).
inline float tanh(float x) {
  const int32_t bits = std::bit_cast<int32_t>(x);
  const int32_t abs_bits = bits & 0x7fffffff;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;  // has the sign of x (the sign is OR-ed in below, for -0)

  constexpr int32_t kNine = 0x41100000;  // 9.0f
  const int32_t clamped = abs_bits < kNine ? abs_bits : kNine;
  const float e = exp_neg_fast(2.0f * std::bit_cast<float>(clamped));
  const float large_abs = (1.0f - e) / (1.0f + e);
  const int32_t large = std::bit_cast<int32_t>(large_abs);

  const int32_t use_small = -static_cast<int32_t>(abs_bits < 0x3f200000);  // |x| < 0.625f
  const int32_t out = ((std::bit_cast<int32_t>(small) & use_small) | (large & ~use_small)) |
                      (bits & static_cast<int32_t>(0x80000000u));
  const int32_t nan = -static_cast<int32_t>(abs_bits > 0x7f800000);
  return std::bit_cast<float>((bits & nan) | (out & ~nan));  // NaN stays NaN
}
inline double tanh(double x) { return std::tanh(x); }

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY::vec_math
