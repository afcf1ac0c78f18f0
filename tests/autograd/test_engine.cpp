// The autograd engine: accumulation, topological order, NoGradGuard, detach, freeing,
// error cases; and a test that gradcheck fails when it should.
#include "testing.h"

using namespace cfx;
using cfx::testing::check_values;

TEST_CASE("gradients flow through a small graph and accumulate into leaves") {
  Tensor x = tensor(std::vector<double>{1, 2, 3}, {3}, true);
  Tensor y = (x * x + x * 3.0).sum();  // dy/dx = 2x + 3
  y.backward();
  check_values(x.grad(), {5, 7, 9});
  Tensor y2 = (x * 2.0).sum();
  y2.backward();
  check_values(x.grad(), {7, 9, 11});  // accumulated, like torch
}

TEST_CASE("a tensor used along several paths gets the sum of their gradients") {
  Tensor a = tensor(std::vector<double>{2}, {1}, true);
  Tensor b = a * a;      // 2a
  Tensor c = b * a;      // a^3 -> 3a^2 = 12
  Tensor d = c + b + a;  // 12 + 4 + 1
  d.sum().backward();
  check_values(a.grad(), {17});
}

TEST_CASE("deep graphs do not overflow the stack") {
  Tensor x = tensor(std::vector<double>{1}, {1}, true);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1e-6;
  y.sum().backward();
  check_values(x.grad(), {1});
  {  // A deep graph dropped without backward is freed iteratively too.
    Tensor z = x;
    for (int i = 0; i < 200000; ++i) z = z * 1.0;
  }
}

TEST_CASE("NoGradGuard, detach and requires_grad") {
  Tensor x = ones({2}, {kFloat64, Device::cpu(), true});
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK((x * 2.0).requires_grad());
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == x.storage());
  CHECK(x.is_leaf());
  CHECK_FALSE((x * 2.0).is_leaf());
  CHECK_THROWS_WITH_AS(ones({2}, {kInt64}).requires_grad_(), doctest::Contains("only float tensors"), cfx::Error);
}

TEST_CASE("backward errors: non-scalar without grad, twice through a freed graph, no grad at all") {
  Tensor x = ones({3}, {kFloat64, Device::cpu(), true});
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("only for scalar outputs; got a tensor of shape [3]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(y.backward(ones({2}, {kFloat64})), doctest::Contains("gradient has shape [2], expected"),
                       cfx::Error);
  Tensor s = (x * x).sum();
  s.backward();
  CHECK_THROWS_WITH_AS(s.backward(), doctest::Contains("backward through the graph a second time"), cfx::Error);
  Tensor r = (x * x).sum();
  r.backward({}, /*retain_graph=*/true);
  r.backward();
  check_values(x.grad(), {6, 6, 6});  // 2 + 2 from s, then 2 + 2 from r twice
  CHECK_THROWS_WITH_AS(ones({1}).backward(), doctest::Contains("does not require grad"), cfx::Error);
}

TEST_CASE("non-scalar backward with an explicit gradient") {
  Tensor x = tensor(std::vector<double>{1, 2}, {2}, true);
  Tensor y = x * x;
  y.backward(tensor(std::vector<double>{1, 10}, {2}));
  check_values(x.grad(), {2, 40});
}

TEST_CASE("the graph is freed after backward (no reference cycles through saved outputs)") {
  std::weak_ptr<autograd::Node> node;
  Tensor x = ones({4}, {kFloat64, Device::cpu(), true});
  {
    Tensor y = exp(x);  // exp saves its own output
    node = y.grad_fn();
    CHECK_FALSE(node.expired());
    y.sum().backward();
  }
  CHECK(node.expired());
  // A training-like loop keeps memory flat.
  x.set_grad(Tensor());
  const int64_t before = cpu_memory_stats().allocated;
  for (int i = 0; i < 50; ++i) {
    x.set_grad(Tensor());
    sigmoid(tanh(exp(x) * x)).sum().backward();
  }
  x.set_grad(Tensor());
  CHECK(cpu_memory_stats().allocated == before);
}

TEST_CASE("gradcheck passes correct gradients and catches wrong ones") {
  Tensor x = cfx::testing::rand64({3, 2}, 1);
  auto ok = gradcheck([](const std::vector<Tensor>& in) { return sigmoid(in[0]) * in[0]; }, {x});
  CHECK(ok.ok);
  // An op whose backward is deliberately wrong (the derivative of x^3 reported as 2x).
  auto wrong = gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor out = in[0].detach() * in[0].detach() * in[0].detach();
        autograd::record("bad_cube", out, {in[0]}, [x = in[0].detach()](const Tensor& g, const autograd::NeedsGrad&) {
          return autograd::grads{g * x * 2.0};
        });
        return out;
      },
      {x});
  CHECK_FALSE(wrong.ok);
  CHECK(wrong.message.find("mismatch for input 0") != std::string::npos);
  // A too-large step makes the numeric estimate of a curved function inaccurate.
  GradcheckOptions coarse;
  coarse.eps = 0.5;
  coarse.atol = 1e-9;
  coarse.rtol = 1e-9;
  CHECK_FALSE(gradcheck([](const std::vector<Tensor>& in) { return exp(in[0]); }, {x}, coarse).ok);
}
