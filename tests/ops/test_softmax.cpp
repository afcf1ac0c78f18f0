// softmax, log_softmax and cumsum (ops/softmax.cpp, ops/cpu/softmax_cpu.cpp): values vs
// closed forms and a composite oracle, float64 gradchecks along every dim on contiguous and
// strided inputs, and error messages.
#include <cmath>

#include "testing.h"

using namespace cfx;
using cfx::testing::check_values;
using cfx::testing::max_abs_diff;
using cfx::testing::rand64;
using cfx::testing::rand64_strided;

namespace {

// The textbook formula from primitives: exp(x - max) / sum exp(x - max).
Tensor softmax_composite(const Tensor& x, int64_t dim) {
  Tensor e = exp(x - amax(x, {dim}, true));
  return e / sum(e, {dim}, true);
}

}  // namespace

TEST_CASE("softmax and log_softmax of [1, 2, 3] match the closed form") {
  Tensor x = tensor(std::vector<double>{1, 2, 3}, {3});
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  check_values(softmax(x, 0), {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z}, 1e-12);
  check_values(log_softmax(x, -1), {1 - std::log(z), 2 - std::log(z), 3 - std::log(z)}, 1e-12);
  // float32 goes through the same kernel with a double accumulator.
  check_values(softmax(x.to(kFloat32), 0), {0.09003057, 0.24472847, 0.66524096}, 1e-6);
}

TEST_CASE("softmax is stable for large logits (max is subtracted)") {
  Tensor big = tensor(std::vector<float>{1000, 1001, 1002}, {3});
  check_values(softmax(big, 0), {0.09003057, 0.24472847, 0.66524096}, 1e-6);
  Tensor far = tensor(std::vector<double>{-1000, 0}, {2});
  check_values(log_softmax(far, 0), {-1000, 0}, 1e-12);  // no log(0) = -inf
  // Broadcast (stride-0) and empty inputs.
  Tensor row = tensor(std::vector<double>{1, 2, 3}, {1, 3}).expand({2, 3});
  CHECK(max_abs_diff(softmax(row, 1), softmax_composite(row.contiguous(), 1)) < 1e-15);
  CHECK(softmax(zeros({0, 3}, {kFloat64}), 1).shape() == Shape{0, 3});
  CHECK(cumsum(zeros({2, 0}, {kFloat64}), 1).shape() == Shape{2, 0});
  Tensor scalar = scalar_tensor(5.0, {kFloat64});
  CHECK(softmax(scalar, 0).item<double>() == 1.0);  // 0-d, like torch
  CHECK(softmax(scalar, 0).dim() == 0);
}

TEST_CASE("softmax along every dim of contiguous and strided inputs matches the composite") {
  for (bool strided : {false, true}) {
    Tensor x = (strided ? rand64_strided({3, 4, 5}, 7, -3, 3) : rand64({3, 4, 5}, 7, -3, 3)).detach();
    for (int64_t dim : {0, 1, 2, -1}) {
      CAPTURE(strided);
      CAPTURE(dim);
      Tensor y = softmax(x, dim);
      CHECK(y.is_contiguous());
      CHECK(max_abs_diff(y, softmax_composite(x, dim)) < 1e-14);
      CHECK(max_abs_diff(log_softmax(x, dim), log(softmax_composite(x, dim))) < 1e-13);
      CHECK(max_abs_diff(sum(y, {dim}), ones(sum(y, {dim}).shape(), {kFloat64})) < 1e-14);
    }
  }
}

TEST_CASE("softmax over many rows (parallel path) matches the composite, float32 and float64") {
  Generator gen(3);
  Tensor x = randn({300, 700}, {kFloat64}, &gen) * 4.0;
  for (int64_t dim : {0, 1}) {
    CHECK(max_abs_diff(softmax(x, dim), softmax_composite(x, dim)) < 1e-14);
    CHECK(max_abs_diff(softmax(x.to(kFloat32), dim).to(kFloat64), softmax_composite(x, dim)) < 1e-6);
    CHECK(max_abs_diff(log_softmax(x.to(kFloat32), dim).to(kFloat64), log_softmax(x, dim)) < 1e-4);
  }
}

TEST_CASE("softmax and log_softmax gradcheck along every dim, contiguous and strided") {
  for (bool strided : {false, true}) {
    for (int64_t dim : {0, 1, 2, -1}) {
      CAPTURE(strided);
      CAPTURE(dim);
      Tensor x = strided ? rand64_strided({2, 3, 4}, 11, -2, 2) : rand64({2, 3, 4}, 11, -2, 2);
      CHECK_GRADCHECK([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x});
      CHECK_GRADCHECK([dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x});
    }
  }
}

TEST_CASE("softmax gradient through a permuted (non-contiguous) upstream gradient") {
  // The gradient reaching softmax's node is a permuted view here, so the backward kernel
  // reads a strided g.
  Tensor x = rand64({3, 4}, 5);
  Tensor w = rand64({4, 3}, 6).detach();
  CHECK_GRADCHECK([w](const std::vector<Tensor>& in) { return softmax(in[0], 1).t() * w; }, {x});
  CHECK_GRADCHECK([w](const std::vector<Tensor>& in) { return log_softmax(in[0], 0).t() * w; }, {x});
}

TEST_CASE("cumsum values along each dim, integer promotion, float32 accuracy") {
  check_values(cumsum(tensor(std::vector<double>{1, 2, 3, 4}, {4}), 0), {1, 3, 6, 10});
  Tensor m = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  check_values(cumsum(m, 0), {1, 2, 3, 5, 7, 9});
  check_values(cumsum(m, 1), {1, 3, 6, 4, 9, 15});
  check_values(cumsum(m.t(), 1), {1, 5, 2, 7, 3, 9});  // strided input
  check_values(cumsum(m.t(), -2), {1, 4, 3, 9, 6, 15});

  Tensor i32 = tensor(std::vector<int32_t>{1, 2, 3}, {3});
  CHECK(cumsum(i32, 0).dtype() == kInt64);  // like torch: integers sum in int64
  check_values(cumsum(i32, 0), {1, 3, 6});
  CHECK(cumsum(tensor(std::vector<int64_t>{5, -2}, {2}), 0).dtype() == kInt64);

  // 2^20 times 0.1f: a float running sum drifts by hundreds; the double accumulator does not.
  const int64_t n = int64_t(1) << 20;
  Tensor tenth = full({n}, 0.1, {kFloat32});
  const double last = cumsum(tenth, 0).to(kFloat64).select(0, n - 1).item<double>();
  CHECK(std::abs(last - n * double(0.1f)) < 0.02);
}

TEST_CASE("cumsum gradcheck along every dim, contiguous and strided") {
  for (bool strided : {false, true}) {
    for (int64_t dim : {0, 1, 2, -1}) {
      CAPTURE(strided);
      CAPTURE(dim);
      Tensor x = strided ? rand64_strided({2, 3, 4}, 21) : rand64({2, 3, 4}, 21);
      CHECK_GRADCHECK([dim](const std::vector<Tensor>& in) { return cumsum(in[0], dim); }, {x});
    }
  }
  // Backward is the reverse cumsum of g: for sum(cumsum(x)), dL/dx_j = n - j.
  Tensor x = rand64({5}, 1);
  cumsum(x, 0).sum().backward();
  check_values(x.grad(), {5, 4, 3, 2, 1}, 1e-12);
}

TEST_CASE("softmax, log_softmax, cumsum error messages name the op and the values") {
  Tensor i = tensor(std::vector<int64_t>{1, 2}, {2});
  CHECK_THROWS_WITH_AS(softmax(i, 0), doctest::Contains("softmax: expected a float32 or float64 tensor, got int64"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(log_softmax(i, 0), doctest::Contains("log_softmax: expected a float32"), cfx::Error);
  Tensor x = zeros({2, 3}, {kFloat64});
  CHECK_THROWS_WITH_AS(softmax(x, 2), doctest::Contains("softmax: dim 2 out of range for a tensor with 2 dims"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(cumsum(x, -3), doctest::Contains("cumsum: dim -3 out of range"), cfx::Error);
  CHECK_THROWS_WITH_AS(log_softmax(x, 5), doctest::Contains("log_softmax: dim 5 out of range"), cfx::Error);
}
