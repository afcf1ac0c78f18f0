// cat, stack, split, chunk and index_select: values against hand-computed cases, float64
// gradchecks on contiguous and strided inputs (repeated indices included), the parallel
// kernel paths against a per-row loop, and error messages.
#include <functional>
#include <string>

#include "testing.h"

using namespace cfx;
using cfx::testing::allclose;
using cfx::testing::check_values;
using cfx::testing::rand64;
using cfx::testing::rand64_strided;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

std::string shape_ops_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const cfx::Error& e) {
    return e.what();
  }
  return "(no cfx::Error thrown)";
}

Tensor iota(const Shape& shape) { return arange(0.0, static_cast<double>(numel(shape)), 1.0, {kFloat64}).reshape(shape); }

}  // namespace

TEST_CASE("cat: values along each dim") {
  Tensor a = iota({2, 2}), b = iota({1, 2}) + 10.0;
  Tensor c0 = cat({a, b}, 0);
  CHECK(c0.shape() == Shape{3, 2});
  check_values(c0, {0, 1, 2, 3, 10, 11});
  Tensor d = iota({2, 3}) + 20.0;
  Tensor c1 = cat({a, d}, -1);
  CHECK(c1.shape() == Shape{2, 5});
  check_values(c1, {0, 1, 20, 21, 22, 2, 3, 23, 24, 25});
  // A transposed (non-contiguous) piece and an empty one.
  Tensor c2 = cat({a.t(), zeros({0, 2}, {kFloat64}), b}, 0);
  check_values(c2, {0, 2, 1, 3, 10, 11});
}

TEST_CASE("cat: float64 gradcheck, contiguous and strided") {
  const Fn fn0 = [](const std::vector<Tensor>& in) { return cat(in, 0); };
  const Fn fn1 = [](const std::vector<Tensor>& in) { return cat(in, 1); };
  CHECK_GRADCHECK(fn0, {rand64({2, 3}, 1), rand64({1, 3}, 2), rand64_strided({3, 3}, 3)});
  CHECK_GRADCHECK(fn1, {rand64_strided({2, 3, 2}, 4), rand64({2, 1, 2}, 5)});
  // Only the inputs that require grad get one.
  Tensor x = rand64({2, 2}, 6), y = rand64({2, 2}, 7).detach();
  (cat({x, y}, 0) * 3.0).sum().backward();
  check_values(x.grad(), {3, 3, 3, 3});
  CHECK(!y.grad().defined());
}

TEST_CASE("stack: values and gradcheck") {
  Tensor a = iota({2, 3}), b = iota({2, 3}) + 10.0;
  Tensor s0 = stack({a, b}, 0);
  CHECK(s0.shape() == Shape{2, 2, 3});
  check_values(s0, {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15});
  Tensor s2 = stack({a, b}, -1);
  CHECK(s2.shape() == Shape{2, 3, 2});
  check_values(s2, {0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15});
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return stack(in, 1); },
                  {rand64({2, 3}, 11), rand64_strided({2, 3}, 12), rand64({2, 3}, 13)});
}

TEST_CASE("split and chunk: views of the right sizes, differentiable") {
  Tensor x = iota({2, 5});
  auto parts = split(x, 2, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].shape() == Shape{2, 2});
  CHECK(parts[2].shape() == Shape{2, 1});
  check_values(parts[1], {2, 3, 7, 8});
  CHECK(parts[1].storage() == x.storage());  // a view, not a copy

  auto c = chunk(x, 3, 1);  // ceil(5 / 3) = 2 -> sizes 2, 2, 1
  REQUIRE(c.size() == 3);
  check_values(c[2], {4, 9});
  CHECK(chunk(iota({6}), 4).size() == 3);  // torch: pieces of ceil(6/4) = 2, so only 3
  CHECK(chunk(iota({4, 2}), 2, 0)[1].shape() == Shape{2, 2});

  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return split(in[0], 2, 1)[1] * 2.0; }, {rand64({3, 5}, 21)});
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) {
    auto p = chunk(in[0], 2, 0);
    return p[0] * p[1];
  }, {rand64_strided({4, 3}, 22)});
}

TEST_CASE("index_select: values along each dim, int64 and int32 indices, repeats") {
  Tensor x = iota({3, 4});
  Tensor r = index_select(x, 0, tensor(std::vector<int64_t>{2, 0, 2}, {3}));
  CHECK(r.shape() == Shape{3, 4});
  check_values(r, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  Tensor c = index_select(x, 1, tensor(std::vector<int32_t>{3, 1}, {2}));
  CHECK(c.shape() == Shape{3, 2});
  check_values(c, {3, 1, 7, 5, 11, 9});
  // A strided input (transposed) and a 0-d index.
  check_values(index_select(x.t(), 0, tensor(std::vector<int64_t>{1}, {})), {1, 5, 9});
  // Integer data is selected too (no gradient).
  check_values(index_select(tensor(std::vector<int64_t>{5, 6, 7}, {3}), 0, tensor(std::vector<int64_t>{2, 2}, {2})),
               {7, 7});
  CHECK(index_select(x, 0, tensor(std::vector<int64_t>{}, {0})).shape() == Shape{0, 4});
}

TEST_CASE("index_select: backward accumulates repeated rows") {
  Tensor x = rand64({3, 2}, 31);
  index_select(x, 0, tensor(std::vector<int64_t>{0, 0, 2, 0}, {4})).sum().backward();
  check_values(x.grad(), {3, 3, 0, 0, 1, 1});
}

TEST_CASE("index_select: float64 gradcheck with repeated indices, every dim, strided input") {
  Tensor idx = tensor(std::vector<int64_t>{1, 0, 1, 1}, {4});
  for (int64_t dim = 0; dim < 3; ++dim) {
    CAPTURE(dim);
    const Fn fn = [&](const std::vector<Tensor>& in) { return index_select(in[0], dim, idx); };
    CHECK_GRADCHECK(fn, {rand64({2, 2, 3}, 40 + dim)});
    CHECK_GRADCHECK(fn, {rand64_strided({2, 3, 2}, 50 + dim)});
  }
}

TEST_CASE("index_select: the parallel kernels agree with a per-row loop") {
  // Big enough that index_select_kernel and index_add_kernel split work over threads.
  const int64_t rows = 300, cols = 64, n = 4000;
  Tensor x = rand64({rows, cols}, 61).detach();
  Generator gen(62);
  Tensor idx = randint(0, rows, {n}, {kInt64}, &gen);
  const auto iv = to_vector<int64_t>(idx);
  const auto xv = to_vector<double>(x);
  const auto got = to_vector<double>(index_select(x, 0, idx));
  bool same = true;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < cols; ++j) same = same && got[i * cols + j] == xv[iv[i] * cols + j];
  CHECK(same);

  // The backward (index_add) against counting how often each row was picked, and along dim 1.
  Tensor xg = x.clone().requires_grad_();
  Tensor w = rand64({n, cols}, 63).detach();
  (index_select(xg, 0, idx) * w).sum().backward();
  std::vector<double> expect(rows * cols, 0.0);
  const auto wv = to_vector<double>(w);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < cols; ++j) expect[iv[i] * cols + j] += wv[i * cols + j];
  CHECK(allclose(xg.grad(), tensor(expect, {rows, cols}), 1e-12, 1e-12));

  Tensor xt = x.t().detach();  // [cols, rows], strided
  Tensor sel = index_select(xt, 1, idx);
  CHECK(allclose(sel, index_select(x, 0, idx).t(), 0, 0));
}

TEST_CASE("shape ops: errors name the op, the values and the shapes") {
  CHECK(shape_ops_error([] { cat({ones({2, 3}), ones({2, 4})}, 0); })
            .find("cat: sizes must match except in dim 0, got [2, 3] at position 0 and [2, 4] at position 1") == 0);
  CHECK(shape_ops_error([] { cat({ones({2}), ones({2}, {kFloat64})}, 0); })
            .find("cat: expected all tensors to have dtype float32, got float64 at position 1") == 0);
  CHECK(shape_ops_error([] { cat({}, 0); }).find("cat: expected a non-empty list") == 0);
  CHECK(shape_ops_error([] { cat({ones({2})}, 1); }).find("cat: dim 1 out of range") == 0);
  CHECK(shape_ops_error([] { stack({ones({2, 3}), ones({3, 2})}, 0); })
            .find("stack: expected each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at entry 1") == 0);
  CHECK(shape_ops_error([] { split(ones({4}), 0); }).find("split: split_size must be positive, got 0") == 0);
  CHECK(shape_ops_error([] { chunk(ones({4}), 0); }).find("chunk: number of chunks must be positive, got 0") == 0);

  Tensor x = ones({3, 2});
  CHECK(shape_ops_error([&] { index_select(x, 0, tensor(std::vector<int64_t>{0, 5}, {2})); })
            .find("index_select: index 5 is out of range for dim 0 of size 3") == 0);
  CHECK(shape_ops_error([&] { index_select(x, 1, tensor(std::vector<int32_t>{-1}, {1})); })
            .find("index_select: index -1 is out of range for dim 1 of size 2") == 0);
  CHECK(shape_ops_error([&] { index_select(x, 0, ones({2})); })
            .find("index_select: expected an int64 or int32 index, got float32") == 0);
  CHECK(shape_ops_error([&] { index_select(x, 0, tensor(std::vector<int64_t>{0, 1}, {1, 2})); })
            .find("index_select: expected a 1-d index, got shape [1, 2]") == 0);
  CHECK(shape_ops_error([&] { index_select(x, 2, tensor(std::vector<int64_t>{0}, {1})); })
            .find("index_select: dim 2 out of range") == 0);
}
