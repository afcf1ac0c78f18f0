// layer_norm, embedding, dropout, cross_entropy, mse_loss (ops/nn_ops.cpp,
// ops/cpu/nn_cpu.cpp): hand-computed values, composite oracles, float64 gradchecks on
// contiguous and strided inputs, and error messages that name the op and the values.
#include <cmath>
#include <limits>

#include "testing.h"

using namespace cfx;
using cfx::testing::check_values;
using cfx::testing::max_abs_diff;
using cfx::testing::rand64;
using cfx::testing::rand64_strided;

namespace {

// Reference cross entropy of one row, written out as in the torch docs:
// (1 - eps) (lse - x_t) + eps (lse - mean_c x_c).
double ce_row(const std::vector<double>& x, int64_t t, double eps) {
  double m = -INFINITY, s = 0, mean = 0;
  for (double v : x) m = std::max(m, v);
  for (double v : x) s += std::exp(v - m), mean += v / static_cast<double>(x.size());
  const double lse = m + std::log(s);
  return (1 - eps) * (lse - x[t]) + eps * (lse - mean);
}

// layer_norm from primitives (biased variance), over the last `k` dims.
Tensor layer_norm_composite(const Tensor& x, int64_t k, const Tensor& w, const Tensor& b, double eps) {
  Shape dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  Tensor mu = mean(x, dims, true);
  Tensor var = mean((x - mu) * (x - mu), dims, true);
  Tensor y = (x - mu) / sqrt(var + eps);
  if (w.defined()) y = y * w;
  if (b.defined()) y = y + b;
  return y;
}

}  // namespace

// ---- layer_norm -------------------------------------------------------------------------------

TEST_CASE("layer_norm of a small row computed by hand") {
  Tensor x = tensor(std::vector<double>{1, 2, 3, 4}, {1, 4});
  // mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
  const double r = 1 / std::sqrt(1.25);
  check_values(layer_norm(x, {4}, Tensor(), Tensor(), 0.0), {-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r}, 1e-12);
  Tensor w = tensor(std::vector<double>{0.5, 1, 2, -1}, {4});
  Tensor b = tensor(std::vector<double>{0, 1, 0, 1}, {4});
  check_values(layer_norm(x, {4}, w, b, 0.0), {-0.75 * r, 1 - 0.5 * r, 1.0 * r, 1 - 1.5 * r}, 1e-12);
  const double r_eps = 1 / std::sqrt(1.25 + 1e-5);  // default eps
  check_values(layer_norm(x.to(kFloat32), {4}), {-1.5 * r_eps, -0.5 * r_eps, 0.5 * r_eps, 1.5 * r_eps}, 1e-6);
}

TEST_CASE("layer_norm matches the composite over 1 and 2 trailing dims, contiguous and strided") {
  for (bool strided : {false, true}) {
    CAPTURE(strided);
    Tensor x = (strided ? rand64_strided({6, 4, 5}, 1, -2, 3) : rand64({6, 4, 5}, 1, -2, 3)).detach();
    Tensor w1 = rand64({5}, 2).detach(), b1 = rand64({5}, 3).detach();
    Tensor w2 = rand64({4, 5}, 4).detach(), b2 = rand64({4, 5}, 5).detach();
    CHECK(max_abs_diff(layer_norm(x, {5}, w1, b1), layer_norm_composite(x, 1, w1, b1, 1e-5)) < 1e-12);
    CHECK(max_abs_diff(layer_norm(x, {4, 5}, w2, b2), layer_norm_composite(x, 2, w2, b2, 1e-5)) < 1e-12);
    CHECK(max_abs_diff(layer_norm(x, {6, 4, 5}), layer_norm_composite(x, 3, Tensor(), Tensor(), 1e-5)) < 1e-12);
  }
  // Many rows (parallel), float32 against float64.
  Generator gen(9);
  Tensor big = randn({513, 96}, {kFloat64}, &gen) * 3.0 + 10.0;
  CHECK(max_abs_diff(layer_norm(big.to(kFloat32), {96}).to(kFloat64), layer_norm(big, {96})) < 1e-5);
}

TEST_CASE("layer_norm gradcheck: with and without weight/bias, 2 trailing dims, strided") {
  for (bool strided : {false, true}) {
    CAPTURE(strided);
    auto x = [&](const Shape& s, uint64_t seed) { return strided ? rand64_strided(s, seed) : rand64(s, seed); };
    CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}); }, {x({3, 5}, 1)});
    CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}, in[1], in[2]); },
                    {x({3, 5}, 1), rand64({5}, 2), rand64({5}, 3)});
    CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}, in[1]); },
                    {x({3, 5}, 1), rand64({5}, 2)});
    CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return layer_norm(in[0], {3, 4}, in[1], in[2]); },
                    {x({2, 3, 4}, 4), x({3, 4}, 5), x({3, 4}, 6)});
  }
  // Only the parameters need gradients (x is a constant): the weight path and the
  // bias-only path that skips the kernel.
  Tensor x = rand64({4, 6}, 7).detach();
  Tensor w = rand64({6}, 8).detach();
  CHECK_GRADCHECK([x](const std::vector<Tensor>& in) { return layer_norm(x, {6}, in[0], in[1]); },
                  {rand64({6}, 8), rand64({6}, 9)});
  CHECK_GRADCHECK([x, w](const std::vector<Tensor>& in) { return layer_norm(x, {6}, w, in[0]); }, {rand64({6}, 9)});
  // Many rows: weight/bias gradients summed over several row blocks.
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return layer_norm(in[0], {3}, in[1], in[2]); },
                  {rand64({70, 3}, 10), rand64({3}, 11), rand64({3}, 12)});
}

TEST_CASE("layer_norm errors name the op, normalized_shape and the input shape") {
  Tensor x = zeros({2, 3, 4}, {kFloat64});
  CHECK_THROWS_WITH_AS(layer_norm(x, {5}),
                       doctest::Contains("layer_norm: given normalized_shape=[5], expected input with shape [*, 5], "
                                         "got input of shape [2, 3, 4]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, {4, 3}), doctest::Contains("expected input with shape [*, 4, 3]"), cfx::Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, {1, 2, 3, 4}), doctest::Contains("[*, 1, 2, 3, 4]"), cfx::Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, {}), doctest::Contains("layer_norm: normalized_shape must name"), cfx::Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, {4}, zeros({3}, {kFloat64})),
                       doctest::Contains("layer_norm: expected weight of shape [4] (= normalized_shape), got [3]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, {4}, Tensor(), zeros({4}, {kFloat32})),
                       doctest::Contains("layer_norm: expected bias of the input's dtype float64, got float32"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(layer_norm(zeros({2, 4}, {kInt64}), {4}), doctest::Contains("layer_norm: expected a float"),
                       cfx::Error);
}

// ---- embedding --------------------------------------------------------------------------------

TEST_CASE("embedding gathers rows for an index of any shape and scatter-adds the gradient") {
  Tensor w = arange(0.0, 15.0, 1.0, {kFloat64}).reshape({5, 3}).detach().requires_grad_();
  Tensor idx = tensor(std::vector<int64_t>{0, 4, 2, 2}, {2, 2});
  Tensor out = embedding(idx, w);
  CHECK(out.shape() == Shape{2, 2, 3});
  check_values(out, {0, 1, 2, 12, 13, 14, 6, 7, 8, 6, 7, 8});
  out.sum().backward();
  check_values(w.grad(), {1, 1, 1, 0, 0, 0, 2, 2, 2, 0, 0, 0, 1, 1, 1});  // row 2 looked up twice
  // int32 and 0-d indices.
  check_values(embedding(tensor(std::vector<int32_t>{3}, {1}), w.detach()), {9, 10, 11});
  CHECK(embedding(tensor(std::vector<int64_t>{1}, {1}).reshape({}), w.detach()).shape() == Shape{3});
}

TEST_CASE("embedding: padding_idx rows get no gradient (negative padding_idx wraps)") {
  for (int64_t pad : {1, -4}) {
    CAPTURE(pad);
    Tensor w = ones({5, 2}, {kFloat64}).requires_grad_();
    Tensor idx = tensor(std::vector<int64_t>{1, 3, 1, 0}, {4});
    embedding(idx, w, pad).sum().backward();
    check_values(w.grad(), {1, 1, 0, 0, 0, 0, 1, 1, 0, 0});
  }
}

TEST_CASE("embedding gradcheck on contiguous and strided weights, with padding_idx") {
  Tensor idx = tensor(std::vector<int64_t>{0, 3, 3, 1, 4, 0}, {2, 3});
  // Padding rows are still looked up (their values reach the output) but get no gradient,
  // as in torch; so the padding case is checked on outputs masked to the other positions.
  auto not_pad = [](const Tensor& index, int64_t pad) {
    return ne(index, full(index.shape(), static_cast<double>(pad), {kInt64})).to(kFloat64).unsqueeze(-1);
  };
  for (bool strided : {false, true}) {
    CAPTURE(strided);
    Tensor w = strided ? rand64_strided({5, 4}, 3) : rand64({5, 4}, 3);
    CHECK_GRADCHECK([idx](const std::vector<Tensor>& in) { return embedding(idx, in[0]); }, {w});
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return embedding(idx, in[0], 3) * not_pad(idx, 3); }, {w});
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return embedding(idx.t(), in[0], 0) * not_pad(idx.t(), 0); },
                    {w});
  }
}

TEST_CASE("embedding errors name the bad index and num_embeddings") {
  Tensor w = zeros({5, 2}, {kFloat64});
  CHECK_THROWS_WITH_AS(embedding(tensor(std::vector<int64_t>{0, 7}, {2}), w),
                       doctest::Contains("embedding: index 7 is out of range for num_embeddings 5"), cfx::Error);
  CHECK_THROWS_WITH_AS(embedding(tensor(std::vector<int64_t>{-1}, {1}), w),
                       doctest::Contains("embedding: index -1 is out of range for num_embeddings 5"), cfx::Error);
  CHECK_THROWS_WITH_AS(embedding(tensor(std::vector<int64_t>{0}, {1}), w, 5),
                       doctest::Contains("embedding: padding_idx 5 is out of range for num_embeddings 5"), cfx::Error);
  CHECK_THROWS_WITH_AS(embedding(zeros({2}, {kFloat64}), w),
                       doctest::Contains("embedding: expected int64 or int32 indices, got float64"), cfx::Error);
  CHECK_THROWS_WITH_AS(embedding(tensor(std::vector<int64_t>{0}, {1}), zeros({5}, {kFloat64})),
                       doctest::Contains("embedding: expected a 2-d weight"), cfx::Error);
}

// ---- dropout ----------------------------------------------------------------------------------

TEST_CASE("dropout keeps about 1-p of the elements, scaled by 1/(1-p)") {
  const double p = 0.3;
  const int64_t n = 200000;
  Generator gen(42);
  Tensor y = dropout(ones({n}, {kFloat32}), p, /*train=*/true, &gen);
  const auto v = to_vector<double>(y);
  int64_t kept = 0;
  for (double e : v) {
    if (e != 0) {
      ++kept;
      CHECK(std::abs(e - 1 / (1 - p)) < 1e-6);
    }
  }
  // Binomial std of the kept fraction: sqrt(p(1-p)/n) ~ 0.001; allow 5 sigma.
  CHECK(std::abs(static_cast<double>(kept) / n - (1 - p)) < 0.005);
  CHECK(std::abs(mean(y).item<double>() - 1.0) < 0.01);  // inverted dropout keeps the mean
}

TEST_CASE("dropout: same seed gives the same mask, identity in eval or p == 0, zeros at p == 1") {
  Tensor x = rand64({64, 32}, 1).detach();
  Generator g1(7), g2(7), g3(8);
  Tensor a = dropout(x, 0.5, true, &g1), b = dropout(x, 0.5, true, &g2), c = dropout(x, 0.5, true, &g3);
  CHECK(max_abs_diff(a, b) == 0);
  CHECK(max_abs_diff(a, c) > 0);
  CHECK(dropout(x, 0.5, /*train=*/false).unsafe_impl() == x.unsafe_impl());
  CHECK(dropout(x, 0.0, true).unsafe_impl() == x.unsafe_impl());
  Tensor xg = rand64({4, 3}, 2);
  Tensor z = dropout(xg, 1.0, true);
  check_values(z, std::vector<double>(12, 0.0));
  z.sum().backward();
  check_values(xg.grad(), std::vector<double>(12, 0.0));
}

TEST_CASE("dropout gradient is the mask; gradcheck with a fixed generator") {
  Tensor x = ones({1000}, {kFloat64}).requires_grad_();
  Generator gen(5);
  Tensor y = dropout(x, 0.25, true, &gen);
  y.sum().backward();
  CHECK(max_abs_diff(x.grad(), y.detach()) == 0);  // x = 1, so y is the mask itself
  for (bool strided : {false, true}) {
    Tensor xs = strided ? rand64_strided({6, 5}, 3) : rand64({6, 5}, 3);
    CHECK_GRADCHECK(
        [](const std::vector<Tensor>& in) {
          Generator g(11);  // the same mask on every evaluation
          return dropout(in[0], 0.4, true, &g);
        },
        {xs});
  }
}

TEST_CASE("dropout errors name p") {
  Tensor x = zeros({3}, {kFloat32});
  CHECK_THROWS_WITH_AS(dropout(x, 1.5, true), doctest::Contains("dropout: probability p must be in [0, 1], got 1.5"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(dropout(x, -0.1, true), doctest::Contains("got -0.1"), cfx::Error);
  CHECK_THROWS_WITH_AS(dropout(zeros({3}, {kInt64}), 0.5, true), doctest::Contains("dropout: expected a float"),
                       cfx::Error);
}

// ---- cross_entropy ----------------------------------------------------------------------------

TEST_CASE("cross_entropy vs log-sum-exp by hand: mean, sum, none, label smoothing, ignore_index") {
  const std::vector<double> r0{1, 2, 3}, r1{1, 1, 1}, r2{0.5, -1, 2};
  Tensor logits = tensor(std::vector<double>{1, 2, 3, 1, 1, 1, 0.5, -1, 2}, {3, 3});
  Tensor target = tensor(std::vector<int64_t>{2, 0, 1}, {3});
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3;  // 0.40760596
  CHECK(std::abs(ce_row(r0, 2, 0) - 0.40760596444438) < 1e-12);
  const double l1 = std::log(3.0), l2 = ce_row(r2, 1, 0);
  check_values(cross_entropy(logits, target, -100, 0.0, "none"), {l0, l1, l2}, 1e-12);
  CHECK(std::abs(cross_entropy(logits, target, -100, 0.0, "sum").item<double>() - (l0 + l1 + l2)) < 1e-12);
  CHECK(std::abs(cross_entropy(logits, target).item<double>() - (l0 + l1 + l2) / 3) < 1e-12);

  // Label smoothing 0.1: row 0 is 0.9 (lse - 3) + 0.1 (lse - 2) = 0.50760596.
  const double s0 = ce_row(r0, 2, 0.1), s1 = ce_row(r1, 0, 0.1), s2 = ce_row(r2, 1, 0.1);
  CHECK(std::abs(s0 - 0.50760596444438) < 1e-12);
  check_values(cross_entropy(logits, target, -100, 0.1, "none"), {s0, s1, s2}, 1e-12);

  // ignore_index: the row contributes 0 and is left out of the mean's count.
  Tensor t_ign = tensor(std::vector<int64_t>{2, -100, 1}, {3});
  check_values(cross_entropy(logits, t_ign, -100, 0.1, "none"), {s0, 0, s2}, 1e-12);
  CHECK(std::abs(cross_entropy(logits, t_ign, -100, 0.1).item<double>() - (s0 + s2) / 2) < 1e-12);
  Tensor t_ign1 = tensor(std::vector<int64_t>{2, 1, 1}, {3});  // ignore_index = 1 drops rows 1 and 2
  CHECK(std::abs(cross_entropy(logits, t_ign1, 1).item<double>() - l0) < 1e-12);

  // All rows ignored: mean is 0/0 = NaN (torch), sum is 0.
  Tensor all_ign = full({3}, -100.0, {kInt64});
  CHECK(std::isnan(cross_entropy(logits, all_ign).item<double>()));
  CHECK(cross_entropy(logits, all_ign, -100, 0.0, "sum").item<double>() == 0.0);

  // float32 and a single sample with logits [C] and a 0-d target.
  CHECK(std::abs(cross_entropy(logits.to(kFloat32), target, -100, 0.1).item<double>() - (s0 + s1 + s2) / 3) < 1e-6);
  Tensor one = cross_entropy(logits.select(0, 0), tensor(std::vector<int64_t>{2}, {1}).reshape({}));
  CHECK(one.dim() == 0);
  CHECK(std::abs(one.item<double>() - l0) < 1e-12);
}

TEST_CASE("cross_entropy on [N, C, d] equals the [N*d, C] rows with C moved last") {
  Tensor logits = rand64({2, 4, 3}, 5, -2, 2).detach();  // N=2, C=4, d=3
  Tensor target = tensor(std::vector<int64_t>{0, 3, -100, 2, 1, 1}, {2, 3});
  Tensor rows = logits.permute({0, 2, 1}).reshape({6, 4});
  Tensor none = cross_entropy(logits, target, -100, 0.2, "none");
  CHECK(none.shape() == Shape{2, 3});
  CHECK(max_abs_diff(none.reshape({6}), cross_entropy(rows, target.reshape({6}), -100, 0.2, "none")) < 1e-14);
  CHECK(std::abs(cross_entropy(logits, target, -100, 0.2).item<double>() -
                 cross_entropy(rows, target.reshape({6}), -100, 0.2).item<double>()) < 1e-14);
}

TEST_CASE("cross_entropy gradcheck: reductions, smoothing, ignore_index, strided, [N, C, d]") {
  Tensor target = tensor(std::vector<int64_t>{2, -100, 0, 4}, {4});
  for (bool strided : {false, true}) {
    for (const char* red : {"mean", "sum", "none"}) {
      for (double eps : {0.0, 0.1}) {
        CAPTURE(strided);
        CAPTURE(red);
        CAPTURE(eps);
        Tensor x = strided ? rand64_strided({4, 5}, 1, -2, 2) : rand64({4, 5}, 1, -2, 2);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], target, -100, eps, red); },
                        {x});
      }
    }
    Tensor x3 = strided ? rand64_strided({2, 3, 4}, 2, -2, 2) : rand64({2, 3, 4}, 2, -2, 2);
    Tensor t3 = tensor(std::vector<int64_t>{0, 2, 1, 1, -100, 2, 0, 0}, {2, 4});
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t3, -100, 0.1); }, {x3});
    Tensor t3b = tensor(std::vector<int64_t>{0, 2, 1, 1, 1, 2, 0, 0}, {2, 4});
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t3b, 1, 0.0, "none"); }, {x3});
  }
}

TEST_CASE("cross_entropy errors name the op and the bad values") {
  Tensor logits = zeros({2, 3}, {kFloat64});
  CHECK_THROWS_WITH_AS(cross_entropy(logits, tensor(std::vector<int64_t>{0, 3}, {2})),
                       doctest::Contains("cross_entropy: target 3 is out of range for 3 classes"), cfx::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, tensor(std::vector<int64_t>{-1, 0}, {2})),
                       doctest::Contains("cross_entropy: target -1 is out of range for 3 classes"), cfx::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, tensor(std::vector<int64_t>{0, 1, 2}, {3})),
                       doctest::Contains("cross_entropy: expected target of shape [2] for logits of shape [2, 3], got [3]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, zeros({2}, {kFloat64})),
                       doctest::Contains("cross_entropy: expected int64 class-index targets, got float64"), cfx::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, tensor(std::vector<int64_t>{0, 1}, {2}), -100, 0.0, "avg"),
                       doctest::Contains("cross_entropy: reduction must be \"mean\", \"sum\" or \"none\", got \"avg\""),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, tensor(std::vector<int64_t>{0, 1}, {2}), -100, 1.5),
                       doctest::Contains("cross_entropy: label_smoothing must be in [0, 1], got 1.5"), cfx::Error);
}

// ---- mse_loss ---------------------------------------------------------------------------------

TEST_CASE("mse_loss values, gradcheck and shape error") {
  Tensor a = tensor(std::vector<double>{1, 2, 3}, {3}), b = tensor(std::vector<double>{1, 1, 1}, {3});
  CHECK(std::abs(mse_loss(a, b).item<double>() - 5.0 / 3) < 1e-12);
  CHECK(mse_loss(a, b, "sum").item<double>() == 5.0);
  check_values(mse_loss(a, b, "none"), {0, 1, 4});
  for (const char* red : {"mean", "sum", "none"})
    CHECK_GRADCHECK([red](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], red); },
                    {rand64_strided({3, 4}, 1), rand64({3, 4}, 2)});
  CHECK_THROWS_WITH_AS(mse_loss(a, zeros({4}, {kFloat64})),
                       doctest::Contains("mse_loss: expected target of the input's shape [3], got [4]"), cfx::Error);
  CHECK_THROWS_WITH_AS(mse_loss(a, b, "max"), doctest::Contains("mse_loss: reduction must be"), cfx::Error);
}

// ---- soft_target_cross_entropy ----------------------------------------------------------------

TEST_CASE("soft_target_cross_entropy: hand values, one-hot equals cross_entropy, gradcheck, errors") {
  Tensor logits = tensor(std::vector<double>{1, 2, 3, 0.5, -1, 2}, {2, 3});
  // Row 0: 0.7 (lse - 3) + 0.3 (lse - 1); row 1: all mass on class 1.
  Tensor target = tensor(std::vector<double>{0.3, 0, 0.7, 0, 1, 0}, {2, 3});
  const double r0 = 0.7 * ce_row({1, 2, 3}, 2, 0) + 0.3 * ce_row({1, 2, 3}, 0, 0), r1 = ce_row({0.5, -1, 2}, 1, 0);
  check_values(soft_target_cross_entropy(logits, target, "none"), {r0, r1}, 1e-12);
  CHECK(std::abs(soft_target_cross_entropy(logits, target).item<double>() - (r0 + r1) / 2) < 1e-12);
  CHECK(std::abs(soft_target_cross_entropy(logits, target, "sum").item<double>() - (r0 + r1)) < 1e-12);

  // Label smoothing as soft targets (what timm's mixup_target builds): off = eps / C, on = 1 - eps + off.
  const double eps = 0.1, off = eps / 3, on = 1 - eps + off;
  Tensor smooth = tensor(std::vector<double>{off, off, on, off, on, off}, {2, 3});
  CHECK(std::abs(soft_target_cross_entropy(logits, smooth).item<double>() -
                 cross_entropy(logits, tensor(std::vector<int64_t>{2, 1}, {2}), -100, eps).item<double>()) < 1e-12);

  for (const char* red : {"mean", "sum", "none"})
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return soft_target_cross_entropy(in[0], in[1], red); },
                    {rand64_strided({3, 5}, 3, -2, 2), softmax(rand64({3, 5}, 4), 1).detach().requires_grad_()});

  CHECK_THROWS_WITH_AS(soft_target_cross_entropy(logits, zeros({2, 4}, {kFloat64})),
                       doctest::Contains("soft_target_cross_entropy: expected logits and target of one shape [N, C], "
                                         "got [2, 3] and [2, 4]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(soft_target_cross_entropy(logits, target.to(kFloat32)),
                       doctest::Contains("a target of their dtype, got float64 and float32"), cfx::Error);
}
