// CPU kernels for the fused neural-network ops (core/kernels.h): layer_norm and
// cross_entropy, each a forward/backward pair (llm.c layernorm_forward/_backward style).
// Not here: index gathers (ops/cpu/index_cpu.cpp) and the autograd wiring (ops/nn_ops.cpp).
//
// Letters: N rows, C features (layer_norm) or classes (cross_entropy). Row tensors are
// [N, C] contiguous; per-row vectors ([C] weight, [N] target/scale) are read with their
// stride. Float32 row statistics are accumulated in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/loops.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

// Rows per parallel chunk for per-row work of C elements.
int64_t row_grain(int64_t C) { return std::max<int64_t>(1, kPointwiseGrain / std::max<int64_t>(C, 1)); }

// A [C] vector that may be undefined (weight/bias not given) or strided.
template <class T>
struct OptVec {
  const T* p = nullptr;
  int64_t s = 0;
  explicit OptVec(const Tensor& t) {
    if (t.defined()) { p = t.data_ptr<T>(); s = t.dim() ? t.strides()[0] : 0; }
  }
  T at(int64_t c, T fallback) const { return p ? p[c * s] : fallback; }
};

// ---- layer_norm -----------------------------------------------------------------------------
// mean = 1/C sum_c x_c,  rstd = 1/sqrt(1/C sum_c (x_c - mean)^2 + eps)   (biased variance)
// y_c = (x_c - mean) * rstd * w_c + b_c
// mean and rstd are saved: backward then needs neither a second pass over x for them nor y.

void layer_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& out,
                    Tensor& mean, Tensor& rstd) {
  visit_floating(x.dtype(), "layer_norm", [&]<class T>() {
    const int64_t N = x.shape()[0], C = x.shape()[1];
    const T* xp = x.data_ptr<T>();  // [N, C]
    T* yp = out.data_ptr<T>();      // [N, C]
    T* mp = mean.data_ptr<T>();     // [N]
    T* rp = rstd.data_ptr<T>();     // [N]
    const OptVec<T> w(weight), b(bias);
    parallel_for(0, N, row_grain(C), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const T* xr = xp + i * C;
        T* yr = yp + i * C;
        Acc<T> s = 0;
        for (int64_t c = 0; c < C; ++c) s += xr[c];
        const Acc<T> m = s / static_cast<Acc<T>>(C);
        // Two passes (sum of squared deviations), not E[x^2] - E[x]^2, which cancels badly.
        Acc<T> v = 0;
        for (int64_t c = 0; c < C; ++c) {
          const Acc<T> d = xr[c] - m;
          v += d * d;
        }
        const Acc<T> r = 1 / std::sqrt(v / static_cast<Acc<T>>(C) + static_cast<Acc<T>>(eps));
        const T mt = static_cast<T>(m), rt = static_cast<T>(r);
        mp[i] = mt;
        rp[i] = rt;
        if (w.p || b.p) {
          for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mt) * rt * w.at(c, T(1)) + b.at(c, T(0));
        } else {
          for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mt) * rt;
        }
      }
    });
  });
}

// With xhat = (x - mean) * rstd and dxhat = g * w:
//   dx_c = rstd * (dxhat_c - mean_c'(dxhat) - xhat_c * mean_c'(dxhat * xhat))
//   dw_c = sum_i g_ic xhat_ic,  db_c = sum_i g_ic
// dw/db are summed per fixed block of rows and the blocks added in order, so the result
// does not depend on the thread count.
void layer_norm_backward_cpu(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& mean,
                             const Tensor& rstd, Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  visit_floating(x.dtype(), "layer_norm backward", [&]<class T>() {
    const int64_t N = x.shape()[0], C = x.shape()[1];
    const T *gp = grad.data_ptr<T>(), *xp = x.data_ptr<T>();  // [N, C]
    const T *mp = mean.data_ptr<T>(), *rp = rstd.data_ptr<T>();  // [N]
    const OptVec<T> w(weight);
    T* dxp = grad_x.defined() ? grad_x.data_ptr<T>() : nullptr;
    const bool need_wb = grad_weight.defined() || grad_bias.defined();

    constexpr int64_t kMaxBlocks = 32;
    const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(N, kMaxBlocks));
    const int64_t rows_per_block = N == 0 ? 0 : (N + blocks - 1) / blocks;
    // partial: [blocks, 2, C] = per-block (dw, db) sums.
    std::vector<Acc<T>> partial(need_wb ? blocks * 2 * C : 0, Acc<T>(0));
    const int64_t grain = std::max<int64_t>(1, row_grain(C) / std::max<int64_t>(rows_per_block, 1));
    parallel_for(0, blocks, grain, [&](int64_t blo, int64_t bhi) {
      for (int64_t blk = blo; blk < bhi; ++blk) {
        Acc<T>* dw = need_wb ? partial.data() + blk * 2 * C : nullptr;
        Acc<T>* db = need_wb ? dw + C : nullptr;
        const int64_t i_end = std::min(N, (blk + 1) * rows_per_block);
        for (int64_t i = blk * rows_per_block; i < i_end; ++i) {
          const T *g = gp + i * C, *xr = xp + i * C;
          const T m = mp[i], r = rp[i];
          if (dxp) {
            Acc<T> a = 0, bsum = 0;
            for (int64_t c = 0; c < C; ++c) {
              const T dxhat = g[c] * w.at(c, T(1));
              a += dxhat;
              bsum += static_cast<Acc<T>>(dxhat) * ((xr[c] - m) * r);
            }
            const T a_mean = static_cast<T>(a / static_cast<Acc<T>>(C));
            const T b_mean = static_cast<T>(bsum / static_cast<Acc<T>>(C));
            T* dx = dxp + i * C;
            for (int64_t c = 0; c < C; ++c) {
              const T xhat = (xr[c] - m) * r;
              dx[c] = r * (g[c] * w.at(c, T(1)) - a_mean - xhat * b_mean);
            }
          }
          if (need_wb) {
            for (int64_t c = 0; c < C; ++c) {
              dw[c] += static_cast<Acc<T>>(g[c]) * ((xr[c] - m) * r);
              db[c] += g[c];
            }
          }
        }
      }
    });
    if (!need_wb) return;
    std::vector<Acc<T>> dw(C, Acc<T>(0)), db(C, Acc<T>(0));
    for (int64_t blk = 0; blk < blocks; ++blk)
      for (int64_t c = 0; c < C; ++c) {
        dw[c] += partial[blk * 2 * C + c];
        db[c] += partial[blk * 2 * C + C + c];
      }
    if (grad_weight.defined()) {
      T* o = grad_weight.data_ptr<T>();
      for (int64_t c = 0; c < C; ++c) o[c] = static_cast<T>(dw[c]);
    }
    if (grad_bias.defined()) {
      T* o = grad_bias.data_ptr<T>();
      for (int64_t c = 0; c < C; ++c) o[c] = static_cast<T>(db[c]);
    }
  });
}

// ---- cross_entropy --------------------------------------------------------------------------
// Fused log_softmax + NLL with label smoothing eps, as torch.nn.functional.cross_entropy:
//   lse_i  = log sum_c exp(x_ic)
//   loss_i = (1 - eps) (lse_i - x_{i,t_i}) + eps (lse_i - 1/C sum_c x_ic)
// and loss_i = 0 where t_i == ignore_index. The op checks targets are in [0, C).

void cross_entropy_cpu(const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                       Tensor& loss_per_row, Tensor& lse) {
  visit_floating(logits.dtype(), "cross_entropy", [&]<class T>() {
    const int64_t N = logits.shape()[0], C = logits.shape()[1];
    const T* xp = logits.data_ptr<T>();  // [N, C]
    const int64_t* tp = target.data_ptr<int64_t>();
    const int64_t ts = target.strides()[0];
    T* lp = loss_per_row.data_ptr<T>();  // [N]
    T* sp = lse.data_ptr<T>();           // [N]
    const Acc<T> eps = static_cast<Acc<T>>(label_smoothing);
    parallel_for(0, N, row_grain(C), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const T* xr = xp + i * C;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t c = 0; c < C; ++c) m = std::max(m, xr[c]);
        Acc<T> s = 0, xsum = 0;
        for (int64_t c = 0; c < C; ++c) {
          s += std::exp(xr[c] - m);
          xsum += xr[c];
        }
        const Acc<T> l = m + std::log(s);
        sp[i] = static_cast<T>(l);
        const int64_t t = tp[i * ts];
        if (t == ignore_index) {
          lp[i] = T(0);
          continue;
        }
        Acc<T> loss = (1 - eps) * (l - xr[t]);
        if (eps > 0) loss += eps * (l - xsum / static_cast<Acc<T>>(C));
        lp[i] = static_cast<T>(loss);
      }
    });
  });
}

// d loss_i / d x_ic = softmax_ic - (1 - eps) [c == t_i] - eps / C, scaled by row_scale_i
// (the upstream gradient, divided by the count for "mean"); 0 for ignored rows.
void cross_entropy_backward_cpu(const Tensor& logits, const Tensor& target, const Tensor& lse,
                                const Tensor& row_scale, int64_t ignore_index, double label_smoothing,
                                Tensor& grad_logits) {
  visit_floating(logits.dtype(), "cross_entropy backward", [&]<class T>() {
    const int64_t N = logits.shape()[0], C = logits.shape()[1];
    const T* xp = logits.data_ptr<T>();  // [N, C]
    const int64_t* tp = target.data_ptr<int64_t>();
    const T* sp = lse.data_ptr<T>();
    const T* scp = row_scale.data_ptr<T>();
    const int64_t ts = target.strides()[0], ss = lse.strides()[0], scs = row_scale.strides()[0];
    T* gp = grad_logits.data_ptr<T>();   // [N, C]
    const T eps = static_cast<T>(label_smoothing);
    const T smooth = eps / static_cast<T>(C);
    parallel_for(0, N, row_grain(C), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const T* xr = xp + i * C;
        T* gr = gp + i * C;
        const int64_t t = tp[i * ts];
        if (t == ignore_index) {
          std::fill(gr, gr + C, T(0));
          continue;
        }
        const T l = sp[i * ss], scale = scp[i * scs];
        for (int64_t c = 0; c < C; ++c) gr[c] = scale * (std::exp(xr[c] - l) - smooth);
        gr[t] -= scale * (T(1) - eps);
      }
    });
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(layer_norm_kernel, layer_norm_cpu);
CFX_REGISTER_CPU_KERNEL(layer_norm_backward_kernel, layer_norm_backward_cpu);
CFX_REGISTER_CPU_KERNEL(cross_entropy_kernel, cross_entropy_cpu);
CFX_REGISTER_CPU_KERNEL(cross_entropy_backward_kernel, cross_entropy_backward_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
