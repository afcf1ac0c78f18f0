// Reductions and views under autograd: values and float64 gradchecks.
#include "testing.h"

using namespace cfx;
using cfx::testing::check_values;
using cfx::testing::rand64;
using cfx::testing::rand64_strided;

TEST_CASE("sum and mean over dims, keepdim, all") {
  Tensor x = arange(0.0, 24.0, 1.0, {kFloat64}).view({2, 3, 4});
  check_values(sum(x), {276});
  check_values(sum(x, {0}), {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  check_values(sum(x, {1, 2}), {66, 210});
  check_values(sum(x, {-1}), {6, 22, 38, 54, 70, 86});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1, 4});
  check_values(mean(x, {2}), {1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  check_values(mean(x), {11.5});
  check_values(sum(x.transpose(0, 2), {0}), {6, 54, 22, 70, 38, 86});  // strided input, [3, 2]
  check_values(sum(x, {0, 2}), {60, 92, 124});
  CHECK_THROWS_WITH_AS(sum(x, {3}), doctest::Contains("sum: dim 3 out of range"), cfx::Error);
  CHECK_THROWS_WITH_AS(sum(x, {1, 1}), doctest::Contains("sum: dim repeats"), cfx::Error);
  // float32 sums accumulate in double: adding many small numbers stays accurate.
  CHECK(sum(full({1 << 22}, 0.1)).item<float>() == doctest::Approx(419430.4).epsilon(1e-6));
}

TEST_CASE("amax, amin, max with indices, argmax") {
  Tensor x = tensor(std::vector<double>{1, 5, 2, 7, 0, 7}, {2, 3});
  check_values(amax(x, {1}), {5, 7});
  check_values(amin(x, {0}), {1, 0, 2});
  check_values(max(x), {7});
  auto [values, indices] = max(x, 1);
  check_values(values, {5, 7});
  check_values(indices, {1, 0});  // first maximum wins
  check_values(argmax(x, 0), {1, 0, 1});
  check_values(x.argmax(1, true), {1, 0});
  // amax splits the gradient among ties; max(dim) sends it to the returned index.
  Tensor a = x.detach().requires_grad_();
  amax(a, {1}).sum().backward();
  check_values(a.grad(), {0, 1, 0, 0.5, 0, 0.5});
  Tensor b = x.detach().requires_grad_();
  max(b, 1).values.sum().backward();
  check_values(b.grad(), {0, 1, 0, 1, 0, 0});
}

TEST_CASE("reductions and views: float64 gradcheck") {
  Tensor x = rand64({3, 4, 5}, 51);
  Tensor xs = rand64_strided({4, 5}, 52);
  using F = std::function<Tensor(const std::vector<Tensor>&)>;
  const std::vector<std::pair<const char*, F>> rows = {
      {"sum all", [](auto& in) { return sum(in[0]); }},
      {"sum dim0", [](auto& in) { return sum(in[0], {0}); }},
      {"sum dims keepdim", [](auto& in) { return sum(in[0], {0, -1}, true); }},
      {"mean dim", [](auto& in) { return mean(in[0], {1}); }},
      {"amax", [](auto& in) { return amax(in[0], {-1}); }},
      {"amin", [](auto& in) { return amin(in[0], {0}); }},
      {"max dim", [](auto& in) { return max(in[0], 1).values; }},
      {"view", [](auto& in) { return in[0].reshape({-1, 5}) * 2.0; }},
      {"permute", [](auto& in) { return in[0].permute({2, 0, 1}) * 1.5; }},
      {"transpose", [](auto& in) { return in[0].transpose(0, 1).contiguous(); }},
      {"slice step", [](auto& in) { return in[0].slice(1, 0, 4, 2) * 3.0; }},
      {"narrow", [](auto& in) { return in[0].narrow(-1, 1, 3).sum({0}); }},
      {"select", [](auto& in) { return in[0].select(0, 1) * 2.0; }},
      {"expand", [](auto& in) { return in[0].unsqueeze(0).expand({2, -1, -1, -1}) * 1.0; }},
      {"squeeze", [](auto& in) { return in[0].unsqueeze(1).squeeze(1) * 2.0; }},
      {"flatten", [](auto& in) { return in[0].flatten(1) * 2.0; }},
      {"to float32 and back", [](auto& in) { return (in[0].to(kFloat32) * 2.0).to(kFloat64); }},
  };
  for (const auto& [name, fn] : rows) {
    const std::string row_name = name;
    CAPTURE(row_name);
    GradcheckOptions opts;
    if (std::string(name) == "to float32 and back") {  // float32 rounding: larger step, looser tolerance
      opts.eps = 1e-3;
      opts.atol = 1e-3;
    }
    CHECK_GRADCHECK(fn, {x}, opts);
  }
  CHECK_GRADCHECK([](auto& in) { return sum(in[0], {0}); }, {xs});
  CHECK_GRADCHECK([](auto& in) { return amax(in[0], {1}); }, {xs});
  CHECK_GRADCHECK([](auto& in) { return in[0].reshape({20}); }, {xs});
}
