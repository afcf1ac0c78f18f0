// CPU index_select_kernel and index_add_kernel (core/kernels.h).
//
// Both see a tensor as [O, S, I] around the indexed dim: O = product of the dims before it,
// S = its size, I = product of the dims after it. Any strides are allowed: the element
// offsets of the O outer positions (and of the I inner ones, unless those form one dense
// run, the usual case) are tabulated once, and dense runs get a plain loop that the
// compiler vectorises. Index values are range-checked by the op (ops/shape_ops.cpp).
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

// Elements per parallel chunk (as kPointwiseGrain in ops/cpu/loops.h).
constexpr int64_t kIndexGrain = 32768;

// Element offsets of every position of dims [lo, hi) of t, in row-major order.
std::vector<int64_t> offsets_of_dims(const Tensor& t, int64_t lo, int64_t hi) {
  std::vector<int64_t> offs{0};
  for (int64_t d = lo; d < hi; ++d) {
    std::vector<int64_t> next;
    next.reserve(offs.size() * static_cast<size_t>(t.size(d)));
    for (int64_t o : offs)
      for (int64_t j = 0; j < t.size(d); ++j) next.push_back(o + j * t.stride(d));
    offs.swap(next);
  }
  return offs;
}

// t seen as [O, S, I] around `dim`.
struct IndexedLayout {
  std::vector<int64_t> outer;  // [O] offset of each outer position
  std::vector<int64_t> inner;  // [I] offset of each inner position; empty when dense
  int64_t dim_stride = 0;
  int64_t inner_size = 1;
  bool dense_inner() const { return inner.empty(); }
  int64_t inner_at(int64_t j) const { return inner.empty() ? j : inner[j]; }
};

IndexedLayout indexed_layout(const Tensor& t, int64_t dim) {
  IndexedLayout l;
  l.outer = offsets_of_dims(t, 0, dim);
  l.dim_stride = t.stride(dim);
  bool dense = true;
  int64_t expected = 1;  // the stride a dense run needs at this dim (size-1 dims never matter)
  for (int64_t d = t.dim() - 1; d > dim; --d) {
    if (t.size(d) != 1 && t.stride(d) != expected) dense = false;
    expected *= t.size(d);
  }
  l.inner_size = expected;
  if (!dense) l.inner = offsets_of_dims(t, dim + 1, t.dim());
  return l;
}

void check_index(const char* op, const Tensor& index) {
  CFX_CHECK(index.dtype() == kInt64 && index.dim() == 1, op, ": expected a 1-d int64 index, got ", index.dtype(),
            " of shape ", index.shape());
}

// out [O, n, I] = x [O, S, I] at rows index[0..n) of the middle dim.
void index_select_cpu(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  check_index("index_select_kernel", index);
  const IndexedLayout X = indexed_layout(x, dim), Y = indexed_layout(out, dim);
  const int64_t outer = static_cast<int64_t>(X.outer.size()), n = index.numel(), inner = X.inner_size;
  const int64_t* idx = index.data_ptr<int64_t>();
  const int64_t idx_stride = index.stride(0);
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    // One task = one row of `inner` elements; rows are independent.
    const int64_t grain = std::max<int64_t>(1, kIndexGrain / std::max<int64_t>(inner, 1));
    parallel_for(0, outer * n, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t o = r / n, i = r % n;
        const T* s = src + X.outer[o] + idx[i * idx_stride] * X.dim_stride;
        T* d = dst + Y.outer[o] + i * Y.dim_stride;
        if (X.dense_inner() && Y.dense_inner()) std::copy(s, s + inner, d);
        else for (int64_t j = 0; j < inner; ++j) d[Y.inner_at(j)] = s[X.inner_at(j)];
      }
    });
  });
}

// out [O, S, I] at rows index[i] += src [O, n, I] row i; repeated indices accumulate.
// Threads split the (outer, inner) positions, never the index list, so two threads never
// add into the same element and the order of the sum is fixed (deterministic results).
void index_add_cpu(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index("index_add_kernel", index);
  const IndexedLayout Y = indexed_layout(out, dim), S = indexed_layout(src, dim);
  const int64_t outer = static_cast<int64_t>(Y.outer.size()), n = index.numel(), inner = Y.inner_size;
  const int64_t* idx = index.data_ptr<int64_t>();
  const int64_t idx_stride = index.stride(0);
  visit_dtype(out.dtype(), [&]<class T>() {
    const T* from = src.data_ptr<T>();
    T* to = out.data_ptr<T>();
    const int64_t grain = std::max<int64_t>(1, kIndexGrain / std::max<int64_t>(n, 1));
    parallel_for(0, outer * inner, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi;) {
        // The run [j0, j1) of inner positions of outer position o inside this chunk.
        const int64_t o = p / inner, j0 = p % inner, j1 = std::min(inner, j0 + (hi - p));
        for (int64_t i = 0; i < n; ++i) {
          T* d = to + Y.outer[o] + idx[i * idx_stride] * Y.dim_stride;
          const T* s = from + S.outer[o] + i * S.dim_stride;
          if (Y.dense_inner() && S.dense_inner())
            for (int64_t j = j0; j < j1; ++j) d[j] = static_cast<T>(d[j] + s[j]);
          else
            for (int64_t j = j0; j < j1; ++j) d[Y.inner_at(j)] = static_cast<T>(d[Y.inner_at(j)] + s[S.inner_at(j)]);
        }
        p += j1 - j0;
      }
    });
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(index_select_kernel, index_select_cpu);
CFX_REGISTER_CPU_KERNEL(index_add_kernel, index_add_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
