#include "ops/blas_operand.h"

#include "core/error.h"
#include "core/kernels.h"

namespace cfx {

BlasOperand blas_operand(const Tensor& t) {
  const int64_t batch = t.size(0), rows = t.size(1), cols = t.size(2);
  BlasOperand op;
  op.batch_stride = batch == 1 ? 0 : t.stride(0);
  if (auto layout = blas_layout(rows, cols, t.stride(1), t.stride(2))) {
    op.data = t.raw_data();
    op.trans = layout->first;
    op.ld = layout->second;
    return op;
  }
  // Neither unit stride: copy to row-major.
  const int64_t copies = op.batch_stride == 0 ? 1 : batch;
  Tensor src = detail::make_view(t, {copies, rows, cols}, {op.batch_stride, t.stride(1), t.stride(2)}, t.offset());
  op.copy = detail::make_empty(src.shape(), t.dtype(), t.device());
  copy_kernel(t.device(), op.copy, src);
  op.data = op.copy.raw_data();
  op.batch_stride = copies == 1 ? 0 : rows * cols;
  op.trans = false;
  op.ld = std::max<int64_t>(cols, 1);
  return op;
}

void check_bmm_operands(const Tensor& a, const Tensor& b, const Tensor& out) {
  CFX_CHECK(a.dim() == 3 && b.dim() == 3 && out.dim() == 3, "bmm_kernel: expected 3-d a, b and out, got ",
            a.shape(), ", ", b.shape(), " and ", out.shape());
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  CFX_CHECK(a.size(0) == batch && b.size(0) == batch && a.size(1) == m && b.size(1) == k && b.size(2) == n,
            "bmm_kernel: expected a [Bt,M,K], b [Bt,K,N], out [Bt,M,N], got ", a.shape(), ", ", b.shape(), " and ",
            out.shape());
  CFX_CHECK(a.dtype() == b.dtype() && a.dtype() == out.dtype(), "bmm_kernel: dtypes differ: ", a.dtype(), ", ",
            b.dtype(), " and ", out.dtype());
  CFX_CHECK(a.device() == out.device() && b.device() == out.device(), "bmm_kernel: tensors on different devices: ",
            a.device(), ", ", b.device(), " and ", out.device());
  CFX_CHECK(out.is_contiguous(), "bmm_kernel: out must be dense, got strides ", out.strides());
}

}  // namespace cfx
