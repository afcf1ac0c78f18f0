// The recurrent causal step of Flow-Attention on the CPU (ops/flow_attention_step.h): the
// causal forward's per-position statistics (0.3) read as running sums. For each (b,h) and each
// new token i at position n - 1 (n = position + i + 1), in the order causal_stats of
// ops/cpu/flow_attention_cpu.cpp computes them, so that both round alike:
//   q~ = phi(q_i), k~ = phi(k_i);  K~ += k~;  Q~ += q~
//   I = n / ((q~+eps).(K~+eps));  O = n / ((k~+eps).(Q~+eps))
//   P += O k~;  R += I q~
//   A = sigmoid((q~+eps).(P+eps) / n);  O^ = (k~+eps).(R+eps) / n
//   e = exp(clamp(O^));  E += e;  C = n e / E
//   KV += k~ (C v_i)^T;  y_i = (A I / n) q~^T KV
// O(D*M) per token and head, whatever the position. Threads: parallel over (b,h).
#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "ops/cpu/flow_rows.h"
#include "ops/flow_attention_step.h"
#include "ops/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

using namespace flow_rows;

struct StepConfig {
  int64_t BH = 0, T = 0, D = 0, M = 0;
  int64_t position = 0;  // tokens before the first new one
  double eps = 1e-6;
  bool has_clamp = true;
  double clamp = 1.0;
  FlowFeatureMap feature_map = FlowFeatureMap::Sigmoid;
};

// Raw views of FlowAttentionStepState, [BH, ...] each.
template <class T>
struct StepSums {
  T *k_sum, *q_sum, *P, *R;  // [BH,D]
  T* E;                      // [BH]
  T* kv;                     // [BH,D,M]
};

// One (b,h): q, k [T,D], v [T,M] -> y [T,M]; ws: [2D + M] scratch.
template <class T>
void step_head(const StepConfig& c, const T* q, const T* k, const T* v, T* y, T* k_sum, T* q_sum, T* P, T* R,
               T& E, T* kv, T* ws) {
  const int64_t D = c.D, M = c.M;
  const T eps = T(c.eps);
  T *qf = ws, *kf = qf + D, *cv = kf + D;
  for (int64_t i = 0; i < c.T; ++i) {
    const T n = T(c.position + i + 1);
    feature_map(c.feature_map, q + i * D, qf, D);
    feature_map(c.feature_map, k + i * D, kf, D);
    axpy(T(1), kf, k_sum, D);
    axpy(T(1), qf, q_sum, D);
    const T I = n / dot_eps(qf, k_sum, D, eps);
    const T O = n / dot_eps(kf, q_sum, D, eps);
    axpy(O, kf, P, D);
    axpy(I, qf, R, D);
    const T A = sigmoid(dot_eps(qf, P, D, eps) / n);
    const T o_hat = dot_eps(kf, R, D, eps) / n;
    const T e = std::exp(c.has_clamp ? std::clamp(o_hat, T(-c.clamp), T(c.clamp)) : o_hat);  // no max-subtraction
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

template <class T>
void step(const StepConfig& c, const T* q, const T* k, const T* v, T* y, const StepSums<T>& s) {
  const int64_t D = c.D, M = c.M, T_ = c.T;
  // Heads per task: enough work (~64k multiply-adds) to pay for a hand-off to the pool.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, T_ * D * M));
  parallel_for(0, c.BH, grain, [&](int64_t begin, int64_t end) {
    CpuBuffer<T> ws(static_cast<size_t>(2 * D + M));
    for (int64_t bh = begin; bh < end; ++bh)
      step_head(c, q + bh * T_ * D, k + bh * T_ * D, v + bh * T_ * M, y + bh * T_ * M, s.k_sum + bh * D,
                s.q_sum + bh * D, s.P + bh * D, s.R + bh * D, s.E[bh], s.kv + bh * D * M, ws.data());
  });
}

void step_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
              FlowAttentionStepState& state, Tensor& y) {
  StepConfig c;
  c.BH = q.size(0) * q.size(1);
  c.T = q.size(2);
  c.D = q.size(3);
  c.M = v.size(3);
  c.position = state.position;
  c.eps = opts.eps;
  c.has_clamp = opts.clamp.has_value();
  c.clamp = opts.clamp.value_or(0.0);
  c.feature_map = opts.feature_map == FlowAttentionOptions::FeatureMap::Sigmoid ? FlowFeatureMap::Sigmoid
                                                                                : FlowFeatureMap::ReluEps;
  visit_floating(q.dtype(), "flow_attention_step", [&]<class T>() {
    const StepSums<T> s{state.key_sum.data_ptr<T>(),   state.query_sum.data_ptr<T>(),
                        state.source_flow.data_ptr<T>(), state.sink_flow.data_ptr<T>(),
                        state.competition_sum.data_ptr<T>(), state.kv.data_ptr<T>()};
    step<T>(c, q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(), y.data_ptr<T>(), s);
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(flow_attention_step_kernel, step_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
