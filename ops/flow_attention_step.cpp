// flow_attention_step: input and state checks, then the step kernel of the tensors' device.
// The recurrence itself is in ops/cpu/flow_attention_step_cpu.cpp and cuda/flow_attention_step.cu.
#include "ops/flow_attention_step.h"

#include <array>
#include <utility>

#include "autograd/node.h"
#include "ops/creation.h"
#include "core/kernels.h"

namespace cfx {

namespace {

// The state's tensors with their names, the one list the checks, bytes() and to() walk.
template <class State>  // FlowAttentionStepState, const or not
auto fields(State& s) {
  using Ptr = decltype(&s.kv);
  return std::array<std::pair<const char*, Ptr>, 6>{{{"key_sum", &s.key_sum},
                                                     {"query_sum", &s.query_sum},
                                                     {"source_flow", &s.source_flow},
                                                     {"sink_flow", &s.sink_flow},
                                                     {"competition_sum", &s.competition_sum},
                                                     {"kv", &s.kv}}};
}

// The shapes of fields(), in its order, for B x H heads of dims D, M.
std::array<Shape, 6> field_shapes(int64_t B, int64_t H, int64_t D, int64_t M) {
  return {{{B, H, D}, {B, H, D}, {B, H, D}, {B, H, D}, {B, H}, {B, H, D, M}}};
}

void check_state(const FlowAttentionStepState& s, const Tensor& q, const Tensor& v) {
  const auto expected = field_shapes(q.size(0), q.size(1), q.size(3), v.size(3));
  size_t i = 0;
  for (const auto& [name, t] : fields(s)) {
    CFX_CHECK(t->defined(), "flow_attention_step: state.", name,
              " is undefined; start from FlowAttentionStepState::zeros(B, H, D, M, dtype, device)");
    CFX_CHECK(t->shape() == expected[i], "flow_attention_step: state.", name, " is ", t->shape(), ", expected ",
              expected[i], " for q ", q.shape(), " and v ", v.shape());
    CFX_CHECK(t->dtype() == q.dtype() && t->device() == q.device(), "flow_attention_step: state.", name, " is ",
              t->dtype(), " on ", t->device(), ", the inputs ", q.dtype(), " on ", q.device());
    CFX_CHECK(t->is_contiguous(), "flow_attention_step: state.", name, " must be contiguous");
    ++i;
  }
  CFX_CHECK(s.position >= 0, "flow_attention_step: state.position is negative (", s.position, ")");
}

}  // namespace

FlowAttentionStepState FlowAttentionStepState::zeros(int64_t B, int64_t H, int64_t D, int64_t M, DType dtype,
                                                     Device device) {
  CFX_CHECK(B >= 0 && H >= 0 && D >= 1 && M >= 1, "FlowAttentionStepState::zeros: bad sizes B=", B, " H=", H,
            " D=", D, " M=", M);
  const auto shapes = field_shapes(B, H, D, M);
  FlowAttentionStepState s;
  size_t i = 0;
  for (const auto& [name, t] : fields(s)) *t = cfx::zeros(shapes[i++], {dtype, device});
  return s;
}

int64_t FlowAttentionStepState::bytes() const {
  int64_t n = 0;
  for (const auto& [name, t] : fields(*this))
    if (t->defined()) n += t->numel() * static_cast<int64_t>(itemsize(t->dtype()));
  return n;
}

FlowAttentionStepState FlowAttentionStepState::to(Device device) const {
  FlowAttentionStepState s = *this;
  for (const auto& [name, t] : fields(s)) *t = t->to(device).contiguous();
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
