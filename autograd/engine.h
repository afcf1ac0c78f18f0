// The backward engine: topological sort of the graph above a root, reverse walk, gradient
// accumulation into leaves, and freeing of each node unless retain_graph.
#pragma once

#include "core/tensor.h"

namespace cfx::autograd {

void backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace cfx::autograd
