// CUDA kernels for the fused neural-network ops (core/kernels.h): layer_norm and
// cross_entropy (forward/backward pairs), index_select and index_add (embedding and its
// gradient). CPU twins: ops/cpu/nn_cpu.cpp and ops/cpu/index_cpu.cpp, same formulas.
//
// Letters: N rows, C features (layer_norm) or classes (cross_entropy); row tensors are
// [N, C] contiguous (the ops make them so); [C] / [N] vectors are read with their stride.
// Float32 row statistics accumulate in double, as on the CPU.
//
// Launch shapes:
//   layer_norm fwd/bwd (grad_x), cross_entropy fwd .. one block (kRowThreads) per row,
//                                                       shared-memory block reductions;
//   layer_norm bwd (grad_weight, grad_bias) ........... blocks of (32 features x 16 threads)
//                                                       summing over rows in a fixed order;
//   cross_entropy bwd, index_select, index_add ........ one thread per element.
// index_add accumulates with atomicAdd (float, double, int32, int64), so the order of a
// float sum over repeated indices is not fixed (last-bit differences between runs); uint8 and
// bool run a deterministic one-thread-per-destination loop instead (no atomics for bytes).
#include <limits>
#include <type_traits>

#include "cuda/loops.cuh"
#include "core/kernels.h"

namespace cfx::cuda {
namespace {

constexpr int kRowThreads = 128;
constexpr int kColFeatures = 32, kColThreadsY = 16;

// A [C] vector that may be undefined (weight/bias not given) or strided.
template <class T>
struct OptVec {
  const T* p = nullptr;
  int64_t s = 0;
  __device__ T at(int64_t c, T fallback) const { return p ? p[c * s] : fallback; }
};
template <class T>
OptVec<T> opt_vec(const Tensor& t) {
  OptVec<T> v;
  if (t.defined()) v.p = static_cast<const T*>(t.raw_data()), v.s = t.dim() ? t.strides()[0] : 0;
  return v;
}

// ---- layer_norm -------------------------------------------------------------------------------
// mean = 1/C sum_c x_c,  rstd = 1/sqrt(1/C sum_c (x_c - mean)^2 + eps)   (biased variance)
// y_c = (x_c - mean) * rstd * w_c + b_c

template <class T>
__global__ void layer_norm_rows(int64_t N, int64_t C, double eps, const T* x, OptVec<T> w, OptVec<T> b, T* y, T* mean,
                                T* rstd) {
  using A = Acc<T>;
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const T* xr = x + i * C;
    T* yr = y + i * C;
    A s = 0;
    for (int64_t c = threadIdx.x; c < C; c += kRowThreads) s += xr[c];
    const A m = block_reduce<kRowThreads>(s, SumOp{}) / static_cast<A>(C);
    A v = 0;  // two passes (squared deviations), not E[x^2] - E[x]^2
    for (int64_t c = threadIdx.x; c < C; c += kRowThreads) {
      const A d = xr[c] - m;
      v += d * d;
    }
    v = block_reduce<kRowThreads>(v, SumOp{});
    const A r = A(1) / d_sqrt(v / static_cast<A>(C) + static_cast<A>(eps));
    const T mt = static_cast<T>(m), rt = static_cast<T>(r);
    if (threadIdx.x == 0) mean[i] = mt, rstd[i] = rt;
    const bool affine = w.p || b.p;
    for (int64_t c = threadIdx.x; c < C; c += kRowThreads)
      yr[c] = affine ? (xr[c] - mt) * rt * w.at(c, T(1)) + b.at(c, T(0)) : (xr[c] - mt) * rt;
  }
}

void layer_norm_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& out, Tensor& mean,
                     Tensor& rstd) {
  visit_floating(x.dtype(), "layer_norm", [&]<class T>() {
    const int64_t N = x.shape()[0], C = x.shape()[1];
    if (N == 0) return;
    OnDevice on(out.device());
    layer_norm_rows<T><<<blocks_for(N, 1), kRowThreads, 0, on.stream()>>>(
        N, C, eps, static_cast<const T*>(x.raw_data()), opt_vec<T>(weight), opt_vec<T>(bias),
        static_cast<T*>(out.raw_data()), static_cast<T*>(mean.raw_data()), static_cast<T*>(rstd.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// With xhat = (x - mean) * rstd and dxhat = g * w:
//   dx_c = rstd * (dxhat_c - mean_c'(dxhat) - xhat_c * mean_c'(dxhat * xhat))
template <class T>
__global__ void layer_norm_backward_rows(int64_t N, int64_t C, const T* g, const T* x, OptVec<T> w, const T* mean,
                                         const T* rstd, T* dx) {
  using A = Acc<T>;
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const T *gr = g + i * C, *xr = x + i * C;
    const T m = mean[i], r = rstd[i];
    A a = 0, bsum = 0;
    for (int64_t c = threadIdx.x; c < C; c += kRowThreads) {
      const T dxhat = gr[c] * w.at(c, T(1));
      a += dxhat;
      bsum += static_cast<A>(dxhat) * ((xr[c] - m) * r);
    }
    const T a_mean = static_cast<T>(block_reduce<kRowThreads>(a, SumOp{}) / static_cast<A>(C));
    const T b_mean = static_cast<T>(block_reduce<kRowThreads>(bsum, SumOp{}) / static_cast<A>(C));
    T* dr = dx + i * C;
    for (int64_t c = threadIdx.x; c < C; c += kRowThreads) {
      const T xhat = (xr[c] - m) * r;
      dr[c] = r * (gr[c] * w.at(c, T(1)) - a_mean - xhat * b_mean);
    }
  }
}

//   dw_c = sum_i g_ic xhat_ic,  db_c = sum_i g_ic   (either output may be null)
template <class T>
__global__ void layer_norm_param_grads(int64_t N, int64_t C, const T* g, const T* x, const T* mean, const T* rstd,
                                       T* dw, T* db) {
  using A = Acc<T>;
  __shared__ A sw[kColThreadsY][kColFeatures + 1], sb[kColThreadsY][kColFeatures + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t c0 = static_cast<int64_t>(blockIdx.x) * kColFeatures; c0 < C;
       c0 += static_cast<int64_t>(gridDim.x) * kColFeatures) {
    const int64_t c = c0 + tx;
    A aw = 0, ab = 0;
    if (c < C)
      for (int64_t i = ty; i < N; i += kColThreadsY) {
        const T gi = g[i * C + c];
        aw += static_cast<A>(gi) * ((x[i * C + c] - mean[i]) * rstd[i]);
        ab += gi;
      }
    sw[ty][tx] = aw;
    sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && c < C) {
      A tw = 0, tb = 0;
      for (int k = 0; k < kColThreadsY; ++k) tw += sw[k][tx], tb += sb[k][tx];
      if (dw) dw[c] = static_cast<T>(tw);
      if (db) db[c] = static_cast<T>(tb);
    }
    __syncthreads();
  }
}

void layer_norm_backward_cuda(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& rstd, Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  visit_floating(x.dtype(), "layer_norm backward", [&]<class T>() {
    const int64_t N = x.shape()[0], C = x.shape()[1];
    OnDevice on(x.device());
    const T *g = static_cast<const T*>(grad.raw_data()), *xp = static_cast<const T*>(x.raw_data());
    const T *mp = static_cast<const T*>(mean.raw_data()), *rp = static_cast<const T*>(rstd.raw_data());
    if (grad_x.defined() && N > 0) {
      layer_norm_backward_rows<T><<<blocks_for(N, 1), kRowThreads, 0, on.stream()>>>(
          N, C, g, xp, opt_vec<T>(weight), mp, rp, static_cast<T*>(grad_x.raw_data()));
      CFX_CUDA_CHECK_LAUNCH();
    }
    if ((grad_weight.defined() || grad_bias.defined()) && C > 0) {
      T* dw = grad_weight.defined() ? static_cast<T*>(grad_weight.raw_data()) : nullptr;
      T* db = grad_bias.defined() ? static_cast<T*>(grad_bias.raw_data()) : nullptr;
      layer_norm_param_grads<T><<<blocks_for(C, kColFeatures), dim3(kColFeatures, kColThreadsY), 0, on.stream()>>>(
          N, C, g, xp, mp, rp, dw, db);
      CFX_CUDA_CHECK_LAUNCH();
    }
  });
}

// ---- cross_entropy ------------------------------------------------------------------------------
//   lse_i  = log sum_c exp(x_ic)
//   loss_i = (1 - eps) (lse_i - x_{i,t_i}) + eps (lse_i - 1/C sum_c x_ic),  0 where t_i == ignore

template <class T>
__global__ void cross_entropy_rows(int64_t N, int64_t C, const T* x, const int64_t* target, int64_t ts,
                                   int64_t ignore_index, double label_smoothing, T neg_inf, T* loss, T* lse) {
  using A = Acc<T>;
  const A eps = static_cast<A>(label_smoothing);
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const T* xr = x + i * C;
    T m = neg_inf;
    for (int64_t c = threadIdx.x; c < C; c += kRowThreads) m = MaxOp{}(m, xr[c]);
    m = block_reduce<kRowThreads>(m, MaxOp{});
    A s = 0, xsum = 0;
    for (int64_t c = threadIdx.x; c < C; c += kRowThreads) {
      s += d_exp(xr[c] - m);
      xsum += xr[c];
    }
    s = block_reduce<kRowThreads>(s, SumOp{});
    xsum = block_reduce<kRowThreads>(xsum, SumOp{});
    if (threadIdx.x == 0) {
      const A l = m + d_log(s);
      lse[i] = static_cast<T>(l);
      const int64_t t = target[i * ts];
      A value = 0;
      if (t != ignore_index) {
        value = (1 - eps) * (l - xr[t]);
        if (eps > 0) value += eps * (l - xsum / static_cast<A>(C));
      }
      loss[i] = static_cast<T>(value);
    }
  }
}

void cross_entropy_cuda(const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                        Tensor& loss_per_row, Tensor& lse) {
  visit_floating(logits.dtype(), "cross_entropy", [&]<class T>() {
    const int64_t N = logits.shape()[0], C = logits.shape()[1];
    if (N == 0) return;
    OnDevice on(logits.device());
    cross_entropy_rows<T><<<blocks_for(N, 1), kRowThreads, 0, on.stream()>>>(
        N, C, static_cast<const T*>(logits.raw_data()), static_cast<const int64_t*>(target.raw_data()),
        target.strides()[0], ignore_index, label_smoothing, -std::numeric_limits<T>::infinity(),
        static_cast<T*>(loss_per_row.raw_data()), static_cast<T*>(lse.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// d loss_i / d x_ic = scale_i (softmax_ic - eps / C - (1 - eps) [c == t_i]); 0 for ignored rows.
template <class T>
__global__ void cross_entropy_backward_elements(int64_t N, int64_t C, const T* x, const int64_t* target, int64_t ts,
                                                const T* lse, int64_t ss, const T* scale, int64_t scs,
                                                int64_t ignore_index, T eps, T* grad) {
  const T smooth = eps / static_cast<T>(C);
  for (int64_t e = grid_start(); e < N * C; e += grid_step()) {
    const int64_t i = e / C, c = e % C;
    const int64_t t = target[i * ts];
    if (t == ignore_index) {
      grad[e] = T(0);
      continue;
    }
    const T sc = scale[i * scs];
    T v = sc * (d_exp(x[e] - lse[i * ss]) - smooth);
    if (c == t) v -= sc * (T(1) - eps);
    grad[e] = v;
  }
}

void cross_entropy_backward_cuda(const Tensor& logits, const Tensor& target, const Tensor& lse,
                                 const Tensor& row_scale, int64_t ignore_index, double label_smoothing,
                                 Tensor& grad_logits) {
  visit_floating(logits.dtype(), "cross_entropy backward", [&]<class T>() {
    const int64_t N = logits.shape()[0], C = logits.shape()[1];
    if (N * C == 0) return;
    OnDevice on(logits.device());
    cross_entropy_backward_elements<T><<<blocks_for(N * C), kThreads, 0, on.stream()>>>(
        N, C, static_cast<const T*>(logits.raw_data()), static_cast<const int64_t*>(target.raw_data()),
        target.strides()[0], static_cast<const T*>(lse.raw_data()), lse.strides()[0],
        static_cast<const T*>(row_scale.raw_data()), row_scale.strides()[0], ignore_index,
        static_cast<T>(label_smoothing), static_cast<T*>(grad_logits.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// ---- index_select / index_add -------------------------------------------------------------------
// Both see a tensor as [O, S, I] around `dim`. A thread takes one element of the side whose
// shape has n = index.numel() along dim (out for select, src for add), finds i = its
// position along dim, and the other side's element through a stride-0 copy of that dim plus
// index[i] * stride(dim). Index values are range-checked by the op on the host.

// The strides of `t` with dim's stride zeroed (its contribution is added from the index).
Shape strides_without(const Tensor& t, int64_t dim) {
  Shape s = t.strides();
  s[dim] = 0;
  return s;
}

int64_t inner_size(const Tensor& t, int64_t dim) {
  int64_t inner = 1;
  for (int64_t d = dim + 1; d < t.dim(); ++d) inner *= t.shape()[d];
  return inner;
}

// out [O, n, I] = x [O, S, I] at rows index[0..n)
template <class T>
__global__ void index_select_elements(int64_t total, int64_t n, int64_t inner, Indexer<2> ix, const int64_t* index,
                                      int64_t index_stride, int64_t x_dim_stride, const T* x, T* out) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    int64_t off[2];  // [0] out, [1] x without dim
    ix.offsets(e, off);
    const int64_t i = (e / inner) % n;
    out[off[0]] = x[off[1] + index[i * index_stride] * x_dim_stride];
  }
}

void index_select_cuda(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  CFX_CHECK(index.dtype() == kInt64 && index.dim() == 1, "index_select_kernel: expected a 1-d int64 index, got ",
            index.dtype(), " of shape ", index.shape());
  const int64_t total = out.numel(), n = index.numel();
  if (total == 0) return;
  OnDevice on(out.device());
  const auto ix = make_indexer<2>(out.shape(), {out.strides(), strides_without(x, dim)});
  visit_dtype(x.dtype(), [&]<class T>() {
    index_select_elements<T><<<blocks_for(total), kThreads, 0, on.stream()>>>(
        total, n, inner_size(out, dim), ix, static_cast<const int64_t*>(index.raw_data()), index.stride(0),
        x.stride(dim), static_cast<const T*>(x.raw_data()), static_cast<T*>(out.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// dst += v, atomically. int64 through the unsigned 64-bit atomicAdd (two's complement: the
// same bits as a signed add).
__device__ inline void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ inline void atomic_add(double* p, double v) { atomicAdd(p, v); }  // sm_60+
__device__ inline void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ inline void atomic_add(int64_t* p, int64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}

// out [O, S, I] at rows index[i] += src [O, n, I] row i; one thread per src element.
template <class T>
__global__ void index_add_atomic(int64_t total, int64_t n, int64_t inner, Indexer<2> ix, const int64_t* index,
                                 int64_t index_stride, int64_t out_dim_stride, const T* src, T* out) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    int64_t off[2];  // [0] src, [1] out without dim
    ix.offsets(e, off);
    const int64_t i = (e / inner) % n;
    atomic_add(out + off[1] + index[i * index_stride] * out_dim_stride, src[off[0]]);
  }
}

// The same for byte types, without atomics: one thread per (o, j) position adds the n rows in
// index order, exactly like the CPU loop (d = T(d + s): wraps for uint8, ORs for bool).
template <class T>
__global__ void index_add_ordered(int64_t positions, int64_t n, int64_t inner, Indexer<2> ix, const int64_t* index,
                                  int64_t index_stride, int64_t src_dim_stride, int64_t out_dim_stride, const T* src,
                                  T* out) {
  for (int64_t p = grid_start(); p < positions; p += grid_step()) {
    // p enumerates [O, I]; as an index of src [O, n, I] with i = 0 it is (p / inner) * n * inner + p % inner.
    int64_t off[2];  // offsets of row 0: [0] src, [1] out without dim
    ix.offsets((p / inner) * n * inner + p % inner, off);
    for (int64_t i = 0; i < n; ++i) {
      T* d = out + off[1] + index[i * index_stride] * out_dim_stride;
      *d = static_cast<T>(*d + src[off[0] + i * src_dim_stride]);
    }
  }
}

void index_add_cuda(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  CFX_CHECK(index.dtype() == kInt64 && index.dim() == 1, "index_add_kernel: expected a 1-d int64 index, got ",
            index.dtype(), " of shape ", index.shape());
  const int64_t total = src.numel(), n = index.numel(), inner = inner_size(src, dim);
  if (total == 0) return;
  OnDevice on(out.device());
  const auto ix = make_indexer<2>(src.shape(), {src.strides(), strides_without(out, dim)});
  const auto* idx = static_cast<const int64_t*>(index.raw_data());
  visit_dtype(out.dtype(), [&]<class T>() {
    const T* from = static_cast<const T*>(src.raw_data());
    T* to = static_cast<T*>(out.raw_data());
    if constexpr (sizeof(T) == 1) {
      const int64_t positions = total / n;  // O * I
      index_add_ordered<T><<<blocks_for(positions), kThreads, 0, on.stream()>>>(
          positions, n, inner, ix, idx, index.stride(0), src.stride(dim), out.stride(dim), from, to);
    } else {
      index_add_atomic<T><<<blocks_for(total), kThreads, 0, on.stream()>>>(total, n, inner, ix, idx, index.stride(0),
                                                                           out.stride(dim), from, to);
    }
    CFX_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

CFX_REGISTER_KERNEL(layer_norm_kernel, DeviceType::CUDA, layer_norm_cuda);
CFX_REGISTER_KERNEL(layer_norm_backward_kernel, DeviceType::CUDA, layer_norm_backward_cuda);
CFX_REGISTER_KERNEL(cross_entropy_kernel, DeviceType::CUDA, cross_entropy_cuda);
CFX_REGISTER_KERNEL(cross_entropy_backward_kernel, DeviceType::CUDA, cross_entropy_backward_cuda);
CFX_REGISTER_KERNEL(index_select_kernel, DeviceType::CUDA, index_select_cuda);
CFX_REGISTER_KERNEL(index_add_kernel, DeviceType::CUDA, index_add_cuda);

}  // namespace cfx::cuda
