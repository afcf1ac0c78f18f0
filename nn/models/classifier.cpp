// The encoder classifier (nn/models/classifier.h): LRA presets, FlowformerClassifier; section
// numbers refer to ../shared/BENCHMARKS.md.
#include "nn/models/classifier.h"

#include <cmath>

#include "nn/models/common.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/shape_ops.h"

namespace cfx::nn {

namespace {

// The settings shared by the four single-encoder LRA tasks (§1.1-1.3).
FlowformerClassifierConfig lra_base(int64_t vocab, int64_t len, int64_t classes, int64_t emb, int64_t qkv, int64_t heads,
                                    int64_t mlp, double dropout) {
  FlowformerClassifierConfig c;
  c.vocab_size = vocab;
  c.max_len = len;
  c.num_classes = classes;
  c.n_layers = 1;
  c.layer.d_model = emb;
  c.layer.d_qkv = qkv;
  c.layer.n_heads = heads;
  c.layer.d_ff = mlp;
  c.layer.flow = FlowAttentionOptions::lra();
  c.layer.norm_first = true;
  c.layer.activation = Activation::GELUTanh;  // jax.nn.gelu default
  c.layer.dropout = dropout;
  c.layer.activation_dropout = dropout;
  c.layer.attention_dropout = 0.0;            // accepted but unused by the official code
  c.layer.attention_bias = false;             // DenseGeneral without bias
  c.layer.layer_norm_eps = 1e-6;              // flax LayerNorm
  c.head_hidden = mlp;
  c.embedding_dropout = dropout;
  return c;
}

}  // namespace

FlowformerClassifierConfig FlowformerClassifierConfig::lra_listops() { return lra_base(17, 2000, 10, 512, 512, 2, 1024, 0.1); }
FlowformerClassifierConfig FlowformerClassifierConfig::lra_text() { return lra_base(257, 1000, 2, 256, 256, 4, 1024, 0.1); }
FlowformerClassifierConfig FlowformerClassifierConfig::lra_image() {
  FlowformerClassifierConfig c = lra_base(256, 1024, 10, 128, 64, 4, 128, 0.3);
  c.positions = Positions::Learned;
  return c;
}
FlowformerClassifierConfig FlowformerClassifierConfig::lra_pathfinder() {
  FlowformerClassifierConfig c = lra_base(256, 1024, 2, 256, 128, 8, 256, 0.2);
  c.pooling = Pooling::Mean;
  return c;
}

FlowformerClassifierConfig FlowformerClassifierConfig::uea(int64_t in_features, int64_t max_len, int64_t num_classes) {
  FlowformerClassifierConfig c;
  c.in_features = in_features;
  c.input_scale = std::sqrt(512.0);
  c.max_len = max_len;
  c.num_classes = num_classes;
  c.n_layers = 2;
  c.layer.d_model = 512;
  c.layer.n_heads = 8;
  c.layer.d_ff = 2048;
  c.layer.flow = FlowAttentionOptions::time_series();
  c.layer.norm_first = false;
  c.layer.activation = Activation::GELU;
  c.layer.dropout = 0.1;
  c.layer.activation_dropout = 0.1;
  c.positions = Positions::Learned;
  c.learned_pos_init = {PositionInit::Kind::Uniform, 0.02};  // nn.init.uniform_(-0.02, 0.02), as the official code
  c.pooling = Pooling::Flatten;
  c.embedding_dropout = 0.1;
  return c;
}

FlowformerClassifier::FlowformerClassifier(const FlowformerClassifierConfig& cfg, Generator* gen)
    : Module("FlowformerClassifier"), config(cfg) {
  const int64_t D = config.layer.d_model;
  CFX_CHECK((config.vocab_size > 0) != (config.in_features > 0),
            "FlowformerClassifier: set exactly one of vocab_size (tokens) and in_features (real inputs), got ",
            config.vocab_size, " and ", config.in_features);
  CFX_CHECK(config.max_len > 0 && config.num_classes > 0 && config.n_layers > 0 && D > 0,
            "FlowformerClassifier: max_len, num_classes, n_layers and layer.d_model must be positive");
  if (config.vocab_size > 0) embed = register_module("embed", std::make_shared<Embedding>(config.vocab_size, D, std::nullopt, gen));
  else input_projection = register_module("input_projection", std::make_shared<Linear>(config.in_features, D, true, gen));
  const bool cls = config.pooling == Pooling::CLS;
  if (cls) cls_token = register_parameter("cls_token", zeros({1, 1, D}));
  const int64_t positions = config.max_len + (cls ? 1 : 0);
  if (config.positions == Positions::Sinusoidal)
    sin_pos = register_module("pos_embed", std::make_shared<SinusoidalPositionalEmbedding>(positions, D));
  else if (config.positions == Positions::Learned)
    learned_pos = register_module("pos_embed",
                                  std::make_shared<LearnedPositionalEmbedding>(positions, D, config.learned_pos_init, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(config.embedding_dropout));
  layers = register_module("layers", detail::make_layers(config.n_layers, config.layer, gen));
  norm = register_module("norm", std::make_shared<LayerNorm>(D, config.layer.layer_norm_eps));
  if (config.pooling == Pooling::Flatten) {
    head = register_module("head", std::make_shared<Linear>(config.max_len * D, config.num_classes, true, gen));
  } else {
    const int64_t h = config.head_hidden > 0 ? config.head_hidden : (*layers)[0].config.d_ff;
    head_fc1 = register_module("head_fc1", std::make_shared<Linear>(D, h, true, gen));
    head_fc2 = register_module("head_fc2", std::make_shared<Linear>(h, config.num_classes, true, gen));
  }
}

Tensor FlowformerClassifier::forward(const Tensor& input, const Tensor& padding_mask) const {
  Tensor x;  // [B, L, D]
  if (embed) {
    CFX_CHECK(input.dim() == 2, "FlowformerClassifier: expected int64 tokens [B, L], got ", input.shape());
    x = embed->forward(input);
  } else {
    CFX_CHECK(input.dim() == 3 && input.size(2) == config.in_features, "FlowformerClassifier: expected features [B, L, ",
              config.in_features, "], got ", input.shape());
    x = input_projection->forward(input);
    if (config.input_scale != 1.0) x = x * config.input_scale;
  }
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  CFX_CHECK(L <= config.max_len, "FlowformerClassifier: input length ", L, " exceeds max_len ", config.max_len);
  CFX_CHECK(!padding_mask.defined() || padding_mask.shape() == Shape({B, L}),
            "FlowformerClassifier: expected padding_mask [", B, ", ", L, "], got ", padding_mask.shape());
  Tensor mask = padding_mask;  // [B, L'] bool, L' = L (+1 with CLS)
  if (cls_token.defined()) {
    x = cat({cls_token.expand({B, 1, D}), x}, 1);  // CLS gets position 0
    if (mask.defined()) mask = cat({zeros({B, 1}, {kBool, mask.device()}), mask}, 1);
  }
  if (sin_pos) x = sin_pos->forward(x);
  if (learned_pos) x = learned_pos->forward(x);
  x = dropout->forward(x);
  for (const auto& layer : *layers) x = layer->forward(x, config.mask_attention ? mask : Tensor());
  x = norm->forward(x);

  switch (config.pooling) {
    case Pooling::CLS: return head_fc2->forward(relu(head_fc1->forward(x.select(1, 0))));
    case Pooling::Mean: return head_fc2->forward(relu(head_fc1->forward(x.mean({1}))));  // padding included (LRA)
    case Pooling::Flatten: {
      CFX_CHECK(L == config.max_len, "FlowformerClassifier: the flatten head needs inputs padded to max_len ",
                config.max_len, ", got length ", L);
      Tensor o = dropout->forward(gelu(x));                          // [B, L, D]
      if (mask.defined()) o = masked_fill(o, mask.unsqueeze(-1), 0.0);
      return head->forward(o.reshape({B, L * D}));                   // [B, C]
    }
  }
  CFX_FAIL("FlowformerClassifier: unknown pooling");
}

void FlowformerClassifier::init_lra(Generator* gen) { detail::init_lra(*layers, {head_fc1, head_fc2, head}, gen); }

}  // namespace cfx::nn
