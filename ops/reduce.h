// Reductions and normalisations along dims (ops/reduce.cpp), with their gradients.
#pragma once

#include "core/tensor.h"

namespace cfx {

Tensor sum(const Tensor& x);                                        // all elements -> 0-d
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
// Largest value along dims; gradient split evenly among ties (torch.amax semantics).
Tensor amax(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim = false);
// torch.max(x, dim): values (gradient to the first maximum) and int64 indices.
struct MaxResult { Tensor values, indices; };
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);                                        // all elements -> 0-d
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// Sums a broadcast gradient back to `shape` (the reverse of broadcasting to g.shape()).
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace cfx
