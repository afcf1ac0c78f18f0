// The LRA models (see model.h); BENCHMARKS 1.1 for the dual encoder.
#include "apps/lra/model.h"

#include <cmath>

#include "nn/init.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/shape_ops.h"

namespace cfx::lra {

// ---- DualEncoder ----------------------------------------------------------------------------------

DualEncoder::DualEncoder(const nn::FlowformerClassifierConfig& cfg, Generator* gen)
    : Module("DualEncoder"), config(cfg) {
  const int64_t D = config.layer.d_model, H = config.head_hidden > 0 ? config.head_hidden : config.layer.d_ff;
  CFX_CHECK(config.vocab_size > 0 && config.max_len > 0 && D > 0 && H >= 2,
            "DualEncoder: vocab_size, max_len, d_model must be positive and the head width >= 2");
  embed = register_module("embed", std::make_shared<nn::Embedding>(config.vocab_size, D, std::nullopt, gen));
  if (config.positions == nn::Positions::Learned)
    learned_pos = register_module("pos_embed", std::make_shared<nn::LearnedPositionalEmbedding>(
                                                   config.max_len, D, config.learned_pos_init, gen));
  else
    sin_pos = register_module("pos_embed", std::make_shared<nn::SinusoidalPositionalEmbedding>(config.max_len, D));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(config.embedding_dropout));
  layers = register_module("layers", std::make_shared<nn::ModuleList<nn::TransformerEncoderLayer>>());
  for (int64_t i = 0; i < config.n_layers; ++i) layers->push_back(std::make_shared<nn::TransformerEncoderLayer>(config.layer, gen));
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, config.layer.layer_norm_eps));
  head_fc1 = register_module("head_fc1", std::make_shared<nn::Linear>(2 * D, H, true, gen));
  head_fc2 = register_module("head_fc2", std::make_shared<nn::Linear>(H, H / 2, true, gen));
  head_fc3 = register_module("head_fc3", std::make_shared<nn::Linear>(H / 2, config.num_classes, true, gen));
}

Tensor DualEncoder::encode(const Tensor& tokens, const Tensor& padding_mask) const {
  CFX_CHECK(tokens.dim() == 2 && tokens.size(1) <= config.max_len, "DualEncoder: expected tokens [B, L <= ",
            config.max_len, "], got ", tokens.shape());
  Tensor x = embed->forward(tokens);  // [B, L, D]
  x = sin_pos ? sin_pos->forward(x) : learned_pos->forward(x);
  x = dropout->forward(x);
  for (const auto& layer : *layers) x = layer->forward(x, config.mask_attention ? padding_mask : Tensor());
  return norm->forward(x).select(1, 0);  // [B, D]: the first byte of the document
}

Tensor DualEncoder::forward(const Tensor& tokens1, const Tensor& tokens2, const Tensor& padding_mask1,
                            const Tensor& padding_mask2) const {
  Tensor e = cat({encode(tokens1, padding_mask1), encode(tokens2, padding_mask2)}, 1);  // [B, 2D]
  return head_fc3->forward(relu(head_fc2->forward(relu(head_fc1->forward(e)))));       // [B, C]
}

void DualEncoder::init_lra(Generator* gen) {
  for (auto& [name, p] : layers->named_parameters()) {
    if (p.dim() == 2) nn::init::xavier_uniform_(p, 1.0, gen);  // attention and MLP kernels
    else if (name.find(".mlp.") != std::string::npos && name.size() > 5 && name.substr(name.size() - 5) == ".bias")
      nn::init::normal_(p, 0.0, 1e-6, gen);
  }
  for (const auto& lin : {head_fc1, head_fc2, head_fc3}) {  // flax lecun_normal, zero bias
    const double std = 1.0 / std::sqrt(static_cast<double>(lin->weight.size(1))) / 0.87962566103423978;
    nn::init::trunc_normal_(lin->weight, std, 0.0, -2 * std, 2 * std, gen);
    nn::init::zeros_(lin->bias);
  }
}

// ---- LraModel ---------------------------------------------------------------------------------------

LraModel::LraModel(const LraConfig& cfg, Generator* gen) : mask_padding_(cfg.mask_padding) {
  const nn::FlowformerClassifierConfig mc = model_config(cfg);
  if (cfg.paired()) {
    dual_ = std::make_shared<DualEncoder>(mc, gen);
    dual_->init_lra(gen);
    module_ = dual_;
  } else {
    classifier_ = std::make_shared<nn::FlowformerClassifier>(mc, gen);
    classifier_->init_lra(gen);
    module_ = classifier_;
  }
}

Tensor LraModel::forward(const data::Batch& batch) const {
  // padding mask: [B, L] bool, true on padding = not Batch::mask (id 0 is a real pixel in Image/Pathfinder)
  auto padding = [&](const Tensor& real) { return mask_padding_ ? eq(real, zeros_like(real)) : Tensor(); };
  if (dual_) {
    CFX_CHECK(batch.inputs2.defined(), "conflux-lra: the retrieval model needs paired batches");
    return dual_->forward(batch.inputs, batch.inputs2, padding(batch.mask), padding(batch.mask2));
  }
  return classifier_->forward(batch.inputs, padding(batch.mask));
}

}  // namespace cfx::lra
