// What the fused Flow-Attention CPU kernels share, per CPU capability: BLAS calls, the loop
// over (b,h) heads on our thread pool, and one head's slice of the inputs and saved
// statistics. Included by the non-causal half (ops/cpu/flow_attention_cpu.cpp, which also
// holds the entry points) and the causal half (ops/cpu/flow_attention_causal_cpu.cpp), the
// same split as cuda/flow_attention.cu and cuda/flow_attention_causal.cu.
//
// Dimension letters as in ops/cpu/flow_attention_cpu.h. Internal to ops/cpu/.
#pragma once

#include <cblas.h>  // cblas_{s,d}gemm, openblas_{get,set}_num_threads

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/parallel.h"  // parallel_for, num_threads
#include "ops/cpu/flow_attention_cpu.h"
#include "ops/cpu/flow_rows.h"  // dot, dot_eps, axpy, scale, sigmoid, feature_map(_grad)

namespace cfx::cpu::CFX_CPU_CAPABILITY::flow_heads {  // one copy per CPU capability

using namespace flow_rows;

// ---------------------------------------------------------------------------------------
// BLAS and threads.

// c[m,n] = alpha * op(a) op(b) + beta * c, all row-major.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Holds OpenBLAS at one thread while our own pool covers the (b,h) loop: two pool threads
// each calling a 2-thread OpenBLAS ran 4x slower than one thread each here (2 cores).
class BlasSingleThreaded {
 public:
  explicit BlasSingleThreaded(bool active) : saved_(active ? openblas_get_num_threads() : 1) {
    if (saved_ > 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThreaded() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
  }
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

 private:
  int saved_;
};

// Calls body(bh, scratch) for every bh in [0, n_heads); scratch: [scratch_len] per thread,
// uninitialised (fresh pages are slow to touch here, so nothing is zero-filled twice).
template <class T, class F>
void for_each_head(int64_t n_heads, int64_t scratch_len, const F& body) {
  BlasSingleThreaded blas_guard(n_heads > 1 && num_threads() > 1);
  parallel_for(0, n_heads, 1, [&](int64_t begin, int64_t end) {
    CpuBuffer<T> scratch(static_cast<size_t>(std::max<int64_t>(scratch_len, 1)));
    for (int64_t bh = begin; bh < end; ++bh) body(bh, scratch.data());
  });
}

// ---------------------------------------------------------------------------------------
// One (b,h) slice: inputs and the saved statistics (Stat = T when the forward writes them,
// const T when the backward reads them).

template <class T, class Stat>
struct HeadSlice {
  const T* q;           // [L,D]
  const T* k;           // [S,D]
  const T* v;           // [S,M]
  const uint8_t* pad;   // [S] 1 = padded key, or null
  int64_t s_eff;        // valid keys of this batch row (S without a mask)
  Stat *I, *A;          // [L]
  Stat *O, *O_hat, *C;  // [S]
  Stat *k_sum, *q_sum;  // [D]   non-causal
  Stat *a, *b;          // [D]   non-causal
  Stat* kv;             // [D,M] non-causal
  Stat* D_prefix;       // [L]   causal
};

template <class T, class Saved>
auto head_slice(const FlowKernelConfig& c, Saved& st, const T* q, const T* k, const T* v,
                int64_t bh) {
  using Stat = std::remove_pointer_t<decltype(st.sink_incoming.data())>;
  const int64_t b = bh / c.H;
  HeadSlice<T, Stat> h{};
  h.q = q + bh * c.L * c.D;
  h.k = k + bh * c.S * c.D;
  h.v = v + bh * c.S * c.M;
  h.pad = c.key_padding_mask ? c.key_padding_mask + b * c.S : nullptr;
  h.s_eff = c.S;
  if (h.pad)
    for (int64_t j = 0; j < c.S; ++j) h.s_eff -= h.pad[j] ? 1 : 0;
  h.I = st.sink_incoming.data() + bh * c.L;
  h.A = st.sink_allocation.data() + bh * c.L;
  h.O = st.source_outgoing.data() + bh * c.S;
  h.O_hat = st.conserved_source.data() + bh * c.S;
  h.C = st.source_competition.data() + bh * c.S;
  if (c.causal) {
    h.D_prefix = st.competition_prefix.data() + bh * c.L;
  } else {
    h.k_sum = st.key_sum.data() + bh * c.D;
    h.q_sum = st.query_sum.data() + bh * c.D;
    h.a = st.source_flow.data() + bh * c.D;
    h.b = st.sink_flow.data() + bh * c.D;
    h.kv = st.kv.data() + bh * c.D * c.M;
  }
  return h;
}

template <class Head>
bool padded(const Head& h, int64_t j) {
  return h.pad && h.pad[j];
}

// phi of all of q and of the valid keys (padded rows are zeroed so that garbage there can
// never reach KV through 0 * inf).
template <class T, class Stat>
void features(const FlowKernelConfig& c, const HeadSlice<T, Stat>& h, T* qf /*[L,D]*/,
              T* kf /*[S,D]*/) {
  feature_map(c.feature_map, h.q, qf, c.L * c.D);
  feature_map(c.feature_map, h.k, kf, c.S * c.D);
  if (h.pad)
    for (int64_t j = 0; j < c.S; ++j)
      if (h.pad[j]) std::fill_n(kf + j * c.D, c.D, T(0));
}

// The causal half (ops/cpu/flow_attention_causal_cpu.cpp), called by the entry points.
template <class T>
void causal_forward(const FlowKernelConfig& c, const T* q, const T* k, const T* v, T* y,
                    FlowAttentionSaved<T>& st);
template <class T>
void causal_backward(const FlowKernelConfig& c, const T* q, const T* k, const T* v, const T* gy,
                     const FlowAttentionSaved<T>& st, T* grad_q, T* grad_k, T* grad_v);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY::flow_heads
