// How both backends' bmm kernels (ops/cpu/blas_cpu.cpp on OpenBLAS, cuda/blas.cu on cuBLAS)
// hand a strided operand to BLAS: in place when its layout allows, else as a dense copy made
// by the operand's own device; and the one argument check of bmm_kernel.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "core/tensor.h"

namespace cfx {

// The layout of a rows x cols matrix with element strides (rs, cs), if BLAS can read it as
// is: {transposed, ld}. Row-major (cs == 1) is not transposed with ld = rs; column-major
// (rs == 1) is transposed with ld = cs. BLAS needs ld >= max(1, leading extent); a stride
// over a size-1 dim never matters.
inline std::optional<std::pair<bool, int64_t>> blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  const int64_t min_ld_row = std::max<int64_t>(cols, 1), min_ld_col = std::max<int64_t>(rows, 1);
  if ((cs == 1 || cols == 1) && (rows == 1 || rs >= min_ld_row)) return std::pair{false, rows == 1 ? min_ld_row : rs};
  if ((rs == 1 || rows == 1) && (cols == 1 || cs >= min_ld_col)) return std::pair{true, cols == 1 ? min_ld_col : cs};
  return std::nullopt;
}

// One operand [Bt, rows, cols] of a batched GEMM, in row-major terms.
struct BlasOperand {
  const void* data = nullptr;
  int64_t batch_stride = 0;  // elements between batch items; 0 = broadcast
  bool trans = false;        // stored transposed (column-major)
  int64_t ld = 1;
  Tensor copy;  // keeps the dense copy alive when one was needed
};

// Describes t for BLAS, copying it to dense (on t's device) only if it must; a broadcast
// batch (stride 0) is copied once.
BlasOperand blas_operand(const Tensor& t);

// bmm_kernel's contract: a [Bt,M,K], b [Bt,K,N], out [Bt,M,N] dense, one dtype, one device.
void check_bmm_operands(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace cfx
