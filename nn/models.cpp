// The Flowformer model family (nn/models.h); section numbers refer to ../shared/BENCHMARKS.md.
#include "nn/models.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/init.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"

namespace cfx::nn {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::shared_ptr<ModuleList<TransformerEncoderLayer>> make_layers(int64_t n, const TransformerEncoderLayerConfig& cfg,
                                                                 Generator* gen) {
  auto list = std::make_shared<ModuleList<TransformerEncoderLayer>>();
  for (int64_t i = 0; i < n; ++i) list->push_back(std::make_shared<TransformerEncoderLayer>(cfg, gen));
  return list;
}

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

// ---- FlowformerClassifier -----------------------------------------------------------------------

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
  layers = register_module("layers", make_layers(config.n_layers, config.layer, gen));
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

void FlowformerClassifier::init_lra(Generator* gen) {
  for (auto& [name, p] : layers->named_parameters()) {
    if (p.dim() == 2) init::xavier_uniform_(p, 1.0, gen);                        // attention and MLP kernels
    else if (name.find(".mlp.") != std::string::npos && ends_with(name, ".bias")) init::normal_(p, 0.0, 1e-6, gen);
  }
  // flax lecun_normal: truncated normal (±2σ) with variance 1/fan_in after truncation.
  for (const auto& lin : {head_fc1, head_fc2, head}) {
    if (!lin) continue;
    const double std = 1.0 / std::sqrt(static_cast<double>(lin->weight.size(1))) / 0.87962566103423978;
    init::trunc_normal_(lin->weight, std, 0.0, -2 * std, 2 * std, gen);
    init::zeros_(lin->bias);
  }
}

// ---- FlowformerLM (§2.2) ----------------------------------------------------------------------------

FlowformerLM::FlowformerLM(const FlowformerLMConfig& cfg, Generator* gen) : Module("FlowformerLM"), config(cfg) {
  const int64_t D = config.d_model;
  CFX_CHECK(config.vocab_size > config.padding_idx && D > 0, "FlowformerLM: vocab_size must exceed padding_idx ",
            config.padding_idx, ", got ", config.vocab_size);
  embed_tokens = register_module("embed_tokens",
                                 std::make_shared<Embedding>(config.vocab_size, D, config.padding_idx, gen));
  embed_positions = register_module(
      "embed_positions", std::make_shared<SinusoidalPositionalEmbedding>(
                             config.max_len + config.padding_idx + 1, D, SinusoidalPositionalEmbedding::Layout::Concatenated));
  dropout = register_module("dropout", std::make_shared<Dropout>(config.dropout));
  TransformerEncoderLayerConfig l;
  l.d_model = D;
  l.n_heads = config.n_heads;
  l.d_ff = config.d_ff;
  l.attention = config.attention;
  l.flow = config.flow;
  l.causal = true;
  l.norm_first = true;
  l.activation = Activation::ReLU;
  l.dropout = config.dropout;
  l.activation_dropout = 0.0;
  l.attention_dropout = 0.0;
  layers = register_module("layers", make_layers(config.n_layers, l, gen));
  layer_norm = register_module("layer_norm", std::make_shared<LayerNorm>(D));
  if (!config.tie_weights)
    output_projection = register_module("output_projection", std::make_shared<Linear>(D, config.vocab_size, false, gen));
  init_fairseq(gen);
}

Tensor FlowformerLM::forward(const Tensor& tokens) const { return linear(features(tokens), output_weight()); }

const Tensor& FlowformerLM::output_weight() const {
  return config.tie_weights ? embed_tokens->weight : output_projection->weight;
}

Tensor FlowformerLM::features(const Tensor& tokens) const {
  CFX_CHECK(tokens.dim() == 2, "FlowformerLM: expected int64 tokens [B, T], got ", tokens.shape());
  CFX_CHECK(tokens.size(1) <= config.max_len, "FlowformerLM: length ", tokens.size(1), " exceeds max_len ", config.max_len);
  Tensor x = embed_tokens->forward(tokens) * std::sqrt(static_cast<double>(config.d_model));  // [B, T, D]
  x = dropout->forward(embed_positions->forward(x, config.padding_idx + 1));  // fairseq positions start at pad+1
  for (const auto& layer : *layers) x = layer->forward(x);
  return layer_norm->forward(x);  // [B, T, D]
}

FlowformerLM::DecodeState FlowformerLM::initial_decode_state(int64_t batch) const {
  CFX_CHECK(config.attention == AttentionKind::Flow, "FlowformerLM: incremental decoding needs Flow attention (the "
            "softmax baseline would need a KV cache that grows with the position)");
  DecodeState s;
  for (const auto& layer : *layers) s.layers.push_back(layer->flow_attn->initial_state(batch));
  return s;
}

int64_t FlowformerLM::DecodeState::bytes() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.bytes();
  return n;
}

Tensor FlowformerLM::decode(const Tensor& tokens, DecodeState& state) const {
  CFX_CHECK(tokens.dim() == 2, "FlowformerLM::decode: expected int64 tokens [B, T], got ", tokens.shape());
  CFX_CHECK(state.layers.size() == layers->size(), "FlowformerLM::decode: the state has ", state.layers.size(),
            " layers, the model ", layers->size(), "; start from initial_decode_state(batch)");
  CFX_CHECK(state.position + tokens.size(1) <= config.max_len, "FlowformerLM::decode: positions up to ",
            state.position + tokens.size(1), " exceed max_len ", config.max_len);
  Tensor x = embed_tokens->forward(tokens) * std::sqrt(static_cast<double>(config.d_model));  // [B, T, D]
  x = dropout->forward(embed_positions->forward(x, config.padding_idx + 1 + state.position));
  for (size_t i = 0; i < layers->size(); ++i) x = (*layers)[i].step(x, state.layers[i]);
  state.position += tokens.size(1);
  return layer_norm->forward(x);
}

void FlowformerLM::init_fairseq(Generator* gen) {
  const double D = static_cast<double>(config.d_model);
  init::normal_(embed_tokens->weight, 0.0, 1.0 / std::sqrt(D), gen);
  {
    NoGradGuard no_grad;
    embed_tokens->weight.select(0, config.padding_idx).zero_();
  }
  for (const auto& layer : *layers) {
    if (layer->flow_attn) {
      auto& a = *layer->flow_attn;
      for (const auto& lin : {a.query_projection, a.key_projection, a.value_projection})
        init::xavier_uniform_(lin->weight, 1.0 / std::sqrt(2.0), gen);
      init::xavier_uniform_(a.out_projection->weight, 1.0, gen);
      init::zeros_(a.out_projection->bias);
    }
    for (const auto& lin : {layer->mlp->fc1, layer->mlp->fc2}) {
      init::xavier_uniform_(lin->weight, 1.0, gen);
      init::zeros_(lin->bias);
    }
  }
  if (output_projection) init::normal_(output_projection->weight, 0.0, 1.0 / std::sqrt(D), gen);
}

// ---- FlowformerVision (§3.2) ------------------------------------------------------------------------

FlowformerVision::FlowformerVision(const FlowformerVisionConfig& cfg, Generator* gen)
    : Module("FlowformerVision"), config(cfg) {
  const auto& dims = config.embed_dims;
  const int64_t n_stages = static_cast<int64_t>(dims.size());
  CFX_CHECK(n_stages >= 1 && config.depths.size() == dims.size(), "FlowformerVision: embed_dims and depths must have the "
            "same non-zero length, got ", dims.size(), " and ", config.depths.size());
  const int64_t grid = config.img_size / config.patch_size;
  CFX_CHECK(config.img_size % config.patch_size == 0 && grid % (int64_t{1} << (n_stages - 1)) == 0,
            "FlowformerVision: img_size ", config.img_size, " must give a patch grid divisible by 2^", n_stages - 1);
  patch_embed = register_module("patch_embed", std::make_shared<PatchConv2d>(config.in_chans, dims[0], config.patch_size, true, gen));
  pos_embed = register_parameter("pos_embed", zeros({1, grid * grid, dims[0]}));
  int64_t total_blocks = 0;
  for (int64_t d : config.depths) total_blocks += d;
  stages = register_module("stages", std::make_shared<ModuleList<ModuleList<TransformerEncoderLayer>>>());
  downsamples = register_module("downsamples", std::make_shared<ModuleList<PatchConv2d>>());
  int64_t block = 0;
  for (int64_t s = 0; s < n_stages; ++s) {
    if (s > 0) downsamples->push_back(std::make_shared<PatchConv2d>(dims[s - 1], dims[s], 2, true, gen));
    auto stage = std::make_shared<ModuleList<TransformerEncoderLayer>>();
    for (int64_t j = 0; j < config.depths[s]; ++j, ++block) {
      TransformerEncoderLayerConfig l;
      l.d_model = dims[s];
      l.n_heads = config.n_heads;
      l.d_ff = config.mlp_ratio * dims[s];
      l.attention = config.attention;
      l.flow = config.flow;
      l.norm_first = true;
      l.activation = Activation::GELU;
      l.dropout = l.activation_dropout = l.attention_dropout = 0.0;
      l.layer_norm_eps = config.layer_norm_eps;
      l.layer_scale_init = config.layer_scale_init;
      l.drop_path = total_blocks > 1 ? config.drop_path_rate * static_cast<double>(block) / static_cast<double>(total_blocks - 1) : 0.0;
      stage->push_back(std::make_shared<TransformerEncoderLayer>(l, gen));
    }
    stages->push_back(stage);
  }
  norm = register_module("norm", std::make_shared<LayerNorm>(dims.back(), config.layer_norm_eps));
  head = register_module("head", std::make_shared<Linear>(dims.back(), config.num_classes, true, gen));
  init_timm(gen);
}

Tensor FlowformerVision::forward(const Tensor& images) const {
  CFX_CHECK(images.dim() == 4 && images.size(1) == config.in_chans && images.size(2) == config.img_size &&
                images.size(3) == config.img_size,
            "FlowformerVision: expected images [B, ", config.in_chans, ", ", config.img_size, ", ", config.img_size,
            "], got ", images.shape());
  const int64_t B = images.size(0);
  Tensor x = patch_embed->forward(images);  // [B, C0, h, w]
  int64_t h = x.size(2), w = x.size(3);
  x = x.flatten(2).transpose(1, 2) + pos_embed;  // [B, h·w, C0]
  for (size_t s = 0; s < stages->size(); ++s) {
    if (s > 0) {  // DownLayer: tokens -> grid -> conv k=s=2 -> tokens
      Tensor grid = x.transpose(1, 2).reshape({B, x.size(2), h, w});  // [B, C, h, w]
      x = (*downsamples)[s - 1].forward(grid);                        // [B, C', h/2, w/2]
      h /= 2, w /= 2;
      x = x.flatten(2).transpose(1, 2);                               // [B, h·w, C']
    }
    for (const auto& blk : (*stages)[s]) x = blk->forward(x);
  }
  return head->forward(norm->forward(x).mean({1}));  // [B, num_classes]
}

void FlowformerVision::init_timm(Generator* gen) {
  for (auto& [name, p] : named_parameters()) {
    if (name.rfind("patch_embed.", 0) == 0 || name.rfind("downsamples.", 0) == 0) continue;  // convs: PyTorch default
    if (p.dim() == 2) init::trunc_normal_(p, 0.02, 0.0, -2.0, 2.0, gen);                    // Linear weights
    else if (ends_with(name, "_projection.bias") || ends_with(name, "fc1.bias") || ends_with(name, "fc2.bias") ||
             name == "head.bias")
      init::zeros_(p);
  }
  init::trunc_normal_(pos_embed, 0.02, 0.0, -2.0, 2.0, gen);
}

// ---- DecisionTransformer (§5.3) ---------------------------------------------------------------------

DecisionTransformer::DecisionTransformer(const DecisionTransformerConfig& cfg, Generator* gen)
    : Module("DecisionTransformer"), config(cfg) {
  const int64_t h = config.hidden;
  CFX_CHECK(config.state_dim > 0 && config.act_dim > 0 && h > 0, "DecisionTransformer: state_dim, act_dim and hidden "
            "must be positive, got ", config.state_dim, ", ", config.act_dim, ", ", h);
  embed_timestep = register_module("embed_timestep", std::make_shared<Embedding>(config.max_ep_len, h, std::nullopt, gen));
  embed_return = register_module("embed_return", std::make_shared<Linear>(1, h, true, gen));
  embed_state = register_module("embed_state", std::make_shared<Linear>(config.state_dim, h, true, gen));
  embed_action = register_module("embed_action", std::make_shared<Linear>(config.act_dim, h, true, gen));
  embed_ln = register_module("embed_ln", std::make_shared<LayerNorm>(h));
  dropout = register_module("dropout", std::make_shared<Dropout>(config.dropout));
  TransformerEncoderLayerConfig l;
  l.d_model = h;
  l.n_heads = config.n_heads;
  l.d_ff = config.d_ff;
  l.attention = config.attention;
  l.flow = config.flow;
  l.causal = true;
  l.norm_first = true;
  l.activation = Activation::ReLU;
  l.dropout = config.dropout;  // GPT-2 resid_pdrop: after the attention and MLP projections
  l.activation_dropout = 0.0;
  l.attention_dropout = 0.0;
  layers = register_module("layers", make_layers(config.n_layers, l, gen));
  ln_f = register_module("ln_f", std::make_shared<LayerNorm>(h));
  predict_state = register_module("predict_state", std::make_shared<Linear>(h, config.state_dim, true, gen));
  predict_action = register_module("predict_action", std::make_shared<Linear>(h, config.act_dim, true, gen));
  predict_return = register_module("predict_return", std::make_shared<Linear>(h, 1, true, gen));
  init_gpt2(gen);
}

DecisionTransformerOutput DecisionTransformer::forward(const Tensor& states, const Tensor& actions,
                                                       const Tensor& returns_to_go, const Tensor& timesteps) const {
  CFX_CHECK(states.dim() == 3 && states.size(2) == config.state_dim, "DecisionTransformer: expected states [B, K, ",
            config.state_dim, "], got ", states.shape());
  const int64_t B = states.size(0), K = states.size(1), h = config.hidden;
  CFX_CHECK(actions.shape() == Shape({B, K, config.act_dim}), "DecisionTransformer: expected actions [", B, ", ", K,
            ", ", config.act_dim, "], got ", actions.shape());
  CFX_CHECK(returns_to_go.shape() == Shape({B, K, 1}), "DecisionTransformer: expected returns_to_go [", B, ", ", K,
            ", 1], got ", returns_to_go.shape());
  CFX_CHECK(timesteps.shape() == Shape({B, K}), "DecisionTransformer: expected timesteps [", B, ", ", K, "], got ",
            timesteps.shape());
  Tensor time = embed_timestep->forward(timesteps);           // [B, K, h]
  Tensor r = embed_return->forward(returns_to_go) + time;     // [B, K, h]
  Tensor s = embed_state->forward(states) + time;
  Tensor a = embed_action->forward(actions) + time;
  // (R_1, s_1, a_1, R_2, ...): [B, 3, K, h] -> [B, K, 3, h] -> [B, 3K, h]
  Tensor x = stack({r, s, a}, 1).permute({0, 2, 1, 3}).reshape({B, 3 * K, h});
  x = dropout->forward(embed_ln->forward(x));
  for (const auto& layer : *layers) x = layer->forward(x);
  x = ln_f->forward(x).reshape({B, K, 3, h});                 // token t of step k at [:, k, t]
  DecisionTransformerOutput out;
  out.return_preds = predict_return->forward(x.select(2, 2));
  out.state_preds = predict_state->forward(x.select(2, 2));
  out.action_preds = predict_action->forward(x.select(2, 1));
  if (config.action_tanh) out.action_preds = tanh(out.action_preds);
  return out;
}

void DecisionTransformer::init_gpt2(Generator* gen) {
  for (auto& [name, p] : layers->named_parameters()) {
    if (name.find("norm") != std::string::npos) continue;  // LayerNorm stays 1 / 0
    if (p.dim() == 2) init::normal_(p, 0.0, 0.02, gen);
    else init::zeros_(p);
  }
}

}  // namespace cfx::nn
