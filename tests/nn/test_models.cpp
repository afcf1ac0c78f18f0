// Encoder layers (pre-LN / post-LN, Flow / softmax) and the model family at toy sizes:
// shapes, key names, gradients reaching every parameter, train/eval, causality.
#include "testing.h"

using namespace cfx;
using namespace cfx::nn;

namespace {

TransformerEncoderLayerConfig small_layer(AttentionKind kind, bool norm_first) {
  TransformerEncoderLayerConfig c;
  c.d_model = 8;
  c.n_heads = 2;
  c.d_ff = 16;
  c.attention = kind;
  c.norm_first = norm_first;
  c.dropout = 0.1;
  c.activation_dropout = 0.1;
  return c;
}

// Backward of sum(out²) must reach every trainable parameter with a finite gradient.
void check_all_grads(Module& m, const Tensor& out) {
  sum(out * out).backward();
  for (const auto& [name, p] : m.named_parameters()) {
    INFO("parameter ", name);
    REQUIRE(p.grad().defined());
    CHECK(std::isfinite(sum(abs(p.grad())).item<double>()));
  }
}

bool has_key(const Module& m, const std::string& key) {
  for (const auto& [k, t] : m.state_dict())
    if (k == key) return true;
  return false;
}

}  // namespace

TEST_CASE("TransformerEncoderLayer: pre-LN and post-LN, both attention kinds") {
  for (auto kind : {AttentionKind::Flow, AttentionKind::Softmax})
    for (bool pre : {true, false}) {
      Generator gen(1);
      TransformerEncoderLayer layer(small_layer(kind, pre), &gen);
      CHECK(has_key(layer, "attn.query_projection.weight"));
      CHECK(has_key(layer, "mlp.fc2.bias"));
      CHECK(has_key(layer, "norm1.weight"));
      Tensor x = randn({2, 5, 8}, {}, &gen);
      Tensor y = layer.forward(x);
      CHECK(y.shape() == Shape{2, 5, 8});
      layer.eval();
      CHECK(testing::max_abs_diff(layer.forward(x), layer.forward(x)) == 0.0);
      if (!pre) CHECK(max(abs(mean(layer.forward(x), {-1}))).item<double>() < 1e-5);  // ends in a LayerNorm
      layer.train();
      check_all_grads(layer, layer.forward(x));
    }
}

TEST_CASE("TransformerEncoderLayer: causal and flow.causal must agree, no silent override") {
  Generator gen(1);
  TransformerEncoderLayerConfig c = small_layer(AttentionKind::Flow, true);
  c.flow = FlowAttentionOptions::nlp();  // causal options, layer flag left false
  CHECK_THROWS_WITH_AS(TransformerEncoderLayer(c, &gen), doctest::Contains("flow.causal = 1"), Error);
  c.causal = true;  // both say causal: the layer is causal
  TransformerEncoderLayer layer(c, &gen);
  layer.eval();
  Tensor x = randn({1, 6, 8}, {}, &gen);
  Tensor x2 = x.clone();
  {
    NoGradGuard no_grad;
    x2.narrow(1, 4, 2).fill_(3.0);  // changing the future must not change the past
  }
  CHECK(testing::max_abs_diff(layer.forward(x).narrow(1, 0, 4), layer.forward(x2).narrow(1, 0, 4)) < 1e-6);
  c.flow = FlowAttentionOptions::core();  // non-causal options, causal layer
  CHECK_THROWS_AS(TransformerEncoderLayer(c, &gen), Error);
}

TEST_CASE("TransformerEncoderLayer: pre-LN formula by hand, layer scale, float64 gradcheck") {
  TransformerEncoderLayerConfig c = small_layer(AttentionKind::Flow, true);
  c.layer_scale_init = 0.1;
  Generator gen(2);
  TransformerEncoderLayer layer(c, &gen);
  layer.eval();
  CHECK(to_vector<float>(layer.gamma) == std::vector<float>(8, 0.1f));
  Tensor x = randn({1, 4, 8}, {}, &gen);
  Tensor h = x + layer.flow_attn->forward(layer.norm1->forward(x));
  Tensor ref = h + layer.mlp->forward(layer.norm2->forward(h)) * layer.gamma;
  CHECK(testing::max_abs_diff(layer.forward(x), ref) < 1e-6);

  TransformerEncoderLayerConfig g = small_layer(AttentionKind::Flow, false);
  g.d_model = 4;
  g.d_ff = 6;
  TransformerEncoderLayer small(g, &gen);
  small.eval();
  small.to(kFloat64);
  Tensor xs = testing::rand64({1, 3, 4}, 31);
  std::vector<Tensor> inputs{xs};
  for (const Tensor& p : small.parameters()) inputs.push_back(p);
  CHECK_GRADCHECK([&](const std::vector<Tensor>&) { return small.forward(xs); }, inputs);
}

TEST_CASE("FlowformerClassifier: LRA-style tokens with CLS / mean pooling") {
  for (Pooling pool : {Pooling::CLS, Pooling::Mean}) {
    FlowformerClassifierConfig c = FlowformerClassifierConfig::lra_text();  // LRA variant of the op, no bias
    c.vocab_size = 20;
    c.max_len = 12;
    c.num_classes = 3;
    c.n_layers = 2;
    c.layer.d_model = c.layer.d_qkv = 16;
    c.layer.n_heads = 4;
    c.layer.d_ff = 32;
    c.head_hidden = 32;
    c.pooling = pool;
    Generator gen(3);
    FlowformerClassifier model(c, &gen);
    model.init_lra(&gen);
    CHECK(has_key(model, "layers.1.attn.query_projection.weight"));
    CHECK(!has_key(model, "layers.0.attn.query_projection.bias"));  // LRA: no biases
    CHECK(has_key(model, "cls_token") == (pool == Pooling::CLS));
    Tensor tokens = randint(0, 20, {4, 12}, {kInt64}, &gen);
    Tensor logits = model.forward(tokens);
    CHECK(logits.shape() == Shape{4, 3});
    CHECK(model.forward(randint(0, 20, {4, 7}, {kInt64}, &gen)).shape() == Shape{4, 3});  // shorter input
    CHECK_THROWS_WITH_AS(model.forward(randint(0, 20, {4, 13}, {kInt64}, &gen)), doctest::Contains("exceeds max_len"), Error);
    check_all_grads(model, model.forward(tokens));
  }
}

TEST_CASE("FlowformerClassifier: mask_attention hides padded keys (CLS column never masked)") {
  FlowformerClassifierConfig c;
  c.vocab_size = 9;
  c.max_len = 6;
  c.layer.d_model = 8;
  c.layer.n_heads = 2;
  c.layer.d_ff = 16;
  c.mask_attention = true;
  Generator gen(8);
  FlowformerClassifier model(c, &gen);
  model.eval();
  Tensor tokens = randint(1, 9, {2, 6}, {kInt64}, &gen);
  Tensor mask = tensor(std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}, {2, 6}).to(kBool);
  Tensor masked = model.forward(tokens, mask);
  CHECK(masked.shape() == Shape{2, 2});
  CHECK(testing::max_abs_diff(masked.select(0, 0), model.forward(tokens).select(0, 0)) > 1e-6);
  CHECK(testing::max_abs_diff(masked.select(0, 1), model.forward(tokens).select(0, 1)) < 1e-6);  // no padding
}

TEST_CASE("FlowformerClassifier: LRA presets build with the paper's widths") {
  auto listops = FlowformerClassifierConfig::lra_listops();
  CHECK(listops.layer.d_model == 512);
  CHECK(listops.layer.n_heads == 2);
  CHECK(listops.layer.flow.competition == FlowAttentionOptions::Competition::Heads);
  auto image = FlowformerClassifierConfig::lra_image();
  CHECK(image.positions == Positions::Learned);
  CHECK(image.layer.d_qkv == 64);
  CHECK(FlowformerClassifierConfig::lra_pathfinder().pooling == Pooling::Mean);
  image.max_len = 16;  // keep the test small: the widths are what matter here
  FlowformerClassifier m(image);
  CHECK(m.learned_pos->weight.shape() == Shape{17, 128});  // learned table incl. CLS
  for (const auto& [k, t] : m.named_parameters())
    if (k == "layers.0.attn.query_projection.weight") CHECK(t.shape() == Shape{64, 128});
}

TEST_CASE("FlowformerClassifier: UEA features, post-LN, flatten head with padding mask") {
  FlowformerClassifierConfig c = FlowformerClassifierConfig::uea(3, 10, 4);
  c.layer.d_model = 8;
  c.layer.n_heads = 2;
  c.layer.d_ff = 16;
  c.input_scale = std::sqrt(8.0);
  Generator gen(4);
  FlowformerClassifier model(c, &gen);
  CHECK(model.head->weight.shape() == Shape{4, 80});
  Tensor x = randn({2, 10, 3}, {}, &gen);
  std::vector<uint8_t> m(20, 0);
  for (int t = 7; t < 10; ++t) m[t] = 1;  // sample 0 has 7 valid steps
  Tensor mask = tensor(m, {2, 10}).to(kBool);
  CHECK(model.forward(x, mask).shape() == Shape{2, 4});
  CHECK_THROWS_WITH_AS(model.forward(randn({2, 9, 3})), doctest::Contains("padded to max_len"), Error);
  model.eval();
  // The head ignores padded positions: changing the head weights there changes nothing.
  Tensor before = model.forward(x, mask);
  {
    NoGradGuard no_grad;
    model.head->weight.narrow(1, 7 * 8, 3 * 8).fill_(100.0);
  }
  Tensor after = model.forward(x, mask);
  CHECK(testing::max_abs_diff(before.select(0, 0), after.select(0, 0)) < 1e-5);
  CHECK(testing::max_abs_diff(before.select(0, 1), after.select(0, 1)) > 1.0);
  model.train();
  check_all_grads(model, model.forward(x, mask));
}

TEST_CASE("FlowformerLM: causal logits, tied embeddings, fairseq positions") {
  FlowformerLMConfig c;
  c.vocab_size = 30;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_ff = 32;
  c.n_layers = 2;
  c.max_len = 12;
  Generator gen(5);
  FlowformerLM lm(c, &gen);
  CHECK(!has_key(lm, "output_projection.weight"));  // tied
  CHECK(to_vector<float>(lm.embed_tokens->weight.select(0, 1)) == std::vector<float>(16, 0.0f));  // <pad> row
  Tensor tokens = randint(2, 30, {2, 12}, {kInt64}, &gen);
  lm.eval();
  Tensor logits = lm.forward(tokens);
  CHECK(logits.shape() == Shape{2, 12, 30});
  Tensor changed = tokens.clone();
  {
    NoGradGuard no_grad;
    changed.narrow(1, 8, 4).fill_(3.0);
  }
  Tensor logits2 = lm.forward(changed);
  CHECK(testing::max_abs_diff(logits.narrow(1, 0, 8), logits2.narrow(1, 0, 8)) < 1e-5);
  CHECK(testing::max_abs_diff(logits.narrow(1, 8, 4), logits2.narrow(1, 8, 4)) > 1e-4);
  lm.train();
  Tensor loss = cross_entropy(lm.forward(tokens).reshape({24, 30}), tokens.reshape({24}));
  check_all_grads(lm, loss);

  c.attention = AttentionKind::Softmax;
  c.tie_weights = false;
  FlowformerLM baseline(c, &gen);
  CHECK(has_key(baseline, "output_projection.weight"));
  CHECK(baseline.forward(tokens).shape() == Shape{2, 12, 30});
}

TEST_CASE("FlowformerLM::decode: a prompt, then token by token == features() of the whole sequence") {
  FlowformerLMConfig c;
  c.vocab_size = 40;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_ff = 32;
  c.n_layers = 3;
  c.max_len = 50;
  Generator gen(8);
  FlowformerLM lm(c, &gen);
  lm.to(kFloat64);
  lm.eval();
  NoGradGuard no_grad;
  const Tensor tokens = randint(2, 40, {2, 45}, {kInt64}, &gen);
  const Tensor full = lm.features(tokens);  // [2, 45, 16]
  auto state = lm.initial_decode_state(2);
  const int64_t bytes = state.bytes();
  CHECK(bytes == 3 * 2 * 2 * (4 * 8 + 1 + 8 * 8) * 8);  // layers x B x H x (4 dh + 1 + dh^2) doubles
  std::vector<Tensor> parts{lm.decode(tokens.narrow(1, 0, 13), state)};  // the prompt at once
  for (int64_t i = 13; i < 45; ++i) parts.push_back(lm.decode(tokens.narrow(1, i, 1), state));
  CHECK(state.position == 45);
  CHECK(state.bytes() == bytes);
  CHECK(testing::max_abs_diff(cat(parts, 1), full) < 1e-12);
  CHECK_THROWS_WITH_AS(lm.decode(tokens.narrow(1, 0, 6), state), doctest::Contains("exceed max_len 50"), cfx::Error);

  c.attention = AttentionKind::Softmax;
  FlowformerLM baseline(c, &gen);
  CHECK_THROWS_WITH_AS(baseline.initial_decode_state(1), doctest::Contains("needs Flow attention"), cfx::Error);
}

TEST_CASE("FlowformerVision: four stages, token counts, drop-path schedule, gradients") {
  FlowformerVisionConfig c;
  c.img_size = 32;  // 8x8 patches -> 4x4 -> 2x2 -> 1x1
  c.num_classes = 5;
  c.embed_dims = {8, 12, 16, 24};
  c.depths = {1, 1, 2, 1};
  c.n_heads = 2;
  Generator gen(6);
  FlowformerVision model(c, &gen);
  CHECK(model.pos_embed.shape() == Shape{1, 64, 8});     // (32/4)² tokens
  CHECK(model.downsamples->size() == 3);
  CHECK((*model.downsamples)[2].weight.shape() == Shape{24, 16, 2, 2});
  CHECK((*model.stages)[0][0].config.drop_path == 0.0);
  CHECK((*model.stages)[3][0].config.drop_path == doctest::Approx(0.2));
  CHECK((*model.stages)[2][1].gamma.defined());          // LayerScale on the MLP branch
  CHECK(has_key(model, "stages.2.1.attn.out_projection.weight"));
  Tensor images = randn({2, 3, 32, 32}, {}, &gen);
  CHECK(model.forward(images).shape() == Shape{2, 5});
  check_all_grads(model, model.forward(images));
  CHECK_THROWS_AS(model.forward(randn({2, 3, 8, 8})), Error);
}

TEST_CASE("FlowformerVision: the paper's model (3.2) has the official code's parameters, init and decay groups") {
  // 224² images, 3136 tokens in stage 1, [96, 192, 384, 768] x [3, 3, 10, 3], 12 heads.
  FlowformerVisionConfig paper;
  Generator gen(0);
  FlowformerVision model(paper, &gen);
  // Counted from the official flowformer.py layers: patch conv 3·96·16 + 96, pos_embed 3136·96;
  // per block 2 LayerNorms (4C), qkv (3C² + 3C), proj (C² + C), fc1 (4C² + 4C), fc2 (4C² + C),
  // LayerScale γ (C); DownLayer convs C_in·C_out·4 + C_out; final LN 2·768; head 768·1000 + 1000.
  // (The paper's table says 41M.)
  int64_t expected = 3 * 96 * 16 + 96 + 3136 * 96 + 2 * 768 + 768 * 1000 + 1000;
  for (size_t s = 0; s < 4; ++s) {
    const int64_t C = paper.embed_dims[s];
    expected += paper.depths[s] * (4 * C + 3 * C * C + 3 * C + C * C + C + 4 * C * C + 4 * C + 4 * C * C + C + C);
    if (s > 0) expected += paper.embed_dims[s - 1] * C * 4 + C;
  }
  CHECK(expected == 43311304);
  CHECK(model.num_parameters() == expected);
  CHECK(model.pos_embed.shape() == Shape{1, 3136, 96});
  CHECK((*model.stages)[2][0].config.n_heads == 12);
  CHECK(paper.flow.eps_after_dot);  // the CV variant (BENCHMARKS.md 0.2)
  CHECK(paper.flow.clamp == 1.0);
  // Drop path: linear 0 -> 0.2 over the 19 blocks (block 9 is stage 3's 4th).
  CHECK((*model.stages)[2][3].config.drop_path == doctest::Approx(0.1));
  CHECK((*model.stages)[3][2].config.drop_path == doctest::Approx(0.2));
  CHECK((*model.stages)[3][2].gamma.defined());
  CHECK(to_vector<float>((*model.stages)[3][2].gamma)[0] == doctest::Approx(1e-5));

  // timm init: Linear weights trunc_normal(0.02) (std of N(0, 0.02) cut at ±2: ~0.02), biases 0.
  const Tensor w = model.head->weight;
  const double sd = std::sqrt(mean(w * w).item<double>());
  CHECK(sd == doctest::Approx(0.02).epsilon(0.03));
  CHECK(max(abs(w)).item<double>() <= 2.0);
  CHECK(max(abs(model.head->bias)).item<double>() == 0.0);

  // AdamW groups as timm's: no decay on 1-d parameters (biases, norms, γ) and pos_embed.
  const std::vector<ParamGroup> groups = param_groups_no_decay(model, 0.05, {"pos_embed"});
  REQUIRE(groups.size() == 2);
  int64_t decayed = 0, not_decayed = 0;
  for (const Tensor& p : groups[0].params) decayed += p.numel();
  for (const Tensor& p : groups[1].params) not_decayed += p.numel();
  CHECK(*groups[1].weight_decay == 0.0);
  CHECK(decayed + not_decayed == expected);
  for (const Tensor& p : groups[0].params) CHECK(p.dim() >= 2);
  CHECK(not_decayed > 3136 * 96);  // pos_embed is there
}

TEST_CASE("DecisionTransformer: interleaved tokens, tanh actions, causal in steps") {
  DecisionTransformerConfig c;
  c.state_dim = 5;
  c.act_dim = 2;
  c.hidden = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.d_ff = 32;
  c.max_ep_len = 50;
  Generator gen(7);
  DecisionTransformer dt(c, &gen);
  const int64_t B = 2, K = 6;
  Tensor s = randn({B, K, 5}, {}, &gen), a = randn({B, K, 2}, {}, &gen), r = randn({B, K, 1}, {}, &gen);
  Tensor t = randint(0, 50, {B, K}, {kInt64}, &gen);
  dt.eval();
  auto out = dt.forward(s, a, r, t);
  CHECK(out.action_preds.shape() == Shape{B, K, 2});
  CHECK(out.state_preds.shape() == Shape{B, K, 5});
  CHECK(out.return_preds.shape() == Shape{B, K, 1});
  CHECK(max(abs(out.action_preds)).item<double>() <= 1.0);
  // The action predicted at step k sees R_≤k, s_≤k and a_<k only: changing a_k changes nothing at k.
  Tensor a2 = a.clone();
  {
    NoGradGuard no_grad;
    a2.narrow(1, 3, 3).fill_(0.7);
  }
  auto out2 = dt.forward(s, a2, r, t);
  CHECK(testing::max_abs_diff(out.action_preds.narrow(1, 0, 4), out2.action_preds.narrow(1, 0, 4)) < 1e-5);
  CHECK(testing::max_abs_diff(out.action_preds.narrow(1, 4, 2), out2.action_preds.narrow(1, 4, 2)) > 1e-6);
  dt.train();
  Tensor loss = mse_loss(dt.forward(s, a, r, t).action_preds, a);
  loss.backward();
  CHECK(dt.predict_action->weight.grad().defined());
  CHECK(dt.embed_timestep->weight.grad().defined());
  CHECK(!dt.predict_state->weight.grad().defined());  // not in the loss
  CHECK_THROWS_AS(dt.forward(s, a.narrow(1, 0, 5), r, t), Error);

  c.attention = AttentionKind::Softmax;  // the DT baseline
  DecisionTransformer baseline(c, &gen);
  baseline.eval();
  CHECK(baseline.forward(s, a, r, t).action_preds.shape() == Shape{B, K, 2});
  CHECK(testing::max_abs_diff(baseline.forward(s, a, r, t).action_preds.narrow(1, 0, 4),
                              baseline.forward(s, a2, r, t).action_preds.narrow(1, 0, 4)) < 1e-5);
}
