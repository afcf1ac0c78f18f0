// Flow-Attention: the fused op against the composite oracle (flow_attention_reference.h,
// the official equations written with primitive ops), float64 gradchecks of every variant,
// the conservation facts of BENCHMARKS.md 0.2, the CV offsets by hand, causality, masks, and
// linear memory.
#include <algorithm>
#include <cmath>

#include "ops/flow_attention_reference.h"
#include "flow_attention_cases.h"
#include "testing.h"

using namespace cfx;
using cfx::testing::flow_attention_reference;
using cfx::testing::max_abs_diff;
using cfx::testing::rand64;
using FA = FlowAttentionOptions;
using cfx::testing::flow_variant_cases;
using cfx::testing::make_mask;
using Case = cfx::testing::FlowCase;

namespace {

// Inputs spread enough that sigmoid is not flat, and the clamp is active for some sources.
std::vector<Tensor> inputs(const Case& c, uint64_t seed) {
  return {rand64({c.B, c.H, c.L, c.D}, seed, -2, 2), rand64({c.B, c.H, c.S, c.D}, seed + 1, -2, 2),
          rand64({c.B, c.H, c.S, c.M}, seed + 2, -1, 1)};
}

}  // namespace

TEST_CASE("fused flow_attention == composite reference (float64 ~1e-12, float32 ~1e-5)") {
  for (const Case& c : flow_variant_cases()) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    auto in = inputs(c, 100);
    Tensor fused = flow_attention(in[0], in[1], in[2], c.opts);
    Tensor ref = flow_attention_reference(in[0], in[1], in[2], c.opts);
    CHECK(fused.shape() == Shape{c.B, c.H, c.L, c.M});
    CHECK(max_abs_diff(fused, ref) < 1e-12 * (1 + max_abs_diff(ref, zeros_like(ref))));

    // Gradients of the fused node vs autograd through the composite.
    Tensor g = rand64({c.B, c.H, c.L, c.M}, 7).detach();
    std::vector<Tensor> a(3), b(3);
    for (int i = 0; i < 3; ++i) {
      a[i] = in[i].detach().clone().requires_grad_();
      b[i] = in[i].detach().clone().requires_grad_();
    }
    flow_attention(a[0], a[1], a[2], c.opts).backward(g);
    flow_attention_reference(b[0], b[1], b[2], c.opts).backward(g);
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK(max_abs_diff(a[i].grad(), b[i].grad()) < 1e-10 * (1 + max_abs_diff(b[i].grad(), zeros_like(b[i].grad()))));
    }

    // float32 agrees with float64 to ~1e-5 relative.
    FA o32 = c.opts;
    Tensor f32 = flow_attention(in[0].detach().to(kFloat32), in[1].detach().to(kFloat32),
                                in[2].detach().to(kFloat32), o32).to(kFloat64);
    const double scale = max_abs_diff(ref, zeros_like(ref));
    CHECK(max_abs_diff(f32, ref) <= 1e-5 * scale + 1e-6);
  }
}

TEST_CASE("flow_attention float64 gradcheck for every variant") {
  for (const Case& c : flow_variant_cases()) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    auto in = inputs(c, 200);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& x) { return flow_attention(x[0], x[1], x[2], c.opts); }, in);
  }
}

TEST_CASE("flow_attention accepts strided (head-split) inputs") {
  // [B, L, H, D] projections viewed as [B, H, L, D], as the attention module produces them.
  Tensor q = rand64({1, 5, 2, 3}, 1, -2, 2).detach().transpose(1, 2).requires_grad_();
  Tensor k = rand64({1, 5, 2, 3}, 2, -2, 2).detach().transpose(1, 2).requires_grad_();
  Tensor v = rand64({1, 5, 2, 4}, 3).detach().transpose(1, 2).requires_grad_();
  CHECK_FALSE(q.is_contiguous());
  for (FA o : {FA::core(), FA::nlp()}) {
    CHECK(max_abs_diff(flow_attention(q, k, v, o), flow_attention_reference(q, k, v, o)) < 1e-12);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& x) { return flow_attention(x[0], x[1], x[2], o); }, {q, k, v});
  }
}

TEST_CASE("conservation (BENCHMARKS.md 0.2): incoming flow sums to L, outgoing to S") {
  // With eps -> 0: sum_j (k_j . b) = L where b = sum_i q_i I_i, and sum_i (q_i . a) = S.
  const int64_t L = 9, S = 6, D = 4;
  Tensor q = sigmoid(rand64({1, 1, L, D}, 5, -2, 2).detach()), k = sigmoid(rand64({1, 1, S, D}, 6, -2, 2).detach());
  Tensor I = 1.0 / sum(q * sum(k, {2}, true), {-1});
  Tensor O = 1.0 / sum(k * sum(q, {2}, true), {-1});
  Tensor b = sum(q * I.unsqueeze(-1), {2}, true), a = sum(k * O.unsqueeze(-1), {2}, true);
  CHECK(sum(sum(k * b, {-1})).item<double>() == doctest::Approx(L).epsilon(1e-12));
  CHECK(sum(sum(q * a, {-1})).item<double>() == doctest::Approx(S).epsilon(1e-12));
  // The competition weights of the op sum to S: with v = 1 and one key dim, KV = sum_j k_j C_j.
  // Checked through the op: y / (A * I * q) = sum_j k_j C_j; with k constant (K = 0 -> 0.5)
  // that is 0.5 * sum_j C_j = 0.5 * S.
  FA o = FA::time_series();
  o.eps = 1e-12;
  Tensor Q = zeros({1, 1, 3, 1}, {kFloat64}), K = zeros({1, 1, S, 1}, {kFloat64}), V = ones({1, 1, S, 1}, {kFloat64});
  Tensor y = flow_attention(Q, K, V, o);
  // q = k = 0.5 everywhere: I = 1/(0.5*0.5*S), A = sigmoid(S * 0.5 * a), a = 0.5*S*O = 0.5*S/(0.5*0.5*3)...
  const double q_ = 0.5, I_ = 1 / (q_ * q_ * S), O_ = 1 / (q_ * q_ * 3), a_ = q_ * S * O_;
  const double A_ = 1 / (1 + std::exp(-(q_ * a_) * 3.0 / S));
  const double expected = A_ * I_ * q_ * (q_ * S);  // C_j = 1 for identical keys
  for (double v : to_vector<double>(y)) CHECK(v == doctest::Approx(expected).epsilon(1e-9));
}

TEST_CASE("vision(): + eps after each normaliser dot, by hand on L = S = 2, D = M = 1") {
  // q = sigmoid(0) = 1/2 twice; k = sigmoid(0), sigmoid(ln 3) = 1/2, 3/4; v = 1, 2. BENCHMARKS.md
  // 0.2 with after = eps (CV) or 0 (core); q_bar = 1, k_bar = 5/4, b = 2 (1/2) I = I.
  auto by_hand = [](double e, double after) {
    const double I = 1 / ((0.5 + e) * (1.25 + e) + after);
    const double O1 = 1 / ((0.5 + e) * (1 + e) + after), O2 = 1 / ((0.75 + e) * (1 + e) + after);
    const double a = 0.5 * O1 + 0.75 * O2, b = I;
    const double I_hat = (0.5 + e) * (a + e) + after;
    const double O1_hat = std::clamp((0.5 + e) * (b + e) + after, -1.0, 1.0);
    const double O2_hat = std::clamp((0.75 + e) * (b + e) + after, -1.0, 1.0);
    const double C1 = 2 * std::exp(O1_hat) / (std::exp(O1_hat) + std::exp(O2_hat)), C2 = 2 - C1;
    const double kv = 0.5 * C1 * 1 + 0.75 * C2 * 2;
    return I * 0.5 * kv / (1 + std::exp(-I_hat));  // the same for both queries
  };
  const Tensor Q = zeros({1, 1, 2, 1}, {kFloat64});
  const Tensor K = tensor(std::vector<double>{0, std::log(3.0)}, {1, 1, 2, 1});
  const Tensor V = tensor(std::vector<double>{1, 2}, {1, 1, 2, 1});
  CHECK(FA::vision().eps_after_dot);
  CHECK_FALSE(FA::core().eps_after_dot);
  // eps = 0.1: the offsets are large (y = 0.9463 core, 0.8372 CV), so dropping one shows.
  const double e = 0.1;
  FA cv = FA::vision(), core = FA::core();
  cv.eps = core.eps = e;
  for (double y : to_vector<double>(flow_attention(Q, K, V, cv)))
    CHECK(y == doctest::Approx(by_hand(e, e)).epsilon(1e-13));
  for (double y : to_vector<double>(flow_attention(Q, K, V, core)))
    CHECK(y == doctest::Approx(by_hand(e, 0)).epsilon(1e-13));
  CHECK(by_hand(e, 0) - by_hand(e, e) > 0.1);
  // Default eps = 1e-6: the presets still differ, by what the formulas say (about -2.1e-6).
  const Tensor diff = flow_attention(Q, K, V, FA::vision()) - flow_attention(Q, K, V, FA::core());
  const double expected = by_hand(1e-6, 1e-6) - by_hand(1e-6, 0);
  CHECK(std::abs(expected) > 1e-6);
  for (double d : to_vector<double>(diff)) CHECK(std::abs(d - expected) < 1e-13);
}

TEST_CASE("causal flow_attention: position i never sees keys or values after i") {
  const int64_t L = 8;
  auto in = inputs({"c", 1, 2, L, L, 3, 3, FA::nlp()}, 300);
  Tensor y1 = flow_attention(in[0], in[1], in[2], FA::nlp());
  Tensor k2 = in[1].detach().clone(), v2 = in[2].detach().clone();
  k2.narrow(2, 5, 3).fill_(3.0);  // change the future of position 4
  v2.narrow(2, 5, 3).fill_(-7.0);
  Tensor y2 = flow_attention(in[0], k2, v2, FA::nlp());
  CHECK(max_abs_diff(y1.narrow(2, 0, 5), y2.narrow(2, 0, 5)) == 0.0);
  CHECK(max_abs_diff(y1.narrow(2, 5, 3), y2.narrow(2, 5, 3)) > 1e-3);
}

TEST_CASE("key padding mask: padded keys have no influence at all") {
  const int64_t S = 6;
  FA o = FA::core();
  o.key_padding_mask = make_mask(1, S, {4});
  auto in = inputs({"m", 1, 2, 5, S, 3, 3, o}, 400);
  Tensor y1 = flow_attention(in[0], in[1], in[2], o);
  Tensor k2 = in[1].detach().clone(), v2 = in[2].detach().clone();
  k2.narrow(2, 4, 2).fill_(5.0);
  v2.narrow(2, 4, 2).fill_(9.0);
  CHECK(max_abs_diff(y1, flow_attention(in[0], k2, v2, o)) < 1e-14);
  // ... and equals attention over the 4 valid keys alone.
  Tensor y_short = flow_attention(in[0], in[1].narrow(2, 0, 4), in[2].narrow(2, 0, 4), FA::core());
  CHECK(max_abs_diff(y1, y_short) < 1e-13);
}

TEST_CASE("flow_attention input errors name the problem") {
  Tensor q = ones({1, 2, 4, 3}), k = ones({1, 2, 5, 3}), v = ones({1, 2, 5, 2});
  CHECK_THROWS_WITH_AS(flow_attention(ones({2, 4, 3}), k, v), doctest::Contains("expected q [B,H,L,D]"), cfx::Error);
  CHECK_THROWS_WITH_AS(flow_attention(q, ones({1, 2, 5, 4}), v),
                       doctest::Contains("q and k must have the same head dim D, got [1, 2, 4, 3] and [1, 2, 5, 4]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(flow_attention(q, k, ones({1, 2, 6, 2})), doctest::Contains("same length S"), cfx::Error);
  CHECK_THROWS_WITH_AS(flow_attention(q, k, v, FA::nlp()), doctest::Contains("causal needs L == S, got L=4, S=5"),
                       cfx::Error);
  FA bad = FA::core();
  bad.key_padding_mask = ones({1, 4}, {kBool});
  CHECK_THROWS_WITH_AS(flow_attention(q, k, v, bad), doctest::Contains("key_padding_mask must be bool [B, S] = [1, 5]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(flow_attention(q, k.to(kFloat64), v), doctest::Contains("must share a float dtype"), cfx::Error);
}

TEST_CASE("flow_attention memory is linear in sequence length (causal included)") {
  // Peak bytes allocated by forward+backward (outputs, gradients, saved normalisers and the
  // kernels' scratch all come from the tracked allocator). From L to 8L a linear op grows
  // ~8x (size-class rounding adds jitter); a quadratic one would grow 64x.
  const int64_t H = 2, D = 16;
  auto peak = [&](int64_t L, FA o) {
    Tensor q = randn({1, H, L, D}).requires_grad_(), k = randn({1, H, L, D}).requires_grad_(),
           v = randn({1, H, L, D}).requires_grad_();
    empty_cpu_cache();
    reset_peak_cpu_memory();
    const int64_t base = cpu_memory_stats().allocated;
    flow_attention(q, k, v, o).sum().backward();
    return static_cast<double>(cpu_memory_stats().peak_allocated - base);
  };
  for (FA o : {FA::core(), FA::nlp()}) {
    CAPTURE(o.causal);
    const double small = peak(1024, o), large = peak(8192, o);
    CHECK(large / small < 12.0);
    // In absolute terms: a few dozen floats per position and head (D = M = 16 here).
    CHECK(large / (8192.0 * H) < 64 * D * sizeof(float));
  }
}

TEST_CASE("scaled_dot_product_attention baseline: values and gradcheck") {
  Tensor q = rand64({1, 2, 4, 3}, 1), k = rand64({1, 2, 4, 3}, 2), v = rand64({1, 2, 4, 2}, 3);
  // Causal: the first query attends only to the first key.
  Tensor y = scaled_dot_product_attention(q, k, v, true);
  CHECK(max_abs_diff(y.narrow(2, 0, 1), v.narrow(2, 0, 1)) < 1e-15);
  CHECK_GRADCHECK([](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], true); },
                  {q, k, v});
  CHECK_GRADCHECK([](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); },
                  {q, k, v});
}
