// The kernel tables declared in core/kernels.h (backends fill them in).
#include "core/kernels.h"

#include "core/detail/static_tls.h"

namespace cfx {

CFX_STATIC_TLS thread_local constinit std::vector<const char*>* detail::kernel_call_log = nullptr;

CFX_DEFINE_KERNEL(fill_kernel, void(Tensor&, double));
CFX_DEFINE_KERNEL(copy_kernel, void(Tensor&, const Tensor&));
CFX_DEFINE_KERNEL(arange_kernel, void(Tensor&, double, double));
CFX_DEFINE_KERNEL(uniform_kernel, void(Tensor&, double, double, Generator&));
CFX_DEFINE_KERNEL(normal_kernel, void(Tensor&, double, double, Generator&));
CFX_DEFINE_KERNEL(unary_kernel, void(UnaryOp, const Tensor&, Tensor&));
CFX_DEFINE_KERNEL(unary_backward_kernel, void(UnaryOp, const Tensor&, const Tensor&, const Tensor&, Tensor&));
CFX_DEFINE_KERNEL(binary_kernel, void(BinaryOp, const Tensor&, const Tensor&, Tensor&));
CFX_DEFINE_KERNEL(where_kernel, void(const Tensor&, const Tensor&, const Tensor&, Tensor&));
CFX_DEFINE_KERNEL(reduce_kernel, void(ReduceOp, const Tensor&, const Shape&, Tensor&));
CFX_DEFINE_KERNEL(argmax_kernel, void(const Tensor&, int64_t, Tensor&));
CFX_DEFINE_KERNEL(cumsum_kernel, void(const Tensor&, int64_t, Tensor&));
CFX_DEFINE_KERNEL(softmax_kernel, void(const Tensor&, int64_t, bool, Tensor&));
CFX_DEFINE_KERNEL(softmax_backward_kernel, void(const Tensor&, const Tensor&, int64_t, bool, Tensor&));
CFX_DEFINE_KERNEL(bmm_kernel, void(const Tensor&, const Tensor&, Tensor&));
CFX_DEFINE_KERNEL(layer_norm_kernel,
                  void(const Tensor&, const Tensor&, const Tensor&, double, Tensor&, Tensor&, Tensor&));
CFX_DEFINE_KERNEL(layer_norm_backward_kernel, void(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                                   const Tensor&, Tensor&, Tensor&, Tensor&));
CFX_DEFINE_KERNEL(index_select_kernel, void(const Tensor&, int64_t, const Tensor&, Tensor&));
CFX_DEFINE_KERNEL(index_add_kernel, void(Tensor&, int64_t, const Tensor&, const Tensor&));
CFX_DEFINE_KERNEL(cross_entropy_kernel, void(const Tensor&, const Tensor&, int64_t, double, Tensor&, Tensor&));
CFX_DEFINE_KERNEL(cross_entropy_backward_kernel, void(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                                      int64_t, double, Tensor&));
CFX_DEFINE_KERNEL(sgd_step_kernel, void(Tensor&, const Tensor&, Tensor&, const SgdStep&));
CFX_DEFINE_KERNEL(adam_step_kernel, void(Tensor&, const Tensor&, Tensor&, Tensor&, const AdamStep&));

CFX_DEFINE_KERNEL(flow_attention_kernel, void(const Tensor&, const Tensor&, const Tensor&, const FlowAttentionOptions&,
                                               Tensor&, std::shared_ptr<FlowAttentionState>*));
CFX_DEFINE_KERNEL(flow_attention_backward_kernel,
                  void(const Tensor&, const Tensor&, const Tensor&, const FlowAttentionOptions&, const Tensor&,
                       const FlowAttentionState&, Tensor&, Tensor&, Tensor&));
CFX_DEFINE_KERNEL(flow_attention_step_kernel, void(const Tensor&, const Tensor&, const Tensor&,
                                                    const FlowAttentionOptions&, FlowAttentionStepState&, Tensor&));

}  // namespace cfx
