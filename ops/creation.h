// Factories: new tensors from sizes, ranges, random draws or C++ vectors, and back.
#pragma once

#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace cfx {

struct TensorOptions {
  DType dtype = kFloat32;
  Device device = Device::cpu();
  bool requires_grad = false;
};

Tensor empty(const Shape& shape, const TensorOptions& opts = {});
Tensor zeros(const Shape& shape, const TensorOptions& opts = {});
Tensor ones(const Shape& shape, const TensorOptions& opts = {});
Tensor full(const Shape& shape, double value, const TensorOptions& opts = {});
// [start, end) with `step`, like torch.arange; dtype defaults to int64 in arange(end).
Tensor arange(double start, double end, double step = 1.0, const TensorOptions& opts = {});
Tensor arange(int64_t end, const TensorOptions& opts = {kInt64});
// Uniform [0, 1) and standard normal draws from `gen` (default: the global generator).
Tensor rand(const Shape& shape, const TensorOptions& opts = {}, Generator* gen = nullptr);
Tensor randn(const Shape& shape, const TensorOptions& opts = {}, Generator* gen = nullptr);
// Uniform integers in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape, const TensorOptions& opts = {kInt64},
               Generator* gen = nullptr);
// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, const TensorOptions& opts = {});

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);

// Copies `data` into a new CPU tensor of `shape` (numel must match).
Tensor tensor(const std::vector<float>& data, const Shape& shape, bool requires_grad = false);
Tensor tensor(const std::vector<double>& data, const Shape& shape, bool requires_grad = false);
Tensor tensor(const std::vector<int64_t>& data, const Shape& shape);
Tensor tensor(const std::vector<int32_t>& data, const Shape& shape);
Tensor tensor(const std::vector<uint8_t>& data, const Shape& shape);

// All elements in row-major order, converted to T (copies to the CPU first if needed).
template <class T>
std::vector<T> to_vector(const Tensor& t);

}  // namespace cfx
