// Registers the fused CPU Flow-Attention kernels (ops/cpu/flow_attention_cpu.cpp and
// flow_attention_step_cpu.cpp, raw arrays) as the CPU entries of flow_attention_kernel,
// flow_attention_backward_kernel and flow_attention_step_kernel:
// points the kernels' FlowKernelConfig (ops/flow_attention_kernel.h) at the tensors' data and
// keeps their saved state between forward and backward.
#include "ops/cpu/flow_attention_cpu.h"
#include "ops/flow_attention.h"
#include "ops/flow_attention_step.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

template <class T>
struct CpuFlowState final : FlowAttentionState {
  FlowAttentionSaved<T> saved;
  Tensor key_padding_mask;  // kept alive: the config points into it
};

FlowKernelConfig make_config(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& o,
                             const Tensor& mask) {
  FlowKernelConfig c = flow_kernel_config(q, k, v, o);
  c.key_padding_mask = mask.defined() ? static_cast<const uint8_t*>(mask.raw_data()) : nullptr;
  return c;
}

void forward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts, Tensor& y,
                 std::shared_ptr<FlowAttentionState>* state) {
  const Tensor mask = opts.key_padding_mask.defined() ? opts.key_padding_mask.contiguous() : Tensor();
  const FlowKernelConfig cfg = make_config(q, k, v, opts, mask);
  visit_floating(q.dtype(), "flow_attention", [&]<class T>() {
    std::shared_ptr<CpuFlowState<T>> s;
    if (state) {
      s = std::make_shared<CpuFlowState<T>>();
      s->key_padding_mask = mask;
    }
    flow_attention_forward<T>(cfg, q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(), y.data_ptr<T>(),
                              s ? &s->saved : nullptr);
    if (state) *state = std::move(s);
  });
}

void backward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
                  const Tensor& grad_y, const FlowAttentionState& state, Tensor& grad_q, Tensor& grad_k,
                  Tensor& grad_v) {
  visit_floating(q.dtype(), "flow_attention backward", [&]<class T>() {
    const auto& s = dynamic_cast<const CpuFlowState<T>&>(state);
    const FlowKernelConfig cfg = make_config(q, k, v, opts, s.key_padding_mask);
    auto ptr = [](Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
    flow_attention_backward<T>(cfg, q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(), grad_y.data_ptr<T>(), s.saved,
                               ptr(grad_q), ptr(grad_k), ptr(grad_v));
  });
}

// The recurrent step: q, k, v hold the L new tokens (S == L, causal; checked by the op).
void step_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
              FlowAttentionStepState& state, Tensor& y) {
  const FlowKernelConfig cfg = make_config(q, k, v, opts, Tensor());
  visit_floating(q.dtype(), "flow_attention_step", [&]<class T>() {
    const FlowStepSums<T> sums{state.key_sum.data_ptr<T>(), state.query_sum.data_ptr<T>(),
                               state.source_flow.data_ptr<T>(), state.sink_flow.data_ptr<T>(),
                               state.competition_sum.data_ptr<T>(), state.kv.data_ptr<T>()};
    flow_attention_step<T>(cfg, state.position, q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(), y.data_ptr<T>(),
                           sums);
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(flow_attention_kernel, forward_cpu);
CFX_REGISTER_CPU_KERNEL(flow_attention_backward_kernel, backward_cpu);
CFX_REGISTER_CPU_KERNEL(flow_attention_step_kernel, step_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
