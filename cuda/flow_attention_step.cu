// The recurrent causal step of Flow-Attention on CUDA (ops/flow_attention_step.h). CPU twin:
// ops/cpu/flow_attention_step_cpu.cpp, whose header comment lists the recurrence; the order
// of the operations here is the same.
//
// Launch: one block of kBlock threads per (b,h), walking its T new tokens in order (the state
// carries a dependency from one token to the next). Per token, threads stride over D for the
// feature maps, the running D-vectors and the four normaliser dots (block_reduce: a fixed tree,
// so results do not depend on timing), then over D*M for the KV update and over M for the
// output row. Decoding one token reads the D x M state once and writes it once: a memory-bound
// O(D*M) step, independent of the position.
#include "cuda/flow_attention.cuh"
#include "ops/flow_attention_step.h"

namespace cfx::cuda::flow {
namespace {

constexpr int kStepBlock = 128;

template <class T>
struct StepArgs {
  int64_t Tn = 0, D = 0, M = 0, position = 0;
  T eps = 0, after = 0, clamp = 0;  // after: + eps on each normaliser dot (CV), else 0
  bool has_clamp = true, relu = false;
  const T *q = nullptr, *k = nullptr, *v = nullptr;  // [BH,Tn,D], [BH,Tn,D], [BH,Tn,M]
  T* y = nullptr;                                    // [BH,Tn,M]
  T *k_sum = nullptr, *q_sum = nullptr, *P = nullptr, *R = nullptr;  // [BH,D]
  T* E = nullptr;                                    // [BH]
  T* kv = nullptr;                                   // [BH,D,M]
  T* ws = nullptr;                                   // [BH, 2D + M] scratch: q~, k~, C v
};

template <class T>
__global__ void step_kernel(StepArgs<T> a) {
  const int64_t bh = blockIdx.x, D = a.D, M = a.M;
  const int t = threadIdx.x;
  T *qf = a.ws + bh * (2 * D + M), *kf = qf + D, *cv = kf + D;
  T *k_sum = a.k_sum + bh * D, *q_sum = a.q_sum + bh * D, *P = a.P + bh * D, *R = a.R + bh * D;
  T* kv = a.kv + bh * D * M;
  T E = a.E[bh];  // every thread keeps the same running sum; thread 0 stores it at the end
  for (int64_t i = 0; i < a.Tn; ++i) {
    const int64_t row = bh * a.Tn + i;
    const T n = T(a.position + i + 1), eps = a.eps;
    T dot_i = 0, dot_o = 0;
    for (int64_t d = t; d < D; d += kStepBlock) {
      const T qd = phi(a.relu, a.q[row * D + d]), kd = phi(a.relu, a.k[row * D + d]);
      qf[d] = qd, kf[d] = kd;
      k_sum[d] += kd, q_sum[d] += qd;
      dot_i += (qd + eps) * (k_sum[d] + eps);
      dot_o += (kd + eps) * (q_sum[d] + eps);
    }
    const T I = n / (block_reduce<kStepBlock>(dot_i, SumOp{}) + a.after);
    const T O = n / (block_reduce<kStepBlock>(dot_o, SumOp{}) + a.after);
    T dot_a = 0, dot_c = 0;
    for (int64_t d = t; d < D; d += kStepBlock) {  // the same d as above: this thread's own writes
      P[d] += O * kf[d], R[d] += I * qf[d];
      dot_a += (qf[d] + eps) * (P[d] + eps);
      dot_c += (kf[d] + eps) * (R[d] + eps);
    }
    const T A = d_sigmoid((block_reduce<kStepBlock>(dot_a, SumOp{}) + a.after) / n);
    const T o_hat = (block_reduce<kStepBlock>(dot_c, SumOp{}) + a.after) / n;
    const T e = d_exp(clamp_source(a.has_clamp, a.clamp, o_hat));  // no max-subtraction: official
    E += e;
    const T C = n * e / E;
    for (int64_t m = t; m < M; m += kStepBlock) cv[m] = C * a.v[row * M + m];
    __syncthreads();  // cv and kf complete
    for (int64_t e_dm = t; e_dm < D * M; e_dm += kStepBlock) kv[e_dm] += kf[e_dm / M] * cv[e_dm % M];
    __syncthreads();  // kv complete
    const T s = A * I / n;
    for (int64_t m = t; m < M; m += kStepBlock) {
      T acc = 0;
      for (int64_t d = 0; d < D; ++d) acc += (s * qf[d]) * kv[d * M + m];
      a.y[row * M + m] = acc;
    }
    __syncthreads();  // qf, kf, cv are rewritten by the next token
  }
  if (t == 0) a.E[bh] = E;
}

template <class T>
void step_t(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
            FlowAttentionStepState& st, Tensor& y) {
  OnDevice on(q.device());
  const int64_t BH = q.size(0) * q.size(1);
  StepArgs<T> a;
  a.Tn = q.size(2), a.D = q.size(3), a.M = v.size(3), a.position = st.position;
  const FlowKernelConfig c = flow_kernel_config(q, k, v, opts);
  a.eps = T(c.eps), a.after = T(c.dot_offset());
  a.has_clamp = c.has_clamp, a.clamp = T(c.clamp);
  a.relu = c.relu_features();
  a.q = ptr<T>(q), a.k = ptr<T>(k), a.v = ptr<T>(v), a.y = ptr<T>(y);
  a.k_sum = ptr<T>(st.key_sum), a.q_sum = ptr<T>(st.query_sum);
  a.P = ptr<T>(st.source_flow), a.R = ptr<T>(st.sink_flow);
  a.E = ptr<T>(st.competition_sum), a.kv = ptr<T>(st.kv);
  Tensor ws = buffer(q, {BH, 2 * a.D + a.M});
  a.ws = ptr<T>(ws);
  CFX_CHECK(BH <= 0x7fffffff, "flow_attention_step (cuda): B*H = ", BH, " exceeds the grid's 2^31 - 1 blocks");
  step_kernel<T><<<static_cast<unsigned>(BH), kStepBlock, 0, on.stream()>>>(a);
  CFX_CUDA_CHECK_LAUNCH();
}

void step_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
               FlowAttentionStepState& state, Tensor& y) {
  visit_floating(q.dtype(), "flow_attention_step", [&]<class T>() { step_t<T>(q, k, v, opts, state, y); });
}

}  // namespace

CFX_REGISTER_KERNEL(flow_attention_step_kernel, DeviceType::CUDA, step_cuda);

}  // namespace cfx::cuda::flow
