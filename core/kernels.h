// The kernel surface: everything a backend must implement for Conflux to run on it.
//
// Kernels compute; they never record autograd history and never allocate their outputs
// (the op in ops/*.cpp allocates `out` with the right shape/dtype/device and calls the
// kernel through its table, see core/dispatch.h). Inputs may be any strided view unless
// a comment says "contiguous"; outputs are dense (contiguous) unless noted.
// CPU implementations: ops/cpu/*_cpu.cpp. CUDA: cuda/*.cu.
#pragma once

#include <cstdint>
#include <memory>

#include "core/dispatch.h"
#include "core/generator.h"
#include "core/tensor.h"

namespace cfx {

struct FlowAttentionOptions;    // ops/flow_attention.h
struct FlowAttentionStepState;  // ops/flow_attention_step.h

enum class UnaryOp { Neg, Exp, Log, Sqrt, Abs, Sigmoid, Tanh, Relu, GeluErf, GeluTanh, Sign };
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd };
enum class ReduceOp { Sum, Max, Min };

// ---- memory ----------------------------------------------------------------------------
// out[...] = value (any layout).
CFX_DECLARE_KERNEL(fill_kernel, void(Tensor& out, double value));
// dst[...] = src[...] converting dtype; same shape (src may be an expanded view), any layouts.
CFX_DECLARE_KERNEL(copy_kernel, void(Tensor& dst, const Tensor& src));
// out[i] = start + i * step (out is 1-d).
CFX_DECLARE_KERNEL(arange_kernel, void(Tensor& out, double start, double step));
// Uniform [lo, hi) or normal(mean, std) samples from philox(gen seed, reserved counters).
CFX_DECLARE_KERNEL(uniform_kernel, void(Tensor& out, double lo, double hi, Generator& gen));
CFX_DECLARE_KERNEL(normal_kernel, void(Tensor& out, double mean, double std, Generator& gen));

// ---- pointwise (inputs broadcast to out.shape()) -----------------------------------------
CFX_DECLARE_KERNEL(unary_kernel, void(UnaryOp op, const Tensor& x, Tensor& out));
// out = d op(x)/dx * grad, given x, y = op(x) and grad (all of out's shape).
CFX_DECLARE_KERNEL(unary_backward_kernel,
                   void(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad, Tensor& out));
// Comparisons and LogicalAnd write a Bool `out`; the rest write a's dtype (== b's).
CFX_DECLARE_KERNEL(binary_kernel, void(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out));
// out = cond ? a : b (cond is Bool).
CFX_DECLARE_KERNEL(where_kernel, void(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out));

// ---- reductions --------------------------------------------------------------------------
// out has x's shape with every dim in `dims` set to 1 (keepdim form).
CFX_DECLARE_KERNEL(reduce_kernel, void(ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out));
// out (Int64, keepdim form) = index of the first maximum along dim.
CFX_DECLARE_KERNEL(argmax_kernel, void(const Tensor& x, int64_t dim, Tensor& out));
CFX_DECLARE_KERNEL(cumsum_kernel, void(const Tensor& x, int64_t dim, Tensor& out));
// Max-subtracted softmax (or log_softmax) along dim, and its backward from y and grad.
CFX_DECLARE_KERNEL(softmax_kernel, void(const Tensor& x, int64_t dim, bool log, Tensor& out));
CFX_DECLARE_KERNEL(softmax_backward_kernel,
                   void(const Tensor& y, const Tensor& grad, int64_t dim, bool log, Tensor& out));

// ---- linear algebra ------------------------------------------------------------------------
// out[b] = a[b] @ b[b] for 3-d a [Bt,M,K], b [Bt,K,N], out [Bt,M,N] (dense). a and b may be
// transposed or batch-broadcast (batch stride 0) views; the kernel copies only what BLAS
// cannot take directly.
CFX_DECLARE_KERNEL(bmm_kernel, void(const Tensor& a, const Tensor& b, Tensor& out));

// ---- fused neural-network ops ---------------------------------------------------------------
// x: [N, C] contiguous; weight, bias: [C] or undefined. mean, rstd: [N] (float like x).
CFX_DECLARE_KERNEL(layer_norm_kernel, void(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                           double eps, Tensor& out, Tensor& mean, Tensor& rstd));
// grad_x [N,C]; grad_weight, grad_bias [C] (each may be undefined = not needed).
CFX_DECLARE_KERNEL(layer_norm_backward_kernel,
                   void(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias));
// out = x.index_select(dim, index) (index: Int64 1-d, checked by the op).
CFX_DECLARE_KERNEL(index_select_kernel, void(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out));
// out.index_select(dim, index) += src (repeated indices accumulate).
CFX_DECLARE_KERNEL(index_add_kernel, void(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src));
// logits [N, C] contiguous, target [N] Int64. loss_per_row [N] (0 for ignored rows);
// lse [N] saved log-sum-exp for backward.
CFX_DECLARE_KERNEL(cross_entropy_kernel,
                   void(const Tensor& logits, const Tensor& target, int64_t ignore_index,
                        double label_smoothing, Tensor& loss_per_row, Tensor& lse));
// grad_logits [N, C] = d(sum_i scale_i * loss_i)/dlogits with scale [N] (per-row weight).
CFX_DECLARE_KERNEL(cross_entropy_backward_kernel,
                   void(const Tensor& logits, const Tensor& target, const Tensor& lse,
                        const Tensor& row_scale, int64_t ignore_index, double label_smoothing,
                        Tensor& grad_logits));


// ---- optimiser updates (nn/optim.cpp) -------------------------------------------------------
// One fused in-place pass over a parameter per step, the math in double for float32 and
// float64 alike. p, g and the state buffers are contiguous, of one shape, dtype and device
// (the optimiser checks; otherwise it takes its tensor-op path). The scalars are computed by
// the optimiser (nn/optim.h gives the formulas).
struct SgdStep {
  double lr = 0;
  double weight_decay = 0;  // d = g + weight_decay·p
  double momentum = 0;      // with a momentum buffer: b = momentum·b + (1 - dampening)·d
  double dampening = 0;
  bool nesterov = false;    // d = d + momentum·b (else d = b)
  bool first = false;       // the parameter's first step: b = d
};
// p -= lr·d. `momentum_buffer` undefined = no momentum (then momentum etc. are unused).
CFX_DECLARE_KERNEL(sgd_step_kernel,
                   void(Tensor& p, const Tensor& g, Tensor& momentum_buffer, const SgdStep& args));
struct AdamStep {
  double step_size = 0;     // lr / (1 - beta1^t)
  double inv_sqrt_bc2 = 0;  // 1 / sqrt(1 - beta2^t)
  double beta1 = 0, beta2 = 0, eps = 0;
  double l2 = 0;            // Adam: g += l2·p (0 for AdamW)
  double shrink = 1;        // AdamW: p *= shrink = 1 - lr·wd (1 for Adam)
};
// g' = g + l2·p;  m = b1·m + (1-b1)·g';  v = b2·v + (1-b2)·g'²;
// p = p·shrink - step_size·m / (√v·inv_sqrt_bc2 + eps)   (m, v: exp_avg, exp_avg_sq).
CFX_DECLARE_KERNEL(adam_step_kernel,
                   void(Tensor& p, const Tensor& g, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamStep& args));

// ---- Flow-Attention (ops/flow_attention.h) ----------------------------------------------------
// What a backend's forward keeps for its backward (O(L) per batch x head, never L x S).
struct FlowAttentionState {
  virtual ~FlowAttentionState() = default;
};
// q [B,H,L,D], k [B,H,S,D], v [B,H,S,M] contiguous, options validated by the op;
// y [B,H,L,M]. `state` is null for inference (nothing is kept).
CFX_DECLARE_KERNEL(flow_attention_kernel,
                   void(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
                        Tensor& y, std::shared_ptr<FlowAttentionState>* state));
// Overwrites grad_q/grad_k/grad_v (each may be undefined = not needed).
CFX_DECLARE_KERNEL(flow_attention_backward_kernel,
                   void(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
                        const Tensor& grad_y, const FlowAttentionState& state, Tensor& grad_q, Tensor& grad_k,
                        Tensor& grad_v));
// The recurrent causal step (ops/flow_attention_step.h): q, k [B,H,T,D], v [B,H,T,M] contiguous;
// the state's tensors dense, of q's dtype and device (the op checks); y [B,H,T,M]. Reads
// state.position, updates the state's sums in place (the op advances position).
CFX_DECLARE_KERNEL(flow_attention_step_kernel,
                   void(const Tensor& q, const Tensor& k, const Tensor& v, const FlowAttentionOptions& opts,
                        FlowAttentionStepState& state, Tensor& y));

}  // namespace cfx
