// Ops that build new tensors from pieces (copying), with gradients.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace cfx {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Views of `split_size` along dim (last one smaller), like torch.split.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// index: 1-d int64 (or int32); gradient is a scatter-add into the selected rows.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);

}  // namespace cfx
