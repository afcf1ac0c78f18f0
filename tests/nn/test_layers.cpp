// Basic layers: shapes, PyTorch init ranges, float64 gradchecks through the module's
// parameters, train/eval behaviour, and the fixed positional tables.
#include <cmath>

#include "testing.h"

using namespace cfx;
using namespace cfx::nn;

namespace {

// gradcheck of f(x) = module output with respect to x and every parameter (float64).
template <class M, class Fwd>
void gradcheck_module(M& m, const Tensor& x, Fwd fwd) {
  m.to(kFloat64);
  std::vector<Tensor> inputs;
  if (x.defined()) inputs.push_back(x);
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  CHECK_GRADCHECK([&](const std::vector<Tensor>&) { return fwd(); }, inputs);
}

double max_abs(const Tensor& t) { return max(abs(t)).item<double>(); }

}  // namespace

TEST_CASE("Linear: [out, in] weight, PyTorch default init, shapes, gradients") {
  Generator gen(1);
  Linear lin(16, 8, true, &gen);
  CHECK(lin.weight.shape() == Shape{8, 16});
  CHECK(lin.bias.shape() == Shape{8});
  CHECK(max_abs(lin.weight) <= 0.25);  // U(±1/√16)
  CHECK(max_abs(lin.weight) > 0.2);
  CHECK(max_abs(lin.bias) <= 0.25);
  CHECK(lin.forward(randn({2, 5, 16})).shape() == Shape{2, 5, 8});
  Linear no_bias(4, 3, false);
  CHECK(!no_bias.bias.defined());
  CHECK(no_bias.named_parameters().size() == 1);

  Linear small(3, 2, true, &gen);
  Tensor x = testing::rand64({4, 3}, 11);
  gradcheck_module(small, x, [&] { return small.forward(x); });
  // y = x Wᵀ + b exactly.
  Tensor y = small.forward(x);
  Tensor ref = matmul(x, small.weight.t()) + small.bias;
  CHECK(testing::max_abs_diff(y, ref) < 1e-12);
}

TEST_CASE("Embedding: N(0,1) init, padding row zero, index shape kept, gradient rows") {
  Generator gen(2);
  Embedding emb(50, 8, /*padding_idx=*/0, &gen);
  CHECK(to_vector<float>(emb.weight.select(0, 0)) == std::vector<float>(8, 0.0f));
  const double sd = std::sqrt(mean(pow(emb.weight.narrow(0, 1, 49), 2.0)).item<double>());
  CHECK(sd == doctest::Approx(1.0).epsilon(0.2));
  Tensor idx = tensor(std::vector<int64_t>{1, 2, 0, 2, 5, 7}, {2, 3});
  Tensor out = emb.forward(idx);
  CHECK(out.shape() == Shape{2, 3, 8});
  out.sum().backward();
  const auto g = to_vector<float>(emb.weight.grad());
  CHECK(g[2 * 8] == 2.0f);  // row 2 used twice
  CHECK(g[0] == 0.0f);      // padding row gets no gradient
  CHECK(g[3 * 8] == 0.0f);  // unused row
}

TEST_CASE("LayerNorm: ones/zeros init, normalises the last dim, gradcheck") {
  LayerNorm ln(5, 1e-5);
  CHECK(to_vector<float>(ln.weight) == std::vector<float>(5, 1.0f));
  CHECK(to_vector<float>(ln.bias) == std::vector<float>(5, 0.0f));
  Tensor y = ln.forward(randn({3, 4, 5}) * 3.0 + 2.0);
  CHECK(max_abs(mean(y, {-1})) < 1e-5);
  LayerNorm small(4);
  {
    NoGradGuard no_grad;
    small.weight.copy_(tensor(std::vector<float>{0.5f, 1.5f, -1.0f, 2.0f}, {4}));
    small.bias.copy_(tensor(std::vector<float>{0.1f, -0.2f, 0.3f, 0.0f}, {4}));
  }
  Tensor x = testing::rand64({3, 4}, 12);
  gradcheck_module(small, x, [&] { return small.forward(x); });
}

TEST_CASE("Dropout: scales survivors in train, identity in eval") {
  Generator gen(3);
  Dropout drop(0.25, &gen);
  Tensor x = ones({1000});
  Tensor y = drop.forward(x);
  const auto v = to_vector<float>(y);
  int zeros_count = 0;
  for (float f : v) {
    CHECK((f == 0.0f || std::abs(f - 1.0f / 0.75f) < 1e-6));
    zeros_count += f == 0.0f;
  }
  CHECK(zeros_count > 180);
  CHECK(zeros_count < 320);
  drop.eval();
  CHECK(testing::max_abs_diff(drop.forward(x), x) == 0.0);
}

TEST_CASE("DropPath: whole samples dropped in train, identity in eval") {
  Generator gen(4);
  DropPath dp(0.5, &gen);
  Tensor x = ones({64, 3, 2});
  const auto v = to_vector<float>(dp.forward(x));
  int dropped = 0;
  for (int b = 0; b < 64; ++b) {
    const float first = v[b * 6];
    for (int j = 1; j < 6; ++j) CHECK(v[b * 6 + j] == first);  // one decision per sample
    CHECK((first == 0.0f || first == 2.0f));
    dropped += first == 0.0f;
  }
  CHECK(dropped > 15);
  CHECK(dropped < 49);
  dp.eval();
  CHECK(testing::max_abs_diff(dp.forward(x), x) == 0.0);
}

TEST_CASE("GELU and MLP: exact and tanh GELU, fc1/fc2 names, gradcheck") {
  Tensor x = tensor(std::vector<double>{-1.0, 0.0, 0.5, 2.0}, {4});
  // GELU(x) = x Φ(x)
  std::vector<double> exact;
  for (double v : {-1.0, 0.0, 0.5, 2.0}) exact.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
  testing::check_values(GELU().forward(x), exact, 1e-12);
  std::vector<double> approx;
  for (double v : {-1.0, 0.0, 0.5, 2.0})
    approx.push_back(0.5 * v * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))));
  testing::check_values(GELU(true).forward(x), approx, 1e-12);

  Generator gen(5);
  MLP mlp(3, 6, 2, Activation::GELU, 0.0, 0.0, true, &gen);
  std::vector<std::string> names;
  for (const auto& [k, t] : mlp.named_parameters()) names.push_back(k);
  CHECK(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
  Tensor in = testing::rand64({2, 3}, 13);
  gradcheck_module(mlp, in, [&] { return mlp.forward(in); });
}

TEST_CASE("PatchConv2d: equals a direct strided convolution, PyTorch weight layout") {
  Generator gen(6);
  PatchConv2d conv(2, 3, 2, true, &gen);
  CHECK(conv.weight.shape() == Shape{3, 2, 2, 2});
  conv.to(kFloat64);
  Tensor x = testing::rand64({2, 2, 4, 6}, 14);
  Tensor y = conv.forward(x);
  REQUIRE(y.shape() == Shape{2, 3, 2, 3});
  // out[b,o,i,j] = bias[o] + Σ_{c,ky,kx} w[o,c,ky,kx] x[b,c,2i+ky,2j+kx]
  const auto xv = to_vector<double>(x), wv = to_vector<double>(conv.weight), bv = to_vector<double>(conv.bias);
  std::vector<double> ref;
  for (int b = 0; b < 2; ++b)
    for (int o = 0; o < 3; ++o)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) {
          double s = bv[o];
          for (int c = 0; c < 2; ++c)
            for (int ky = 0; ky < 2; ++ky)
              for (int kx = 0; kx < 2; ++kx)
                s += wv[((o * 2 + c) * 2 + ky) * 2 + kx] * xv[((b * 2 + c) * 4 + 2 * i + ky) * 6 + 2 * j + kx];
          ref.push_back(s);
        }
  testing::check_values(y, ref, 1e-12);
  Tensor xs = testing::rand64({1, 2, 2, 2}, 15);
  CHECK_GRADCHECK([&](const std::vector<Tensor>&) { return conv.forward(xs); }, {xs, conv.weight, conv.bias});
  CHECK_THROWS_AS(conv.forward(randn({1, 2, 3, 4}, {kFloat64})), Error);  // 3 is not a multiple of 2
}

TEST_CASE("Positional embeddings: sinusoid tables in both layouts, learned table, bounds") {
  SinusoidalPositionalEmbedding inter(10, 6);
  const auto pe = to_vector<double>(inter.pe);
  for (int p : {0, 3, 9})
    for (int i = 0; i < 3; ++i) {
      const double w = std::exp(-2.0 * i * std::log(10000.0) / 6.0);
      CHECK(pe[p * 6 + 2 * i] == doctest::Approx(std::sin(p * w)).epsilon(1e-6));
      CHECK(pe[p * 6 + 2 * i + 1] == doctest::Approx(std::cos(p * w)).epsilon(1e-6));
    }
  SinusoidalPositionalEmbedding concat(10, 6, SinusoidalPositionalEmbedding::Layout::Concatenated);
  const auto pc = to_vector<double>(concat.pe);
  for (int i = 0; i < 3; ++i) {
    const double w = std::exp(-i * std::log(10000.0) / 2.0);
    CHECK(pc[4 * 6 + i] == doctest::Approx(std::sin(4 * w)).epsilon(1e-6));
    CHECK(pc[4 * 6 + 3 + i] == doctest::Approx(std::cos(4 * w)).epsilon(1e-6));
  }
  CHECK(inter.state_dict().empty());  // fixed tables are not saved
  Tensor x = zeros({2, 4, 6});
  Tensor y = inter.forward(x, /*offset=*/3);
  CHECK(testing::max_abs_diff(y.select(0, 1), inter.pe.narrow(0, 3, 4)) == 0.0);
  CHECK_THROWS_WITH_AS(inter.forward(zeros({1, 8, 6}), 3), doctest::Contains("exceed the table's max_len 10"), Error);

  Generator gen(7);
  LearnedPositionalEmbedding learned(5, 4, {}, &gen);
  CHECK(learned.weight.shape() == Shape{5, 4});
  CHECK(max_abs(learned.weight) < 0.1);
  LearnedPositionalEmbedding uniform(50, 40, {PositionInit::Kind::Uniform, 0.02}, &gen);  // the UEA init
  CHECK(max_abs(uniform.weight) <= 0.02);
  CHECK(max_abs(uniform.weight) > 0.019);  // 2000 draws reach close to the bound
  CHECK(std::abs(mean(uniform.weight).item<double>()) < 1e-3);
  Tensor out = learned.forward(zeros({3, 5, 4}));
  out.sum().backward();
  CHECK(to_vector<float>(learned.weight.grad()) == std::vector<float>(20, 3.0f));
}
