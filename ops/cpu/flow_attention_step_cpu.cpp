// The recurrent causal step of Flow-Attention on the CPU (ops/flow_attention_step.h): the
// causal forward's per-position statistics (0.3) read as running sums. For each (b,h) and each
// new token i at position n - 1 (n = position + i + 1), in the order causal_stats of
// ops/cpu/flow_attention_cpu.cpp computes them, so that both round alike:
//   q~ = phi(q_i), k~ = phi(k_i);  K~ += k~;  Q~ += q~
//   I = n / ((q~+eps).(K~+eps));  O = n / ((k~+eps).(Q~+eps))   (CV: each of the 4 dots + eps)
//   P += O k~;  R += I q~
//   A = sigmoid((q~+eps).(P+eps) / n);  O^ = (k~+eps).(R+eps) / n
//   e = exp(clamp(O^));  E += e;  C = n e / E
//   KV += k~ (C v_i)^T;  y_i = (A I / n) q~^T KV
// O(D*M) per token and head, whatever the position. Threads: parallel over (b,h). Raw arrays
// only, like the full kernels; ops/cpu/flow_attention_tensor_cpu.cpp registers it.
#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "ops/cpu/flow_attention_cpu.h"  // defines: flow_attention_step
#include "ops/cpu/flow_rows.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

using namespace flow_rows;

// One (b,h): q, k [L,D], v [L,M] -> y [L,M]; ws: [2D + M] scratch.
template <class T>
void step_head(const FlowKernelConfig& c, int64_t position, const T* q, const T* k, const T* v, T* y, T* k_sum,
               T* q_sum, T* P, T* R, T& E, T* kv, T* ws) {
  const int64_t D = c.D, M = c.M;
  const T eps = T(c.eps), after = T(c.dot_offset());  // CV: each dot + eps, as causal_stats
  T *qf = ws, *kf = qf + D, *cv = kf + D;
  for (int64_t i = 0; i < c.L; ++i) {
    const T n = T(position + i + 1);
    feature_map(c.feature_map, q + i * D, qf, D);
    feature_map(c.feature_map, k + i * D, kf, D);
    axpy(T(1), kf, k_sum, D);
    axpy(T(1), qf, q_sum, D);
    const T I = n / dot_eps(qf, k_sum, D, eps, after);
    const T O = n / dot_eps(kf, q_sum, D, eps, after);
    axpy(O, kf, P, D);
    axpy(I, qf, R, D);
    const T A = sigmoid(dot_eps(qf, P, D, eps, after) / n);
    const T o_hat = dot_eps(kf, R, D, eps, after) / n;
    const T e = std::exp(clamp_source(c, o_hat));  // no max-subtraction: official
    E += e;
    const T C = n * e / E;
    scale_into(C, v + i * M, cv, M);
    for (int64_t d = 0; d < D; ++d) axpy(kf[d], cv, kv + d * M, M);
    scale(A * I / n, qf, D);
    T* yi = y + i * M;
    std::fill_n(yi, M, T(0));
    for (int64_t d = 0; d < D; ++d) axpy(qf[d], kv + d * M, yi, M);
  }
}

}  // namespace

template <class T>
void flow_attention_step(const FlowKernelConfig& c, int64_t position, const T* q, const T* k, const T* v, T* y,
                         const FlowStepSums<T>& s) {
  const int64_t D = c.D, M = c.M, L = c.L;
  // Heads per task: enough work (~64k multiply-adds) to pay for a hand-off to the pool.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, L * D * M));
  parallel_for(0, c.B * c.H, grain, [&](int64_t begin, int64_t end) {
    CpuBuffer<T> ws(static_cast<size_t>(2 * D + M));
    for (int64_t bh = begin; bh < end; ++bh)
      step_head(c, position, q + bh * L * D, k + bh * L * D, v + bh * L * M, y + bh * L * M, s.key_sum + bh * D,
                s.query_sum + bh * D, s.source_flow + bh * D, s.sink_flow + bh * D, s.competition_sum[bh],
                s.kv + bh * D * M, ws.data());
  });
}

template void flow_attention_step<float>(const FlowKernelConfig&, int64_t, const float*, const float*,
                                         const float*, float*, const FlowStepSums<float>&);
template void flow_attention_step<double>(const FlowKernelConfig&, int64_t, const double*, const double*,
                                          const double*, double*, const FlowStepSums<double>&);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
