// flow_attention: input checks, the call to the fused kernel of the tensors' device, and the
// one autograd node whose backward is the fused analytic backward (BENCHMARKS.md 0.6).
// Nothing here is O(L x S): the kernels keep O(L) normalisers per batch x head.
#include "ops/flow_attention.h"

#include "autograd/node.h"
#include "ops/flow_attention_kernel.h"
#include "core/kernels.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts) {
  CFX_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "flow_attention: expected q [B,H,L,D], k [B,H,S,D], ",
            "v [B,H,S,M], got ", q.shape(), ", ", k.shape(), ", ", v.shape());
  CFX_CHECK(q.dtype() == k.dtype() && k.dtype() == v.dtype() && is_floating(q.dtype()),
            "flow_attention: q, k, v must share a float dtype, got ", q.dtype(), ", ", k.dtype(), ", ", v.dtype());
  CFX_CHECK(q.device() == k.device() && k.device() == v.device(), "flow_attention: q, k, v on different devices: ",
            q.device(), ", ", k.device(), ", ", v.device());
  CFX_CHECK(q.size(0) == k.size(0) && q.size(0) == v.size(0) && q.size(1) == k.size(1) && q.size(1) == v.size(1),
            "flow_attention: q, k, v must agree on B and H, got ", q.shape(), ", ", k.shape(), ", ", v.shape());
  CFX_CHECK(q.size(3) == k.size(3), "flow_attention: q and k must have the same head dim D, got ", q.shape(),
            " and ", k.shape());
  CFX_CHECK(k.size(2) == v.size(2), "flow_attention: k and v must have the same length S, got ", k.shape(), " and ",
            v.shape());
  CFX_CHECK(k.size(2) > 0 && q.size(2) > 0, "flow_attention: empty sequence (L=", q.size(2), ", S=", k.size(2), ")");
  CFX_CHECK(opts.eps > 0, "flow_attention: eps must be positive, got ", opts.eps);
  CFX_CHECK(!opts.clamp || *opts.clamp > 0, "flow_attention: clamp bound must be positive, got ", *opts.clamp);
  if (opts.causal) {
    CFX_CHECK(q.size(2) == k.size(2), "flow_attention: causal needs L == S, got L=", q.size(2), ", S=", k.size(2));
    CFX_CHECK(opts.competition == FlowAttentionOptions::Competition::Sequence,
              "flow_attention: the heads-axis competition (LRA) is non-causal only");
    CFX_CHECK(!opts.key_padding_mask.defined(), "flow_attention: key_padding_mask is for non-causal attention; with "
              "causal attention right padding never reaches real tokens, so mask the loss instead");
  }
  if (opts.key_padding_mask.defined()) {
    const Tensor& m = opts.key_padding_mask;
    CFX_CHECK(m.dtype() == kBool && m.shape() == (Shape{k.size(0), k.size(2)}),
              "flow_attention: key_padding_mask must be bool [B, S] = ", (Shape{k.size(0), k.size(2)}), ", got ",
              m.dtype(), " ", m.shape());
    CFX_CHECK(m.device() == k.device(), "flow_attention: key_padding_mask on ", m.device(), ", keys on ", k.device());
  }
}

}  // namespace

FlowKernelConfig flow_kernel_config(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts) {
  FlowKernelConfig c;
  c.B = q.size(0), c.H = q.size(1), c.L = q.size(2), c.S = k.size(2), c.D = q.size(3), c.M = v.size(3);
  c.causal = opts.causal;
  c.eps = opts.eps;
  c.eps_after_dot = opts.eps_after_dot;
  c.has_clamp = opts.clamp.has_value();
  c.clamp = opts.clamp.value_or(0.0);
  c.feature_map = opts.feature_map;
  c.competition = opts.competition;
  return c;
}

Tensor flow_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const FlowAttentionOptions& opts) {
  CFX_PROFILE_OP("flow_attention");
  check_inputs(q_in, k_in, v_in, opts);
  // The fused kernels read dense [B,H,*,*] blocks; head-split views ([B,L,H,D] transposed)
  // are copied once here, where a reader can see it.
  const Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  Tensor y = detail::make_empty({q.size(0), q.size(1), q.size(2), v.size(3)}, q.dtype(), q.device());
  const bool record = autograd::needs_grad({&q_in, &k_in, &v_in});
  std::shared_ptr<FlowAttentionState> state;
  flow_attention_kernel(q.device(), q, k, v, opts, y, record ? &state : nullptr);

  // Backward: the kernel's analytic gradients from the saved normalisers (O(L) each) and
  // the inputs; phi(q), phi(k) are recomputed rather than stored.
  autograd::record("flow_attention", y, {q_in, k_in, v_in},
                   [q = q.detach(), k = k.detach(), v = v.detach(), opts, state](const Tensor& g,
                                                                                 const NeedsGrad& needs) {
                     Tensor gq = needs[0] ? detail::make_empty(q.shape(), q.dtype(), q.device()) : Tensor();
                     Tensor gk = needs[1] ? detail::make_empty(k.shape(), k.dtype(), k.device()) : Tensor();
                     Tensor gv = needs[2] ? detail::make_empty(v.shape(), v.dtype(), v.device()) : Tensor();
                     flow_attention_backward_kernel(q.device(), q, k, v, opts, g.contiguous(), *state, gq, gk, gv);
                     return grads{gq, gk, gv};
                   });
  return y;
}

}  // namespace cfx
