// CUDA kernels for reductions and ops along one dim (core/kernels.h): reduce (sum/max/min
// over any dims), argmax, cumsum, softmax / log_softmax and their backward. CPU twins:
// ops/cpu/reduce_cpu.cpp and ops/cpu/softmax_cpu.cpp, whose semantics these follow: float32
// sums accumulate in double; max/min ignore NaN candidates (std::max order); argmax returns
// the first maximum; softmax is max-subtracted.
//
// Letters: "out" elements = the kept positions; "red" = the reduced sub-space of one output;
// "row" = all elements along `dim` for one index of the other dims, n = its length.
//
// Launch shapes:
//   reduce, general ...... one block (kThreads) per output, threads stride over its reduced
//                          elements; a long reduction with few outputs is split over grid.y
//                          blocks whose partial results a second kernel combines.
//   reduce, columns ...... when x's unit-stride dim is kept (a sum over rows, e.g. a bias
//                          gradient): blocks of (32 outputs x 16 threads), so a warp reads 32
//                          neighbouring elements; a fixed-order combine in shared memory.
//   argmax, softmax(+bwd)  one block (kRowThreads) per row, shared-memory block reductions.
//   cumsum ............... one thread per row, sequential along the row in the CPU's order.
#include <limits>
#include <type_traits>

#include "cuda/loops.cuh"
#include "core/kernels.h"

namespace cfx::cuda {
namespace {

constexpr int kRowThreads = 128;

// The other dims of t around `dim`: their sizes, and t's strides over them.
struct RowSpace {
  Shape sizes, strides;
};
RowSpace rows_of(const Tensor& t, int64_t dim) {
  RowSpace r;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (d != dim) r.sizes.push_back(t.shape()[d]), r.strides.push_back(t.strides()[d]);
  return r;
}

// ---- reduce -------------------------------------------------------------------------------

template <class T, class A, class Op>
__global__ void reduce_blocks(int64_t n_out, int64_t n_red, int64_t splits, Indexer<1> kept, Indexer<1> red,
                              const T* x, A init, Op op, A* partial, T* out) {
  const int64_t chunk = (n_red + splits - 1) / splits;
  const int64_t r0 = blockIdx.y * chunk, r1 = min(n_red, r0 + chunk);
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {  // uniform per block: barriers are safe
    int64_t base[1];
    kept.offsets(o, base);
    A acc = init;
    for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) {
      int64_t off[1];
      red.offsets(r, off);
      acc = op(acc, static_cast<A>(x[base[0] + off[0]]));
    }
    acc = block_reduce<kThreads>(acc, op);
    if (threadIdx.x == 0) {
      if (splits == 1) out[o] = static_cast<T>(acc);
      else partial[o * splits + blockIdx.y] = acc;
    }
  }
}

// out[o] = op over partial[o, 0..splits) (splits <= kThreads... or more: threads stride).
template <class T, class A, class Op>
__global__ void reduce_partials(int64_t n_out, int64_t splits, const A* partial, A init, Op op, T* out) {
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {
    A acc = init;
    for (int64_t s = threadIdx.x; s < splits; s += blockDim.x) acc = op(acc, partial[o * splits + s]);
    acc = block_reduce<kThreads>(acc, op);
    if (threadIdx.x == 0) out[o] = static_cast<T>(acc);
  }
}

constexpr int kColOutputs = 32, kColThreadsY = 16;

template <class T, class A, class Op>
__global__ void reduce_columns(int64_t n_out, int64_t n_red, Indexer<1> kept, Indexer<1> red, const T* x, A init,
                               Op op, T* out) {
  __shared__ A buf[kColThreadsY][kColOutputs + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * kColOutputs; first < n_out;
       first += static_cast<int64_t>(gridDim.x) * kColOutputs) {
    const int64_t o = first + tx;
    A acc = init;
    if (o < n_out) {
      int64_t base[1];
      kept.offsets(o, base);
      for (int64_t r = ty; r < n_red; r += kColThreadsY) {
        int64_t off[1];
        red.offsets(r, off);
        acc = op(acc, static_cast<A>(x[base[0] + off[0]]));
      }
    }
    buf[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && o < n_out) {
      A total = buf[0][tx];
      for (int k = 1; k < kColThreadsY; ++k) total = op(total, buf[k][tx]);
      out[o] = static_cast<T>(total);
    }
    __syncthreads();
  }
}

template <class T, class Op>
void reduce_typed(const Tensor& x, const Shape& dims, Tensor& out, T init_value, Op op, cudaStream_t stream) {
  using A = Acc<T>;
  const int64_t nd = x.dim();
  std::vector<bool> reduced(nd, false);
  for (int64_t d : dims) reduced[d] = true;
  Shape kept_sizes, kept_strides, red_sizes, red_strides;
  int64_t last_kept = -1;  // the fastest-varying output dim that is not of size 1
  for (int64_t d = 0; d < nd; ++d) {
    (reduced[d] ? red_sizes : kept_sizes).push_back(x.shape()[d]);
    (reduced[d] ? red_strides : kept_strides).push_back(x.strides()[d]);
    if (!reduced[d] && x.shape()[d] > 1) last_kept = d;
  }
  const int64_t n_out = numel(kept_sizes), n_red = numel(red_sizes);
  if (n_out == 0) return;
  const auto kept = make_indexer<1>(kept_sizes, {kept_strides});
  const auto red = make_indexer<1>(red_sizes, {red_strides});
  const A init = static_cast<A>(init_value);
  const T* px = static_cast<const T*>(x.raw_data());
  T* po = static_cast<T*>(out.raw_data());  // dense, keepdim shape == kept dims in order
  if (last_kept >= 0 && x.strides()[last_kept] == 1 && n_red > 1) {
    const dim3 block(kColOutputs, kColThreadsY);
    reduce_columns<T, A, Op><<<blocks_for(n_out, kColOutputs), block, 0, stream>>>(n_out, n_red, kept, red, px, init,
                                                                                   op, po);
    CFX_CUDA_CHECK_LAUNCH();
    return;
  }
  // Split a long reduction over more blocks when there are too few outputs to fill the GPU.
  constexpr int64_t kPerBlock = int64_t{kThreads} * 64, kTargetBlocks = 1024;
  int64_t splits = 1;
  if (n_out < kTargetBlocks && n_red > kPerBlock)
    splits = std::min<int64_t>({(n_red + kPerBlock - 1) / kPerBlock, (kTargetBlocks + n_out - 1) / n_out, 65535});
  Tensor partial;
  if (splits > 1) partial = make_empty({n_out * splits * static_cast<int64_t>(sizeof(A))}, kUInt8, out.device());
  A* pp = splits > 1 ? static_cast<A*>(partial.raw_data()) : nullptr;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(n_out, kMaxBlocks)), static_cast<unsigned>(splits));
  reduce_blocks<T, A, Op><<<grid, kThreads, 0, stream>>>(n_out, n_red, splits, kept, red, px, init, op, pp, po);
  CFX_CUDA_CHECK_LAUNCH();
  if (splits > 1) {
    reduce_partials<T, A, Op><<<blocks_for(n_out, 1), kThreads, 0, stream>>>(n_out, splits, pp, init, op, po);
    CFX_CUDA_CHECK_LAUNCH();
  }
}

void reduce_cuda(ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) {
  OnDevice on(out.device());
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      CFX_FAIL("reduce: bool tensors cannot be reduced; convert with .to(kInt64)");
    } else {
      switch (op) {
        case ReduceOp::Sum: return reduce_typed<T>(x, dims, out, T(0), SumOp{}, on.stream());
        case ReduceOp::Max: return reduce_typed<T>(x, dims, out, std::numeric_limits<T>::lowest(), MaxOp{}, on.stream());
        case ReduceOp::Min: return reduce_typed<T>(x, dims, out, std::numeric_limits<T>::max(), MinOp{}, on.stream());
      }
    }
  });
}

// ---- argmax -------------------------------------------------------------------------------
// Sequential CPU rule: best = 0; best = k whenever x[k] > x[best]. Equivalently: 0 if x[0] is
// NaN, else the first index of the maximum over the non-NaN elements. That form splits over
// threads: each keeps its best non-NaN candidate, ties go to the lower index.

template <class T>
__device__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}

template <class T>
__global__ void argmax_rows(int64_t rows, int64_t n, int64_t stride, Indexer<1> row_ix, const T* x, int64_t* out) {
  __shared__ T best_v[kRowThreads];
  __shared__ int64_t best_i[kRowThreads];
  const int t = threadIdx.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    int64_t base[1];
    row_ix.offsets(r, base);
    const T* row = x + base[0];
    int64_t bi = -1;  // -1: no candidate yet
    T bv = T();
    for (int64_t k = t; k < n; k += kRowThreads) {
      const T v = row[k * stride];
      if (!is_nan(v) && (bi < 0 || v > bv)) bi = k, bv = v;  // k grows: ties keep the first
    }
    best_v[t] = bv;
    best_i[t] = bi;
    __syncthreads();
    for (int s = kRowThreads / 2; s > 0; s >>= 1) {
      if (t < s) {
        const int64_t oi = best_i[t + s];
        const T ov = best_v[t + s];
        const int64_t mi = best_i[t];
        const T mv = best_v[t];
        const bool take = oi >= 0 && (mi < 0 || ov > mv || (!(mv > ov) && oi < mi));
        if (take) best_i[t] = oi, best_v[t] = ov;
      }
      __syncthreads();
    }
    if (t == 0) out[r] = (is_nan(row[0]) || best_i[0] < 0) ? 0 : best_i[0];
    __syncthreads();
  }
}

void argmax_cuda(const Tensor& x, int64_t dim, Tensor& out) {
  const int64_t n = x.shape()[dim];
  const RowSpace rs = rows_of(x, dim);
  const int64_t rows = numel(rs.sizes);
  if (rows == 0) return;
  OnDevice on(out.device());
  const auto row_ix = make_indexer<1>(rs.sizes, {rs.strides});
  visit_dtype(x.dtype(), [&]<class T>() {
    argmax_rows<T><<<blocks_for(rows, 1), kRowThreads, 0, on.stream()>>>(
        rows, n, x.strides()[dim], row_ix, static_cast<const T*>(x.raw_data()), static_cast<int64_t*>(out.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// ---- cumsum -------------------------------------------------------------------------------
// y_k = sum_{j<=k} x_j; the running sum of float32 in double, as on the CPU.

template <class T>
__global__ void cumsum_rows(int64_t rows, int64_t n, Indexer<2> row_ix, int64_t sx, int64_t so, const T* x, T* out) {
  for (int64_t r = grid_start(); r < rows; r += grid_step()) {
    int64_t off[2];
    row_ix.offsets(r, off);
    Acc<T> s = 0;
    for (int64_t k = 0; k < n; ++k) {
      s += x[off[0] + k * sx];
      out[off[1] + k * so] = static_cast<T>(s);
    }
  }
}

void cumsum_cuda(const Tensor& x, int64_t dim, Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, uint8_t>) {
      CFX_FAIL("cumsum: the kernel takes float, int32 or int64 input, got ", x.dtype(), " (the op converts)");
    } else {
      const RowSpace rx = rows_of(x, dim), ro = rows_of(out, dim);
      const int64_t rows = numel(rx.sizes);
      if (rows == 0 || x.shape()[dim] == 0) return;
      OnDevice on(out.device());
      const auto row_ix = make_indexer<2>(rx.sizes, {rx.strides, ro.strides});
      cumsum_rows<T><<<blocks_for(rows), kThreads, 0, on.stream()>>>(rows, x.shape()[dim], row_ix, x.strides()[dim],
                                                                     out.strides()[dim],
                                                                     static_cast<const T*>(x.raw_data()),
                                                                     static_cast<T*>(out.raw_data()));
      CFX_CUDA_CHECK_LAUNCH();
    }
  });
}

// ---- softmax --------------------------------------------------------------------------------
// y_k = exp(x_k - m) / sum_j exp(x_j - m), m = max_j x_j;  log: y_k = (x_k - m) - log(sum ...)

template <class T>
__global__ void softmax_rows(int64_t rows, int64_t n, Indexer<2> row_ix, int64_t sx, int64_t so, bool log,
                             T neg_inf, const T* x, T* out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    int64_t off[2];
    row_ix.offsets(r, off);
    const T* xr = x + off[0];
    T* yr = out + off[1];
    T m = neg_inf;
    for (int64_t k = threadIdx.x; k < n; k += kRowThreads) m = MaxOp{}(m, xr[k * sx]);
    m = block_reduce<kRowThreads>(m, MaxOp{});
    Acc<T> s = 0;
    for (int64_t k = threadIdx.x; k < n; k += kRowThreads) s += d_exp(xr[k * sx] - m);
    s = block_reduce<kRowThreads>(s, SumOp{});
    if (!log) {
      const T inv = static_cast<T>(Acc<T>(1) / s);
      for (int64_t k = threadIdx.x; k < n; k += kRowThreads) yr[k * so] = d_exp(xr[k * sx] - m) * inv;
    } else {
      const T log_s = static_cast<T>(d_log(s));
      for (int64_t k = threadIdx.x; k < n; k += kRowThreads) yr[k * so] = (xr[k * sx] - m) - log_s;
    }
  }
}

void softmax_cuda(const Tensor& x, int64_t dim, bool log, Tensor& out) {
  visit_floating(x.dtype(), log ? "log_softmax" : "softmax", [&]<class T>() {
    const RowSpace rx = rows_of(x, dim), ro = rows_of(out, dim);
    const int64_t rows = numel(rx.sizes);
    if (rows == 0 || x.shape()[dim] == 0) return;
    OnDevice on(out.device());
    const auto row_ix = make_indexer<2>(rx.sizes, {rx.strides, ro.strides});
    softmax_rows<T><<<blocks_for(rows, 1), kRowThreads, 0, on.stream()>>>(
        rows, x.shape()[dim], row_ix, x.strides()[dim], out.strides()[dim], log,
        -std::numeric_limits<T>::infinity(), static_cast<const T*>(x.raw_data()), static_cast<T*>(out.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// softmax:     gx_k = y_k (g_k - sum_j g_j y_j)
// log_softmax: gx_k = g_k - exp(y_k) sum_j g_j
template <class T>
__global__ void softmax_backward_rows(int64_t rows, int64_t n, Indexer<3> row_ix, int64_t sy, int64_t sg, int64_t so,
                                      bool log, const T* y, const T* g, T* out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    int64_t off[3];
    row_ix.offsets(r, off);
    const T *yr = y + off[0], *gr = g + off[1];
    T* orow = out + off[2];
    Acc<T> s = 0;
    if (!log) {
      for (int64_t k = threadIdx.x; k < n; k += kRowThreads) s += static_cast<Acc<T>>(gr[k * sg]) * yr[k * sy];
    } else {
      for (int64_t k = threadIdx.x; k < n; k += kRowThreads) s += gr[k * sg];
    }
    const T total = static_cast<T>(block_reduce<kRowThreads>(s, SumOp{}));
    for (int64_t k = threadIdx.x; k < n; k += kRowThreads)
      orow[k * so] = log ? gr[k * sg] - d_exp(yr[k * sy]) * total : yr[k * sy] * (gr[k * sg] - total);
  }
}

void softmax_backward_cuda(const Tensor& y, const Tensor& grad, int64_t dim, bool log, Tensor& out) {
  visit_floating(y.dtype(), log ? "log_softmax backward" : "softmax backward", [&]<class T>() {
    const RowSpace ry = rows_of(y, dim), rg = rows_of(grad, dim), ro = rows_of(out, dim);
    const int64_t rows = numel(ry.sizes);
    if (rows == 0 || y.shape()[dim] == 0) return;
    OnDevice on(out.device());
    const auto row_ix = make_indexer<3>(ry.sizes, {ry.strides, rg.strides, ro.strides});
    softmax_backward_rows<T><<<blocks_for(rows, 1), kRowThreads, 0, on.stream()>>>(
        rows, y.shape()[dim], row_ix, y.strides()[dim], grad.strides()[dim], out.strides()[dim], log,
        static_cast<const T*>(y.raw_data()), static_cast<const T*>(grad.raw_data()), static_cast<T*>(out.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

CFX_REGISTER_KERNEL(reduce_kernel, DeviceType::CUDA, reduce_cuda);
CFX_REGISTER_KERNEL(argmax_kernel, DeviceType::CUDA, argmax_cuda);
CFX_REGISTER_KERNEL(cumsum_kernel, DeviceType::CUDA, cumsum_cuda);
CFX_REGISTER_KERNEL(softmax_kernel, DeviceType::CUDA, softmax_cuda);
CFX_REGISTER_KERNEL(softmax_backward_kernel, DeviceType::CUDA, softmax_backward_cuda);

}  // namespace cfx::cuda
