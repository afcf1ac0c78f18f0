// FlowAttention and SoftmaxAttention modules: official names and shapes, agreement with a
// scalar transcription of the official module, option pass-through, causality, gradients.
#include "flow_reference.h"
#include "testing.h"

using namespace cfx;
using namespace cfx::nn;

namespace {

std::vector<double> vec(const Tensor& t) { return to_vector<double>(t); }

testing::OfficialFlowWeights weights_of(const FlowAttention& m) {
  testing::OfficialFlowWeights w;
  w.d_input = m.config.d_input;
  w.d_model = m.config.d_model;
  w.d_output = m.config.d_output;
  w.n_heads = m.config.n_heads;
  w.wq = vec(m.query_projection->weight), w.bq = vec(m.query_projection->bias);
  w.wk = vec(m.key_projection->weight), w.bk = vec(m.key_projection->bias);
  w.wv = vec(m.value_projection->weight), w.bv = vec(m.value_projection->bias);
  w.wo = vec(m.out_projection->weight), w.bo = vec(m.out_projection->bias);
  return w;
}

// The module's forward rebuilt from its parts: projections, head split, op, merge, out projection.
Tensor by_hand(const FlowAttention& m, const Tensor& x, const FlowAttentionOptions& opts) {
  auto heads = [&](const Tensor& t) { return t.view({t.size(0), t.size(1), m.config.n_heads, -1}).transpose(1, 2); };
  Tensor q = heads(linear(x, m.query_projection->weight, m.query_projection->bias));
  Tensor k = heads(linear(x, m.key_projection->weight, m.key_projection->bias));
  Tensor v = heads(linear(x, m.value_projection->weight, m.value_projection->bias));
  Tensor y = flow_attention(q, k, v, opts).transpose(1, 2).reshape({x.size(0), x.size(1), -1});
  return linear(y, m.out_projection->weight, m.out_projection->bias);
}

}  // namespace

TEST_CASE("FlowAttention: official parameter names, [out, in] shapes, PyTorch init") {
  FlowAttentionConfig cfg;
  cfg.d_input = 6;
  cfg.d_model = 8;
  cfg.d_output = 5;
  cfg.n_heads = 2;
  Generator gen(1);
  FlowAttention attn(cfg, &gen);
  std::vector<std::pair<std::string, Shape>> expected = {
      {"query_projection.weight", {8, 6}}, {"query_projection.bias", {8}}, {"key_projection.weight", {8, 6}},
      {"key_projection.bias", {8}},        {"value_projection.weight", {8, 6}}, {"value_projection.bias", {8}},
      {"out_projection.weight", {5, 8}},   {"out_projection.bias", {5}}};
  const StateDict sd = attn.state_dict();
  REQUIRE(sd.size() == expected.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    CHECK(sd[i].first == expected[i].first);
    CHECK(sd[i].second.shape() == expected[i].second);
  }
  CHECK(max(abs(attn.query_projection->weight)).item<double>() <= 1.0 / std::sqrt(6.0));
  CHECK(max(abs(attn.out_projection->weight)).item<double>() <= 1.0 / std::sqrt(8.0));
  CHECK(attn.dropout->p == doctest::Approx(0.05));  // official default
  CHECK(attn.forward(randn({3, 7, 6})).shape() == Shape{3, 7, 5});

  cfg.bias = false;  // LRA
  FlowAttention no_bias(cfg);
  CHECK(no_bias.state_dict().size() == 4);
  CHECK_THROWS_WITH_AS(FlowAttention(FlowAttentionConfig{6, 9, 0, 2}), doctest::Contains("divisible by n_heads"), Error);
  CHECK_THROWS_AS(attn.forward(randn({3, 7, 5})), Error);
}

TEST_CASE("FlowAttention: matches a scalar transcription of the official module (core and CV)") {
  for (bool cv : {false, true}) {
    CAPTURE(cv);
    FlowAttentionConfig cfg;
    cfg.d_input = 5;
    cfg.d_model = 6;
    cfg.d_output = 4;
    cfg.n_heads = 3;
    cfg.options = cv ? FlowAttentionOptions::vision() : FlowAttentionOptions::core();
    Generator gen(2);
    FlowAttention attn(cfg, &gen);
    attn.eval();
    attn.to(kFloat64);
    Tensor x = randn({2, 7, 5}, {kFloat64}, &gen) * 2.0;
    const auto ref = testing::official_flow_attention(weights_of(attn), vec(x), 2, 7, 1e-6, cv);
    testing::check_values(attn.forward(x), ref, 1e-10);
    const auto other = testing::official_flow_attention(weights_of(attn), vec(x), 2, 7, 1e-6, !cv);
    double gap = 0;  // the two variants differ by ~1e-6, far above the tolerance
    for (size_t i = 0; i < ref.size(); ++i) gap = std::max(gap, std::abs(ref[i] - other[i]));
    CHECK(gap > 1e-8);
  }
}

TEST_CASE("FlowAttention: options, mask and both forward overloads pass through to the op") {
  Generator gen(3);
  Tensor x = randn({2, 6, 8}, {}, &gen);
  Tensor mask = tensor(std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}, {2, 6}).to(kBool);
  for (auto preset : {FlowAttentionOptions::core(), FlowAttentionOptions::vision(), FlowAttentionOptions::time_series(),
                      FlowAttentionOptions::lra(), FlowAttentionOptions::nlp(), FlowAttentionOptions::rl()}) {
    FlowAttentionConfig cfg;
    cfg.d_input = 8;
    cfg.n_heads = 2;
    cfg.options = preset;
    FlowAttention attn(cfg, &gen);
    attn.eval();
    CHECK(testing::max_abs_diff(attn.forward(x), by_hand(attn, x, preset)) < 1e-6);
    CHECK(testing::max_abs_diff(attn.forward(x, x, x), attn.forward(x)) == 0.0);
    if (!preset.causal) {
      FlowAttentionOptions masked = preset;
      masked.key_padding_mask = mask;
      CHECK(testing::max_abs_diff(attn.forward(x, mask), by_hand(attn, x, masked)) < 1e-6);
    }
  }
}

TEST_CASE("FlowAttention: causal variant never looks ahead") {
  FlowAttentionConfig cfg;
  cfg.d_input = 8;
  cfg.n_heads = 2;
  cfg.options = FlowAttentionOptions::nlp();
  Generator gen(4);
  FlowAttention attn(cfg, &gen);
  attn.eval();
  Tensor x = randn({1, 10, 8}, {}, &gen);
  Tensor x2 = x.clone();
  {
    NoGradGuard no_grad;
    x2.narrow(1, 6, 4).copy_(randn({1, 4, 8}, {}, &gen));
  }
  Tensor y = attn.forward(x), y2 = attn.forward(x2);
  CHECK(testing::max_abs_diff(y.narrow(1, 0, 6), y2.narrow(1, 0, 6)) < 1e-6);
  CHECK(testing::max_abs_diff(y.narrow(1, 6, 4), y2.narrow(1, 6, 4)) > 1e-4);
}

TEST_CASE("FlowAttention: dropout after out_projection only in train mode") {
  FlowAttentionConfig cfg;
  cfg.d_input = 8;
  cfg.n_heads = 2;
  cfg.dropout = 0.5;
  FlowAttention attn(cfg);
  Tensor x = randn({2, 5, 8});
  attn.eval();
  CHECK(testing::max_abs_diff(attn.forward(x), attn.forward(x)) == 0.0);
  attn.train();
  CHECK(testing::max_abs_diff(attn.forward(x), attn.forward(x)) > 0.0);
}

TEST_CASE("FlowAttention: float64 gradcheck through input and all projections") {
  for (auto preset : {FlowAttentionOptions::core(), FlowAttentionOptions::nlp()}) {
    FlowAttentionConfig cfg;
    cfg.d_input = 4;
    cfg.n_heads = 2;
    cfg.options = preset;
    Generator gen(5);
    FlowAttention attn(cfg, &gen);
    attn.eval();
    attn.to(kFloat64);
    Tensor x = testing::rand64({1, 3, 4}, 21, -2.0, 2.0);
    std::vector<Tensor> inputs{x};
    for (const Tensor& p : attn.parameters()) inputs.push_back(p);
    CHECK_GRADCHECK([&](const std::vector<Tensor>&) { return attn.forward(x); }, inputs);
  }
}

TEST_CASE("SoftmaxAttention: same names, equals softmax(q kᵀ/√dh) v by hand, causal") {
  SoftmaxAttentionConfig cfg;
  cfg.d_input = 4;
  cfg.n_heads = 2;
  Generator gen(6);
  SoftmaxAttention attn(cfg, &gen);
  attn.to(kFloat64);
  CHECK(attn.state_dict()[0].first == "query_projection.weight");
  Tensor x = randn({2, 5, 4}, {kFloat64}, &gen);
  auto heads = [](const Tensor& t) { return t.view({2, 5, 2, 2}).transpose(1, 2); };
  Tensor q = heads(attn.query_projection->forward(x)), k = heads(attn.key_projection->forward(x)),
         v = heads(attn.value_projection->forward(x));
  Tensor y = matmul(softmax(matmul(q, k.transpose(-1, -2)) / std::sqrt(2.0), -1), v);
  Tensor ref = attn.out_projection->forward(y.transpose(1, 2).reshape({2, 5, 4}));
  CHECK(testing::max_abs_diff(attn.forward(x), ref) < 1e-12);

  cfg.causal = true;
  SoftmaxAttention causal(cfg, &gen);
  Tensor x2 = x.to(kFloat32).clone();
  Tensor x3 = x2.clone();
  {
    NoGradGuard no_grad;
    x3.narrow(1, 3, 2).fill_(5.0);
  }
  CHECK(testing::max_abs_diff(causal.forward(x2).narrow(1, 0, 3), causal.forward(x3).narrow(1, 0, 3)) < 1e-6);
  Tensor xs = testing::rand64({1, 3, 4}, 22);
  CHECK_GRADCHECK([&](const std::vector<Tensor>&) { return attn.forward(xs); }, {xs, attn.query_projection->weight});
}
