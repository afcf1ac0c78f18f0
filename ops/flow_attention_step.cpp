// flow_attention_step: input and state checks, then the step kernel of the tensors' device.
// The recurrence itself is in ops/cpu/flow_attention_step_cpu.cpp and cuda/flow_attention_step.cu.
#include "ops/flow_attention_step.h"

#include "autograd/node.h"
#include "ops/creation.h"
#include "ops/kernels.h"

namespace cfx {

namespace {

std::vector<const Tensor*> parts(const FlowAttentionStepState& s) {
  return {&s.key_sum, &s.query_sum, &s.source_flow, &s.sink_flow, &s.competition_sum, &s.kv};
}

void check_state(const FlowAttentionStepState& s, const Tensor& q, const Tensor& v) {
  const int64_t B = q.size(0), H = q.size(1), D = q.size(3), M = v.size(3);
  const Shape bhd{B, H, D};
  const std::pair<const Tensor*, Shape> expected[] = {
      {&s.key_sum, bhd}, {&s.query_sum, bhd}, {&s.source_flow, bhd}, {&s.sink_flow, bhd},
      {&s.competition_sum, {B, H}}, {&s.kv, {B, H, D, M}}};
  const char* names[] = {"key_sum", "query_sum", "source_flow", "sink_flow", "competition_sum", "kv"};
  for (size_t i = 0; i < std::size(expected); ++i) {
    const Tensor& t = *expected[i].first;
    CFX_CHECK(t.defined(), "flow_attention_step: state.", names[i],
              " is undefined; start from FlowAttentionStepState::zeros(B, H, D, M, dtype, device)");
    CFX_CHECK(t.shape() == expected[i].second, "flow_attention_step: state.", names[i], " is ", t.shape(),
              ", expected ", expected[i].second, " for q ", q.shape(), " and v ", v.shape());
    CFX_CHECK(t.dtype() == q.dtype() && t.device() == q.device(), "flow_attention_step: state.", names[i], " is ",
              t.dtype(), " on ", t.device(), ", the inputs ", q.dtype(), " on ", q.device());
    CFX_CHECK(t.is_contiguous(), "flow_attention_step: state.", names[i], " must be contiguous");
  }
  CFX_CHECK(s.position >= 0, "flow_attention_step: state.position is negative (", s.position, ")");
}

}  // namespace

FlowAttentionStepState FlowAttentionStepState::zeros(int64_t B, int64_t H, int64_t D, int64_t M, DType dtype,
                                                     Device device) {
  CFX_CHECK(B >= 0 && H >= 0 && D >= 1 && M >= 1, "FlowAttentionStepState::zeros: bad sizes B=", B, " H=", H,
            " D=", D, " M=", M);
  const TensorOptions o{dtype, device};
  FlowAttentionStepState s;
  s.key_sum = cfx::zeros({B, H, D}, o);
  s.query_sum = cfx::zeros({B, H, D}, o);
  s.source_flow = cfx::zeros({B, H, D}, o);
  s.sink_flow = cfx::zeros({B, H, D}, o);
  s.competition_sum = cfx::zeros({B, H}, o);
  s.kv = cfx::zeros({B, H, D, M}, o);
  return s;
}

int64_t FlowAttentionStepState::bytes() const {
  int64_t n = 0;
  for (const Tensor* t : parts(*this))
    if (t->defined()) n += t->numel() * static_cast<int64_t>(itemsize(t->dtype()));
  return n;
}

FlowAttentionStepState FlowAttentionStepState::to(Device device) const {
  FlowAttentionStepState s = *this;
  for (Tensor* t : {&s.key_sum, &s.query_sum, &s.source_flow, &s.sink_flow, &s.competition_sum, &s.kv})
    *t = t->to(device).contiguous();
  return s;
}

Tensor flow_attention_step(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, FlowAttentionStepState& state,
                           const FlowAttentionOptions& opts) {
  CFX_CHECK(q_in.dim() == 4 && k_in.dim() == 4 && v_in.dim() == 4,
            "flow_attention_step: expected q [B,H,T,D], k [B,H,T,D], v [B,H,T,M], got ", q_in.shape(), ", ",
            k_in.shape(), ", ", v_in.shape());
  CFX_CHECK(q_in.dtype() == k_in.dtype() && k_in.dtype() == v_in.dtype() && is_floating(q_in.dtype()),
            "flow_attention_step: q, k, v must share a float dtype, got ", q_in.dtype(), ", ", k_in.dtype(), ", ",
            v_in.dtype());
  CFX_CHECK(q_in.device() == k_in.device() && k_in.device() == v_in.device(),
            "flow_attention_step: q, k, v on different devices: ", q_in.device(), ", ", k_in.device(), ", ",
            v_in.device());
  CFX_CHECK(q_in.shape() == k_in.shape() && v_in.size(0) == q_in.size(0) && v_in.size(1) == q_in.size(1) &&
                v_in.size(2) == q_in.size(2),
            "flow_attention_step: q and k must be [B,H,T,D] and v [B,H,T,M] of the same B, H, T, got ", q_in.shape(),
            ", ", k_in.shape(), ", ", v_in.shape());
  CFX_CHECK(opts.causal, "flow_attention_step: the recurrence is causal attention; pass causal options "
            "(FlowAttentionOptions::nlp(), rl(), or causal = true)");
  CFX_CHECK(opts.competition == FlowAttentionOptions::Competition::Sequence && !opts.key_padding_mask.defined(),
            "flow_attention_step: causal attention takes the sequence competition and no key padding mask");
  CFX_CHECK(opts.eps > 0, "flow_attention_step: eps must be positive, got ", opts.eps);
  CFX_CHECK(!opts.clamp || *opts.clamp > 0, "flow_attention_step: clamp bound must be positive, got ", *opts.clamp);
  CFX_CHECK(!autograd::needs_grad({&q_in, &k_in, &v_in}),
            "flow_attention_step: inference only (it has no backward), but an input requires grad; run it under "
            "NoGradGuard, or train with flow_attention(q, k, v, causal options)");
  check_state(state, q_in, v_in);
  const Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  Tensor y = detail::make_empty({q.size(0), q.size(1), q.size(2), v.size(3)}, q.dtype(), q.device());
  if (q.numel() > 0 && v.numel() > 0) flow_attention_step_kernel(q.device(), q, k, v, opts, state, y);
  state.position += q.size(2);
  return y;
}

}  // namespace cfx
