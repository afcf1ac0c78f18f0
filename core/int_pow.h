// Integer x^y, exact: pow of integer tensors on every backend (ops/cpu/pointwise_cpu.cpp,
// cuda/pointwise.cu). Going through double pow loses bits above 2^53 and truncates results
// like 5^3 = 124.99999... to 124 wherever a libm (host or device) is off by one ulp.
// Semantics as torch.pow on integer tensors: products wrap around on overflow; a negative
// exponent gives 1 for base 1, +-1 for base -1, and 0 otherwise (1/x truncated).
#pragma once

#include <type_traits>

#include "core/host_device.h"

namespace cfx {

template <class T>
CFX_HOST_DEVICE constexpr T int_pow(T base, T exponent) {
  static_assert(std::is_integral_v<T>);
  if constexpr (std::is_same_v<T, bool>) {
    return base || !exponent;  // x^0 = 1, x^1 = x
  } else {
    using U = std::make_unsigned_t<T>;
    if constexpr (std::is_signed_v<T>) {
      if (exponent < 0) return base == 1 ? T(1) : base == -1 ? ((exponent & 1) ? T(-1) : T(1)) : T(0);
    }
    U result = 1, b = static_cast<U>(base), e = static_cast<U>(exponent);
    while (e) {  // square and multiply, in unsigned arithmetic so that overflow wraps
      if (e & 1u) result = static_cast<U>(result * b);
      b = static_cast<U>(b * b);
      e >>= 1;
    }
    return static_cast<T>(result);
  }
}

}  // namespace cfx
