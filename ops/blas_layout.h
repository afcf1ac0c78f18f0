// How BLAS (OpenBLAS on the CPU, cuBLAS on the GPU) can read a strided matrix in place: the
// rule both backends' bmm kernels use before falling back to a dense copy.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

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

}  // namespace cfx
