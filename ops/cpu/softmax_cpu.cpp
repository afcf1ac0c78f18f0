// CPU kernels for ops along one dim (core/kernels.h): softmax / log_softmax, their backward,
// and cumsum. Not here: the autograd wiring (ops/softmax.cpp).
//
// Every kernel views its tensors as "rows": one row per index of the other dims, n = size
// along `dim`. Inputs may have any strides; `out` is dense. Rows are independent, so we
// parallelise over them. A row with unit stride (dim is innermost and dense) takes a
// separate instantiation so its loops vectorise. Sums of float32 run in double (cheap here:
// one accumulator per row).
//
// When dim is not innermost, one row's elements lie `inner` apart, and walking rows one by
// one touches a new cache line per element (~5x slower measured). If every operand is dense we
// instead take a tile of kTile neighbouring rows [outer o, k = 0..n, j0..j0+w) at a time:
// the loops over j are contiguous and vectorise. Both paths run the same formulas.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/loops.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

// Storage offset (relative to element 0) of the first element of each row of `t` along dim.
class RowLayout {
 public:
  RowLayout(const Tensor& t, int64_t dim) {
    for (int64_t d = 0; d < t.dim(); ++d) {
      if (d == dim) continue;
      sizes_.push_back(t.shape()[d]);
      strides_.push_back(t.strides()[d]);
    }
  }
  int64_t offset(int64_t row) const {
    int64_t off = 0;
    for (int64_t d = static_cast<int64_t>(sizes_.size()) - 1; d >= 0; --d) {
      off += (row % sizes_[d]) * strides_[d];
      row /= sizes_[d];
    }
    return off;
  }

 private:
  Shape sizes_, strides_;
};

// Calls row_fn(first_element_offsets..., unit) for every row, in parallel. `unit` is true
// when every operand steps by 1 along dim, so the callee can pick its unit-stride version.
template <class RowFn>
void for_each_row(const std::vector<const Tensor*>& ts, int64_t dim, RowFn&& row_fn) {
  const Tensor& ref = *ts[0];
  const int64_t n = ref.shape()[dim];
  if (ref.numel() == 0) return;  // also guards the division below when n == 0
  const int64_t rows = ref.numel() / n;
  std::vector<RowLayout> layouts;
  bool unit = true;
  for (const Tensor* t : ts) {
    layouts.emplace_back(*t, dim);
    unit = unit && (t->strides()[dim] == 1 || n == 1);
  }
  const int64_t grain = std::max<int64_t>(1, kPointwiseGrain / n);
  parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> offs(layouts.size());
    for (int64_t r = lo; r < hi; ++r) {
      for (size_t k = 0; k < layouts.size(); ++k) offs[k] = layouts[k].offset(r);
      row_fn(offs, unit);
    }
  });
}

// Rows that are neighbours in memory, processed together (see the header comment).
inline constexpr int64_t kTile = 64;

// When every operand is dense and dim is not innermost, calls tile_fn(offset, w, inner) on
// tiles of w <= kTile rows: element (k, j) of the tile is at offset + k * inner + j. Returns
// false (nothing done) otherwise.
template <class TileFn>
bool for_each_tile(const std::vector<const Tensor*>& ts, int64_t dim, TileFn&& tile_fn) {
  const Tensor& ref = *ts[0];
  if (ref.numel() == 0 || dim == ref.dim() - 1) return false;
  for (const Tensor* t : ts)
    if (!t->is_contiguous()) return false;
  const int64_t n = ref.shape()[dim];
  int64_t inner = 1;
  for (int64_t d = dim + 1; d < ref.dim(); ++d) inner *= ref.shape()[d];
  if (inner == 1) return false;
  const int64_t outer = ref.numel() / (n * inner), tiles_per_outer = (inner + kTile - 1) / kTile;
  const int64_t grain = std::max<int64_t>(1, kPointwiseGrain / (n * kTile));
  parallel_for(0, outer * tiles_per_outer, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t o = t / tiles_per_outer, j0 = (t % tiles_per_outer) * kTile;
      tile_fn(o * n * inner + j0, std::min(kTile, inner - j0), inner);
    }
  });
  return true;
}

// ---- softmax ------------------------------------------------------------------------------
// y_k = exp(x_k - m) / sum_j exp(x_j - m), m = max_j x_j (subtracting m avoids overflow);
// log variant: y_k = (x_k - m) - log(sum_j exp(x_j - m)).

template <class T, bool Unit>
void softmax_row(const T* x, int64_t sx_, T* y, int64_t sy_, int64_t n, bool log) {
  const int64_t sx = Unit ? 1 : sx_, sy = Unit ? 1 : sy_;
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < n; ++k) m = std::max(m, x[k * sx]);
  Acc<T> s = 0;
  if (!log) {
    for (int64_t k = 0; k < n; ++k) {
      const T e = std::exp(x[k * sx] - m);
      y[k * sy] = e;
      s += e;
    }
    const T inv = static_cast<T>(1.0 / s);
    for (int64_t k = 0; k < n; ++k) y[k * sy] *= inv;
  } else {
    for (int64_t k = 0; k < n; ++k) s += std::exp(x[k * sx] - m);
    const T log_s = static_cast<T>(std::log(s));
    for (int64_t k = 0; k < n; ++k) y[k * sy] = (x[k * sx] - m) - log_s;
  }
}

// The same as softmax_row, for w rows at once: element (k, j) at [k * ld + j].
template <class T>
void softmax_tile(const T* x, T* y, int64_t n, int64_t ld, int64_t w, bool log) {
  T m[kTile];
  Acc<T> s[kTile];
  std::fill(m, m + w, -std::numeric_limits<T>::infinity());
  std::fill(s, s + w, Acc<T>(0));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < w; ++j) m[j] = std::max(m[j], x[k * ld + j]);
  if (!log) {
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) {
        const T e = std::exp(x[k * ld + j] - m[j]);
        y[k * ld + j] = e;
        s[j] += e;
      }
    T inv[kTile];
    for (int64_t j = 0; j < w; ++j) inv[j] = static_cast<T>(1.0 / s[j]);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) y[k * ld + j] *= inv[j];
  } else {
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) s[j] += std::exp(x[k * ld + j] - m[j]);
    T log_s[kTile];
    for (int64_t j = 0; j < w; ++j) log_s[j] = static_cast<T>(std::log(s[j]));
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) y[k * ld + j] = (x[k * ld + j] - m[j]) - log_s[j];
  }
}

void softmax_cpu(const Tensor& x, int64_t dim, bool log, Tensor& out) {
  visit_floating(x.dtype(), log ? "log_softmax" : "softmax", [&]<class T>() {
    const T* xb = x.data_ptr<T>();
    T* ob = out.data_ptr<T>();
    const int64_t n = x.shape()[dim], sx = x.strides()[dim], so = out.strides()[dim];
    if (for_each_tile({&x, &out}, dim, [&](int64_t off, int64_t w, int64_t ld) {
          softmax_tile<T>(xb + off, ob + off, n, ld, w, log);
        }))
      return;
    for_each_row({&x, &out}, dim, [&](const std::vector<int64_t>& off, bool unit) {
      if (unit) softmax_row<T, true>(xb + off[0], 1, ob + off[1], 1, n, log);
      else softmax_row<T, false>(xb + off[0], sx, ob + off[1], so, n, log);
    });
  });
}

// softmax:     gx_k = y_k (g_k - sum_j g_j y_j)
// log_softmax: gx_k = g_k - exp(y_k) sum_j g_j     (exp(y) is the softmax)
template <class T, bool Unit>
void softmax_backward_row(const T* y, int64_t sy_, const T* g, int64_t sg_, T* gx, int64_t so_, int64_t n,
                          bool log) {
  const int64_t sy = Unit ? 1 : sy_, sg = Unit ? 1 : sg_, so = Unit ? 1 : so_;
  Acc<T> s = 0;
  if (!log) {
    for (int64_t k = 0; k < n; ++k) s += static_cast<Acc<T>>(g[k * sg]) * y[k * sy];
    const T dot = static_cast<T>(s);
    for (int64_t k = 0; k < n; ++k) gx[k * so] = y[k * sy] * (g[k * sg] - dot);
  } else {
    for (int64_t k = 0; k < n; ++k) s += g[k * sg];
    const T gsum = static_cast<T>(s);
    for (int64_t k = 0; k < n; ++k) gx[k * so] = g[k * sg] - std::exp(y[k * sy]) * gsum;
  }
}

template <class T>
void softmax_backward_tile(const T* y, const T* g, T* gx, int64_t n, int64_t ld, int64_t w, bool log) {
  Acc<T> s[kTile];
  std::fill(s, s + w, Acc<T>(0));
  T r[kTile];
  if (!log) {
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) s[j] += static_cast<Acc<T>>(g[k * ld + j]) * y[k * ld + j];
    for (int64_t j = 0; j < w; ++j) r[j] = static_cast<T>(s[j]);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) gx[k * ld + j] = y[k * ld + j] * (g[k * ld + j] - r[j]);
  } else {
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) s[j] += g[k * ld + j];
    for (int64_t j = 0; j < w; ++j) r[j] = static_cast<T>(s[j]);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) gx[k * ld + j] = g[k * ld + j] - std::exp(y[k * ld + j]) * r[j];
  }
}

void softmax_backward_cpu(const Tensor& y, const Tensor& grad, int64_t dim, bool log, Tensor& out) {
  visit_floating(y.dtype(), log ? "log_softmax backward" : "softmax backward", [&]<class T>() {
    const T *yb = y.data_ptr<T>(), *gb = grad.data_ptr<T>();
    T* ob = out.data_ptr<T>();
    const int64_t n = y.shape()[dim], sy = y.strides()[dim], sg = grad.strides()[dim], so = out.strides()[dim];
    if (for_each_tile({&y, &grad, &out}, dim, [&](int64_t off, int64_t w, int64_t ld) {
          softmax_backward_tile<T>(yb + off, gb + off, ob + off, n, ld, w, log);
        }))
      return;
    for_each_row({&y, &grad, &out}, dim, [&](const std::vector<int64_t>& off, bool unit) {
      if (unit) softmax_backward_row<T, true>(yb + off[0], 1, gb + off[1], 1, ob + off[2], 1, n, log);
      else softmax_backward_row<T, false>(yb + off[0], sy, gb + off[1], sg, ob + off[2], so, n, log);
    });
  });
}

// ---- cumsum -------------------------------------------------------------------------------
// y_k = sum_{j <= k} x_j, with the running sum of float32 kept in double so the error does
// not grow with the row length.

template <class T, bool Unit>
void cumsum_row(const T* x, int64_t sx_, T* y, int64_t sy_, int64_t n) {
  const int64_t sx = Unit ? 1 : sx_, sy = Unit ? 1 : sy_;
  Acc<T> s = 0;
  for (int64_t k = 0; k < n; ++k) {
    s += x[k * sx];
    y[k * sy] = static_cast<T>(s);
  }
}

template <class T>
void cumsum_tile(const T* x, T* y, int64_t n, int64_t ld, int64_t w) {
  Acc<T> s[kTile];
  std::fill(s, s + w, Acc<T>(0));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < w; ++j) {
      s[j] += x[k * ld + j];
      y[k * ld + j] = static_cast<T>(s[j]);
    }
}

void cumsum_cpu(const Tensor& x, int64_t dim, Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, uint8_t>) {
      CFX_FAIL("cumsum: the kernel takes float, int32 or int64 input, got ", x.dtype(), " (the op converts)");
    } else {
      const T* xb = x.data_ptr<T>();
      T* ob = out.data_ptr<T>();
      const int64_t n = x.shape()[dim], sx = x.strides()[dim], so = out.strides()[dim];
      if (for_each_tile({&x, &out}, dim, [&](int64_t off, int64_t w, int64_t ld) {
            cumsum_tile<T>(xb + off, ob + off, n, ld, w);
          }))
        return;
      for_each_row({&x, &out}, dim, [&](const std::vector<int64_t>& off, bool unit) {
        if (unit) cumsum_row<T, true>(xb + off[0], 1, ob + off[1], 1, n);
        else cumsum_row<T, false>(xb + off[0], sx, ob + off[1], so, n);
      });
    }
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(softmax_kernel, softmax_cpu);
CFX_REGISTER_CPU_KERNEL(softmax_backward_kernel, softmax_backward_cpu);
CFX_REGISTER_CPU_KERNEL(cumsum_kernel, cumsum_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
