// Matrix products on OpenBLAS (CPU) / cuBLAS (CUDA), with their gradients as two more GEMMs.
#pragma once

#include "core/tensor.h"

namespace cfx {

// torch.matmul semantics: 1-d/2-d/N-d with batch broadcasting. Transposed views are
// passed to BLAS as transposes, not copied.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);   // strict [B,M,K] x [B,K,N]
// y = x W^T + b with W: [out, in] (PyTorch layout); bias optional (undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace cfx
