// Row helpers of the fused CPU Flow-Attention kernels (ops/cpu/flow_attention_cpu.cpp and
// ops/cpu/flow_attention_causal_cpu.cpp, the full forward and backward;
// ops/cpu/flow_attention_step_cpu.cpp, the recurrent step): dots, axpys and the feature maps
// over one row of D or M numbers. One header so that the step and the full forward round
// alike (the same sigmoid, the same summation order), which is what lets the step reproduce
// the full causal forward to 1e-12 in float64.
#pragma once

#ifndef CFX_CPU_CAPABILITY
#error "ops/cpu/ is compiled once per CPU capability; CMakeLists.txt defines CFX_CPU_CAPABILITY"
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "ops/cpu/flow_attention_cpu.h"  // FlowKernelConfig
#include "ops/cpu/vec_math.h"           // exp_neg_fast, sigmoid

namespace cfx::cpu::CFX_CPU_CAPABILITY::flow_rows {

// Row helpers. Inner loops run over fixed blocks of one 512-bit register of T, so GCC
// vectorises them at -O2 too (whose cost model refuses loops that need a scalar epilogue).
// Like every ops/cpu/ file they are compiled once per CPU capability (core/cpu_capability.h); the
// AVX-512 copy runs the non-BLAS part ~2x faster than SSE. Selects are written as bit masks, never as
// `cond ? a : b` over arrays: GCC 12.2 miscompiled one such select at -O3 with AVX2
// (see feature_map_grad).

template <class T>
constexpr int64_t kLanes = 64 / sizeof(T);

// f(d) may only touch index d of its arrays (ivdep: no dependence between lanes).
template <class T, class F>
inline void for_lanes(int64_t n, F&& f) {
  int64_t d = 0;
  for (; d + kLanes<T> <= n; d += kLanes<T>)
#pragma GCC ivdep
    for (int64_t t = 0; t < kLanes<T>; ++t) f(d + t);
  for (; d < n; ++d) f(d);
}

template <class T>
inline T dot(const T* __restrict x, const T* __restrict y, int64_t n) {
  T acc[kLanes<T>] = {};
  int64_t d = 0;
  for (; d + kLanes<T> <= n; d += kLanes<T>)
    for (int64_t t = 0; t < kLanes<T>; ++t) acc[t] += x[d + t] * y[d + t];
  T s = 0;
  for (; d < n; ++d) s += x[d] * y[d];
  for (int64_t t = 0; t < kLanes<T>; ++t) s += acc[t];
  return s;
}

// (x+eps).(y+eps) + after: every normaliser of 0.2/0.3 adds eps to each component of both
// sides; the CV variant adds after = eps to the dot as well (FlowKernelConfig::dot_offset).
template <class T>
inline T dot_eps(const T* __restrict x, const T* __restrict y, int64_t n, T eps, T after) {
  T acc[kLanes<T>] = {};
  int64_t d = 0;
  for (; d + kLanes<T> <= n; d += kLanes<T>)
    for (int64_t t = 0; t < kLanes<T>; ++t) acc[t] += (x[d + t] + eps) * (y[d + t] + eps);
  T s = 0;
  for (; d < n; ++d) s += (x[d] + eps) * (y[d] + eps);
  for (int64_t t = 0; t < kLanes<T>; ++t) s += acc[t];
  return s + after;
}

// y += alpha * (x + shift)
template <class T>
inline void axpy(T alpha, const T* __restrict x, T* __restrict y, int64_t n, T shift = 0) {
  for_lanes<T>(n, [=](int64_t d) { y[d] += alpha * (x[d] + shift); });
}

template <class T>
inline void scale_into(T alpha, const T* __restrict x, T* __restrict y, int64_t n) {
  for_lanes<T>(n, [=](int64_t d) { y[d] = alpha * x[d]; });
}

template <class T>
inline void scale(T alpha, T* __restrict x, int64_t n) {
  for_lanes<T>(n, [=](int64_t d) { x[d] *= alpha; });
}

// ---------------------------------------------------------------------------------------
// Feature maps (0.1). Clamping and selecting go through the integer bit pattern: GCC does
// not if-convert float compares under the default -ftrapping-math, which would keep these
// loops scalar, and they dominate the non-BLAS time.

template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;

// exp_neg_fast and sigmoid live in vec_math.h beside the pointwise kernels' tanh.
using vec_math::exp_neg_fast;
using vec_math::sigmoid;

template <class T>
inline void feature_map(FlowKernelConfig::FeatureMap fm, const T* __restrict x, T* __restrict out, int64_t n) {
  if (fm == FlowKernelConfig::FeatureMap::Sigmoid) {
    for_lanes<T>(n, [=](int64_t d) { out[d] = sigmoid(x[d]); });
  } else {  // relu(x) + 1e-6; the sign mask zeroes negatives (and -0)
    constexpr int kSignShift = 8 * sizeof(T) - 1;
    for_lanes<T>(n, [=](int64_t d) {
      const Bits<T> b = std::bit_cast<Bits<T>>(x[d]);
      out[d] = std::bit_cast<T>(b & ~(b >> kSignShift)) + T(1e-6);
    });
  }
}

// out = g * phi'(x), given fx = phi(x). relu'(0) = 0 (jax convention, 0.7.6).
template <class T>
inline void feature_map_grad(FlowKernelConfig::FeatureMap fm, const T* __restrict x, const T* __restrict fx,
                             const T* __restrict g, T* __restrict out, int64_t n) {
  if (fm == FlowKernelConfig::FeatureMap::Sigmoid) {
    for_lanes<T>(n, [=](int64_t d) { out[d] = g[d] * fx[d] * (T(1) - fx[d]); });
  } else {
    // As integers, x > +0 exactly when its bit pattern is positive. The select is written as
    // a bit mask on purpose, like the forward: g is always loaded and the branchless and
    // leaves the compiler nothing to if-convert. The ternary `x > 0 ? g : 0` was miscompiled
    // by GCC 12.2 at -O3 with AVX2 (x86-64-v3): the loop became masked loads (vmaskmovpd) of
    // g and the second load of each 8-lane block reused the first half's mask, so outputs came
    // out wrong (zeros, or garbage bits when the register held something else).
    for_lanes<T>(n, [=](int64_t d) {
      const Bits<T> keep = -static_cast<Bits<T>>(std::bit_cast<Bits<T>>(x[d]) > 0);  // all ones or 0
      out[d] = std::bit_cast<T>(std::bit_cast<Bits<T>>(g[d]) & keep);
    });
  }
}

// The conserved source's clamp (0.3), and where its gradient passes: at the inclusive bounds,
// as torch.clamp's (0.7.2).
template <class T>
T clamp_source(const FlowKernelConfig& c, T o_hat) {
  return c.has_clamp ? std::clamp(o_hat, T(-c.clamp), T(c.clamp)) : o_hat;
}
template <class T>
bool clamp_passes(const FlowKernelConfig& c, T o_hat) {
  return !c.has_clamp || (o_hat >= T(-c.clamp) && o_hat <= T(c.clamp));
}

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY::flow_rows
