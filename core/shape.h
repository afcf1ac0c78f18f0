// Shapes and strides (in elements, not bytes) and the broadcasting rule.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace cfx {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
// Row-major strides for a dense tensor of this shape.
Shape contiguous_strides(const Shape& shape);
// NumPy/PyTorch broadcasting: align right; sizes must match or be 1. `op` names the caller.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Wraps a possibly negative dim into [0, ndim); throws naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
std::string shape_str(const Shape& shape);

}  // namespace cfx

namespace std {
// Lets CFX_CHECK messages stream shapes directly: "got [4, 6]".
inline ostream& operator<<(ostream& os, const vector<int64_t>& shape) { return os << cfx::shape_str(shape); }
}  // namespace std
