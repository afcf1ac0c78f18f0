// linear_cross_entropy: equal to the unfused cross_entropy(linear(...)) in value and in every
// gradient (float64 to 1e-12, float32 to 1e-5) for every chunk size, reduction, ignored rows,
// 3-d and strided x, with and without bias; a float64 gradcheck; errors.
#include "ops/linear_cross_entropy.h"

#include <cmath>
#include <functional>

#include "ops/creation.h"
#include "ops/linalg.h"
#include "ops/nn_ops.h"
#include "ops/reduce.h"
#include "testing.h"

using namespace cfx;
using cfx::testing::max_abs_diff;
using cfx::testing::rand64;

namespace {

// `fn` throws cfx::Error whose message contains every piece.
void check_error(const std::function<void()>& fn, std::initializer_list<std::string> pieces) {
  std::string msg;
  try {
    fn();
  } catch (const Error& e) {
    msg = e.what();
  }
  REQUIRE_MESSAGE(!msg.empty(), "no cfx::Error thrown");
  for (const std::string& piece : pieces) CHECK_MESSAGE(msg.find(piece) != std::string::npos, "lacks '", piece, "': ", msg);
}

struct Grads {
  Tensor out, gx, gw, gb;
};

// Runs `loss(x, w, b)` (reduced to a scalar with fixed weights when it is per row) backward.
template <class Loss>
Grads run(const Tensor& x0, const Tensor& w0, const Tensor& b0, Loss loss) {
  Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_();
  Tensor b = b0.defined() ? b0.detach().requires_grad_() : Tensor();
  Tensor out = loss(x, w, b);
  Tensor scalar = out.dim() == 0 ? out : sum(out * arange(1.0, 1.0 + static_cast<double>(out.numel()), 1.0,
                                                          {out.dtype()}).view(out.shape()));
  scalar.backward();
  return {out.detach(), x.grad(), w.grad(), b.defined() ? b.grad() : Tensor()};
}

}  // namespace

TEST_CASE("linear_cross_entropy == cross_entropy(linear(x, W, b)): values and gradients, every configuration") {
  const int64_t V = 11, D = 5;
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
    const Tensor w = rand64({V, D}, 2).to(dtype), bias = rand64({V}, 3).to(dtype);
    Tensor x = rand64({2, 3, D}, 1, -2, 2).to(dtype);  // 3-d: 6 rows
    Tensor target = tensor(std::vector<int64_t>{0, 10, 1, 1, 7, 4}, {2, 3});
    Tensor with_ignored = tensor(std::vector<int64_t>{0, 1, 10, 1, 1, 4}, {2, 3});  // ignore_index 1 (fairseq <pad>)
    for (int64_t chunk : {0, 1, 3, 4, 11, 50})
      for (const char* reduction : {"mean", "sum", "none"})
        for (bool use_bias : {true, false})
          for (bool ignore : {false, true}) {
            CAPTURE(chunk);
            CAPTURE(reduction);
            CAPTURE(use_bias);
            CAPTURE(ignore);
            const Tensor& t = ignore ? with_ignored : target;
            const int64_t ignore_index = ignore ? 1 : -100;
            const Tensor b = use_bias ? bias : Tensor();
            const Grads fused = run(x, w, b, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
              return linear_cross_entropy(xx, ww, bb, t, {.ignore_index = ignore_index, .reduction = reduction, .chunk = chunk});
            });
            const Grads plain = run(x, w, b, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
              const Tensor logits = linear(xx, ww, bb).reshape({-1, V});
              Tensor l = cross_entropy(logits, t.reshape({-1}), ignore_index, 0.0, reduction);
              return std::string(reduction) == "none" ? l.view(t.shape()) : l;
            });
            CHECK(fused.out.shape() == plain.out.shape());
            CHECK(max_abs_diff(fused.out, plain.out) <= tol * 10);
            CHECK(max_abs_diff(fused.gx, plain.gx) <= tol);
            CHECK(max_abs_diff(fused.gw, plain.gw) <= tol);
            if (use_bias) CHECK(max_abs_diff(fused.gb, plain.gb) <= tol);
          }
  }
}

TEST_CASE("linear_cross_entropy: strided x, only some inputs needing grad, all rows ignored") {
  const Tensor w = rand64({7, 4}, 5), b = rand64({7}, 6);
  const Tensor x = rand64({4, 3}, 7).detach().t();  // [3, 4] transposed view
  REQUIRE(!x.is_contiguous());
  const Tensor t = tensor(std::vector<int64_t>{6, 0, 2}, {3});
  const Grads fused = run(x, w, b, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return linear_cross_entropy(xx, ww, bb, t, {.chunk = 2});
  });
  const Grads plain = run(x, w, b, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return cross_entropy(linear(xx, ww, bb), t);
  });
  CHECK(max_abs_diff(fused.gx, plain.gx) <= 1e-12);
  CHECK(max_abs_diff(fused.gw, plain.gw) <= 1e-12);

  Tensor frozen_w = w.detach(), xg = x.detach().contiguous().requires_grad_();
  linear_cross_entropy(xg, frozen_w, Tensor(), t).backward();  // only x needs a gradient
  CHECK(xg.grad().defined());

  const Tensor all_ignored = tensor(std::vector<int64_t>{-100, -100, -100}, {3});
  CHECK(std::isnan(linear_cross_entropy(x, w, b, all_ignored).item<double>()));  // 0 / 0, as torch
  CHECK(linear_cross_entropy(x, w, b, all_ignored, {.reduction = "sum"}).item<double>() == 0.0);
}

TEST_CASE("linear_cross_entropy: float64 gradcheck of x, weight and bias") {
  const Tensor t = tensor(std::vector<int64_t>{3, 0, 5, 1}, {4});
  for (int64_t chunk : {2, 0}) {
    CHECK_GRADCHECK(
        [&](const std::vector<Tensor>& in) { return linear_cross_entropy(in[0], in[1], in[2], t, {.chunk = chunk}); },
        {rand64({4, 3}, 8), rand64({6, 3}, 9), rand64({6}, 10)});
    CHECK_GRADCHECK(
        [&](const std::vector<Tensor>& in) {
          return linear_cross_entropy(in[0], in[1], Tensor(), t, {.ignore_index = 0, .reduction = "none", .chunk = chunk});
        },
        {rand64({4, 3}, 11), rand64({6, 3}, 12)});
  }
}

TEST_CASE("linear_cross_entropy: bad input names what is wrong") {
  const Tensor x = rand64({3, 4}, 1), w = rand64({5, 4}, 2);
  const Tensor t = tensor(std::vector<int64_t>{0, 5, 1}, {3});
  check_error([&] { linear_cross_entropy(x, w, Tensor(), t); }, {"linear_cross_entropy", "target 5", "row 1", "5 classes"});
  check_error([&] { linear_cross_entropy(x, rand64({5, 3}, 3), Tensor(), t); }, {"weight [V, D]", "D = 4", "[5, 3]"});
  check_error([&] { linear_cross_entropy(x, w, rand64({4}, 4), t); }, {"bias [5]", "[4]"});
  check_error([&] { linear_cross_entropy(x, w, Tensor(), tensor(std::vector<int64_t>{0, 1}, {2})); },
              {"target of shape [3]", "[2]"});
  check_error([&] { linear_cross_entropy(x, w.to(kFloat32), Tensor(), t); }, {"float32", "float64"});
  check_error([&] { linear_cross_entropy(x, w, Tensor(), t, {.reduction = "avg"}); }, {"reduction", "avg"});
}
