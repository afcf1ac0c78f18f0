// The one strided N-d loop every CPU pointwise kernel uses.
//
// Given a shape and, for each of N operands, its strides (element strides, 0 for a
// broadcast dim), StridedLoop coalesces dims that are contiguous for all operands and calls
//   inner(ptrs, steps, n)
// on runs of the innermost dim, in parallel over the flattened index space: ptrs[k] points
// at operand k's first element of the run, steps[k] is its element stride along the run.
// An inner loop that checks `steps[k] == 1` lets the compiler vectorise the dense case.
#pragma once

#ifndef CFX_CPU_CAPABILITY
#error "ops/cpu/ is compiled once per CPU capability; CMakeLists.txt defines CFX_CPU_CAPABILITY"
#endif

#include <array>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "core/tensor.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)

// Strides of `t` broadcast to `shape` (right-aligned; 0 where t has size 1 or no dim).
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape out(shape.size(), 0);
  const int64_t lead = static_cast<int64_t>(shape.size()) - t.dim();
  for (int64_t i = 0; i < t.dim(); ++i)
    out[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return out;
}

// Elements per parallel chunk: below this, threading costs more than it saves.
inline constexpr int64_t kPointwiseGrain = 32768;

template <size_t N>
struct StridedLoop {
  Shape sizes;                          // coalesced shape
  std::array<Shape, N> strides;         // coalesced strides per operand

  StridedLoop(const Shape& shape, const std::array<Shape, N>& operand_strides) {
    // Drop size-1 dims, then merge dim i into i+1 when every operand steps over it evenly.
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1) continue;
      const bool merge = !sizes.empty() && [&] {
        for (size_t k = 0; k < N; ++k)
          if (strides[k].back() != operand_strides[k][d] * shape[d]) return false;
        return true;
      }();
      if (merge) {
        sizes.back() *= shape[d];
        for (size_t k = 0; k < N; ++k) strides[k].back() = operand_strides[k][d];
      } else {
        sizes.push_back(shape[d]);
        for (size_t k = 0; k < N; ++k) strides[k].push_back(operand_strides[k][d]);
      }
    }
    if (sizes.empty()) {  // a scalar (or all size-1) iteration space
      sizes.push_back(1);
      for (size_t k = 0; k < N; ++k) strides[k].push_back(0);
    }
  }

  // T: std::array<char*, N> base pointers; elem_sizes: bytes per element of each operand.
  template <class Inner>
  void run(const std::array<char*, N>& base, const std::array<int64_t, N>& elem_sizes, Inner&& inner,
           int64_t grain = kPointwiseGrain) const {
    const int64_t nd = static_cast<int64_t>(sizes.size());
    const int64_t inner_n = sizes.back();
    const int64_t total = numel(sizes);
    std::array<int64_t, N> steps;
    for (size_t k = 0; k < N; ++k) steps[k] = strides[k].back();
    parallel_for(0, total, grain, [&](int64_t lo, int64_t hi) {
      // Multi-index of `lo` over all dims.
      std::vector<int64_t> idx(nd, 0);
      int64_t rem = lo;
      for (int64_t d = nd - 1; d >= 0; --d) {
        idx[d] = rem % sizes[d];
        rem /= sizes[d];
      }
      int64_t pos = lo;
      while (pos < hi) {
        std::array<char*, N> ptrs;
        for (size_t k = 0; k < N; ++k) {
          int64_t off = 0;
          for (int64_t d = 0; d < nd; ++d) off += idx[d] * strides[k][d];
          ptrs[k] = base[k] + off * elem_sizes[k];
        }
        const int64_t n = std::min(inner_n - idx[nd - 1], hi - pos);
        inner(ptrs, steps, n);
        pos += n;
        idx[nd - 1] += n;
        for (int64_t d = nd - 1; d > 0 && idx[d] == sizes[d]; --d) {
          idx[d] = 0;
          ++idx[d - 1];
        }
      }
    });
  }
};

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
