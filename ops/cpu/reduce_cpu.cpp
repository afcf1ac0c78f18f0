// CPU reductions: sum/max/min over any set of dims, and argmax along one dim.
//
// Layout trick: the input is viewed as [outer kept dims..., reduced dims..., inner kept]
// only logically; each output element walks its reduced sub-space with an odometer. When
// the innermost input dim is kept (e.g. a bias gradient, sum over rows), we instead sweep
// whole rows and accumulate them, which keeps the inner loop contiguous and vectorised.
#include <algorithm>
#include <limits>

#include "ops/cpu/loops.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;  // sums of float in double

template <class T>
void reduce_typed(ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) {
  const int64_t nd = x.dim();
  std::vector<bool> reduced(nd, false);
  for (int64_t d : dims) reduced[d] = true;
  Shape kept_sizes, kept_strides, red_sizes, red_strides;
  for (int64_t d = 0; d < nd; ++d) {
    (reduced[d] ? red_sizes : kept_sizes).push_back(x.shape()[d]);
    (reduced[d] ? red_strides : kept_strides).push_back(x.strides()[d]);
  }
  const int64_t n_out = numel(kept_sizes), n_red = numel(red_sizes);
  const T* base = x.data_ptr<T>();
  T* o = out.data_ptr<T>();  // dense, keepdim shape == kept dims in order
  const T init = op == ReduceOp::Sum ? T(0)
                 : op == ReduceOp::Max ? std::numeric_limits<T>::lowest()
                                       : std::numeric_limits<T>::max();
  const int64_t grain = std::max<int64_t>(1, kPointwiseGrain / std::max<int64_t>(n_red, 1));
  parallel_for(0, n_out, grain, [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> kidx(kept_sizes.size()), ridx(red_sizes.size());
    for (int64_t i = lo; i < hi; ++i) {
      int64_t rem = i, off = 0;
      for (int64_t d = static_cast<int64_t>(kept_sizes.size()) - 1; d >= 0; --d) {
        off += (rem % kept_sizes[d]) * kept_strides[d];
        rem /= kept_sizes[d];
      }
      std::fill(ridx.begin(), ridx.end(), 0);
      Acc<T> acc = init;
      const int64_t inner_n = red_sizes.empty() ? 1 : red_sizes.back();
      const int64_t inner_s = red_strides.empty() ? 0 : red_strides.back();
      for (int64_t r = 0; r < n_red; r += inner_n) {
        int64_t roff = off;
        for (size_t d = 0; d + 1 < ridx.size(); ++d) roff += ridx[d] * red_strides[d];
        const T* p = base + roff;
        if (op == ReduceOp::Sum) {
          Acc<T> s = 0;
          for (int64_t k = 0; k < inner_n; ++k) s += p[k * inner_s];
          acc += s;
        } else if (op == ReduceOp::Max) {
          for (int64_t k = 0; k < inner_n; ++k) acc = std::max<Acc<T>>(acc, p[k * inner_s]);
        } else {
          for (int64_t k = 0; k < inner_n; ++k) acc = std::min<Acc<T>>(acc, p[k * inner_s]);
        }
        for (int64_t d = static_cast<int64_t>(ridx.size()) - 2; d >= 0 && ++ridx[d] == red_sizes[d]; --d) ridx[d] = 0;
      }
      o[i] = static_cast<T>(acc);
    }
  });
}

// Sum over leading dims of a dense [R, C] problem where the innermost dim is kept:
// out[c] = sum_r x[r, c], accumulated row by row (contiguous, vectorised).
template <class T>
bool try_sum_rows(const Tensor& x, const Shape& dims, Tensor& out) {
  if (!x.is_contiguous()) return false;
  const int64_t nd = x.dim();
  int64_t n_lead = 0;
  for (int64_t d : dims) if (d == n_lead) ++n_lead;  // dims are sorted
  if (n_lead != static_cast<int64_t>(dims.size()) || n_lead == nd || n_lead == 0) return false;
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < nd; ++d) (d < n_lead ? rows : cols) *= x.shape()[d];
  const T* p = x.data_ptr<T>();
  T* o = out.data_ptr<T>();
  parallel_for(0, cols, std::max<int64_t>(16, kPointwiseGrain / std::max<int64_t>(rows, 1)), [&](int64_t lo, int64_t hi) {
    std::vector<Acc<T>> acc(hi - lo, Acc<T>(0));
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = p + r * cols;
      for (int64_t c = lo; c < hi; ++c) acc[c - lo] += row[c];
    }
    for (int64_t c = lo; c < hi; ++c) o[c] = static_cast<T>(acc[c - lo]);
  });
  return true;
}

void reduce_cpu(ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      CFX_FAIL("reduce: bool tensors cannot be reduced; convert with .to(kInt64)");
    } else {
      if (op == ReduceOp::Sum && try_sum_rows<T>(x, dims, out)) return;
      reduce_typed<T>(op, x, dims, out);
    }
  });
}

void argmax_cpu(const Tensor& x, int64_t dim, Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    const int64_t n = x.shape()[dim], s = x.strides()[dim];
    Shape kept_sizes = x.shape(), kept_strides = x.strides();
    kept_sizes.erase(kept_sizes.begin() + dim);
    kept_strides.erase(kept_strides.begin() + dim);
    const T* base = x.data_ptr<T>();
    int64_t* o = out.data_ptr<int64_t>();
    parallel_for(0, numel(kept_sizes), std::max<int64_t>(1, kPointwiseGrain / std::max<int64_t>(n, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t i = lo; i < hi; ++i) {
                     int64_t rem = i, off = 0;
                     for (int64_t d = static_cast<int64_t>(kept_sizes.size()) - 1; d >= 0; --d) {
                       off += (rem % kept_sizes[d]) * kept_strides[d];
                       rem /= kept_sizes[d];
                     }
                     int64_t best = 0;
                     for (int64_t k = 1; k < n; ++k)
                       if (base[off + k * s] > base[off + best * s]) best = k;
                     o[i] = best;
                   }
                 });
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(reduce_kernel, reduce_cpu);
CFX_REGISTER_CPU_KERNEL(argmax_kernel, argmax_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
