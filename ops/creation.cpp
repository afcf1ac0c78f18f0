#include "ops/creation.h"

#include <cmath>

#include "core/kernels.h"

namespace cfx {

Tensor empty(const Shape& shape, const TensorOptions& opts) {
  Tensor t = detail::make_empty(shape, opts.dtype, opts.device);
  if (opts.requires_grad) t.requires_grad_();
  return t;
}

Tensor full(const Shape& shape, double value, const TensorOptions& opts) {
  Tensor t = detail::make_empty(shape, opts.dtype, opts.device);
  fill_kernel(t.device(), t, value);
  if (opts.requires_grad) t.requires_grad_();
  return t;
}
Tensor zeros(const Shape& shape, const TensorOptions& opts) { return full(shape, 0.0, opts); }
Tensor ones(const Shape& shape, const TensorOptions& opts) { return full(shape, 1.0, opts); }
Tensor scalar_tensor(double value, const TensorOptions& opts) { return full({}, value, opts); }

Tensor arange(double start, double end, double step, const TensorOptions& opts) {
  CFX_CHECK(step != 0, "arange: step must be non-zero");
  CFX_CHECK((end - start) / step >= 0, "arange: the range [", start, ", ", end, ") with step ", step,
            " is empty or has the wrong sign");
  const auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = detail::make_empty({n}, opts.dtype, opts.device);
  arange_kernel(t.device(), t, start, step);
  if (opts.requires_grad) t.requires_grad_();
  return t;
}
Tensor arange(int64_t end, const TensorOptions& opts) { return arange(0.0, static_cast<double>(end), 1.0, opts); }

Tensor rand(const Shape& shape, const TensorOptions& opts, Generator* gen) {
  Tensor t = detail::make_empty(shape, opts.dtype, opts.device);
  uniform_kernel(t.device(), t, 0.0, 1.0, gen ? *gen : default_generator());
  if (opts.requires_grad) t.requires_grad_();
  return t;
}

Tensor randn(const Shape& shape, const TensorOptions& opts, Generator* gen) {
  Tensor t = detail::make_empty(shape, opts.dtype, opts.device);
  normal_kernel(t.device(), t, 0.0, 1.0, gen ? *gen : default_generator());
  if (opts.requires_grad) t.requires_grad_();
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, const TensorOptions& opts, Generator* gen) {
  CFX_CHECK(low < high, "randint: expected low < high, got ", low, " and ", high);
  Tensor u = rand(shape, {kFloat64, opts.device}, gen);
  std::vector<double> draws = to_vector<double>(u);
  std::vector<int64_t> ints(draws.size());
  for (size_t i = 0; i < draws.size(); ++i)
    ints[i] = std::min(high - 1, low + static_cast<int64_t>(std::floor(draws[i] * static_cast<double>(high - low))));
  return tensor(ints, shape).to(opts.dtype).to(opts.device);
}

Tensor empty_like(const Tensor& t) { return empty(t.shape(), {t.dtype(), t.device()}); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {t.dtype(), t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {t.dtype(), t.device()}); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, {t.dtype(), t.device()}); }
Tensor rand_like(const Tensor& t, Generator* gen) { return rand(t.shape(), {t.dtype(), t.device()}, gen); }
Tensor randn_like(const Tensor& t, Generator* gen) { return randn(t.shape(), {t.dtype(), t.device()}, gen); }

namespace {
template <class T>
Tensor from_vector(const std::vector<T>& data, const Shape& shape) {
  CFX_CHECK(static_cast<int64_t>(data.size()) == numel(shape), "tensor: got ", data.size(),
            " values for shape ", shape, " (", numel(shape), " elements)");
  Tensor t = detail::make_empty(shape, dtype_of<T>(), Device::cpu());
  std::copy(data.begin(), data.end(), t.data_ptr<T>());
  return t;
}
}  // namespace

Tensor tensor(const std::vector<float>& data, const Shape& shape, bool requires_grad) {
  Tensor t = from_vector(data, shape);
  return requires_grad ? t.requires_grad_() : t;
}
Tensor tensor(const std::vector<double>& data, const Shape& shape, bool requires_grad) {
  Tensor t = from_vector(data, shape);
  return requires_grad ? t.requires_grad_() : t;
}
Tensor tensor(const std::vector<int64_t>& data, const Shape& shape) { return from_vector(data, shape); }
Tensor tensor(const std::vector<int32_t>& data, const Shape& shape) { return from_vector(data, shape); }
Tensor tensor(const std::vector<uint8_t>& data, const Shape& shape) { return from_vector(data, shape); }

template <class T>
std::vector<T> to_vector(const Tensor& t) {
  Tensor dense = t.detach().to(Device::cpu()).to(dtype_of<T>()).contiguous();
  const T* p = dense.data_ptr<T>();
  return std::vector<T>(p, p + dense.numel());
}
template std::vector<float> to_vector<float>(const Tensor&);
template std::vector<double> to_vector<double>(const Tensor&);
template std::vector<int64_t> to_vector<int64_t>(const Tensor&);
template std::vector<int32_t> to_vector<int32_t>(const Tensor&);
template std::vector<uint8_t> to_vector<uint8_t>(const Tensor&);

}  // namespace cfx
