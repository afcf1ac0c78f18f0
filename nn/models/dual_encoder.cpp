// LRA Retrieval's dual encoder (nn/models/dual_encoder.h); BENCHMARKS §1.1.
#include "nn/models/dual_encoder.h"

#include "nn/models/common.h"
#include "ops/elementwise.h"
#include "ops/shape_ops.h"

namespace cfx::nn {

FlowformerDualEncoder::FlowformerDualEncoder(const FlowformerClassifierConfig& cfg, Generator* gen)
    : Module("FlowformerDualEncoder"), config(cfg) {
  const int64_t D = config.layer.d_model, H = config.head_hidden > 0 ? config.head_hidden : config.layer.d_ff;
  CFX_CHECK(config.vocab_size > 0 && config.max_len > 0 && D > 0 && H >= 2,
            "FlowformerDualEncoder: vocab_size, max_len, d_model must be positive and the head width >= 2");
  embed = register_module("embed", std::make_shared<Embedding>(config.vocab_size, D, std::nullopt, gen));
  if (config.positions == Positions::Learned)
    learned_pos = register_module("pos_embed", std::make_shared<LearnedPositionalEmbedding>(
                                                   config.max_len, D, config.learned_pos_init, gen));
  else
    sin_pos = register_module("pos_embed", std::make_shared<SinusoidalPositionalEmbedding>(config.max_len, D));
  dropout = register_module("dropout", std::make_shared<Dropout>(config.embedding_dropout));
  layers = register_module("layers", detail::make_layers(config.n_layers, config.layer, gen));
  norm = register_module("norm", std::make_shared<LayerNorm>(D, config.layer.layer_norm_eps));
  head_fc1 = register_module("head_fc1", std::make_shared<Linear>(2 * D, H, true, gen));
  head_fc2 = register_module("head_fc2", std::make_shared<Linear>(H, H / 2, true, gen));
  head_fc3 = register_module("head_fc3", std::make_shared<Linear>(H / 2, config.num_classes, true, gen));
}

Tensor FlowformerDualEncoder::encode(const Tensor& tokens, const Tensor& padding_mask) const {
  CFX_CHECK(tokens.dim() == 2 && tokens.size(1) <= config.max_len, "FlowformerDualEncoder: expected tokens [B, L <= ",
            config.max_len, "], got ", tokens.shape());
  Tensor x = embed->forward(tokens);  // [B, L, D]
  x = sin_pos ? sin_pos->forward(x) : learned_pos->forward(x);
  x = dropout->forward(x);
  for (const auto& layer : *layers) x = layer->forward(x, config.mask_attention ? padding_mask : Tensor());
  return norm->forward(x).select(1, 0);  // [B, D]: the first byte of the document
}

Tensor FlowformerDualEncoder::forward(const Tensor& tokens1, const Tensor& tokens2, const Tensor& padding_mask1,
                                      const Tensor& padding_mask2) const {
  Tensor e = cat({encode(tokens1, padding_mask1), encode(tokens2, padding_mask2)}, 1);  // [B, 2D]
  return head_fc3->forward(relu(head_fc2->forward(relu(head_fc1->forward(e)))));       // [B, C]
}

void FlowformerDualEncoder::init_lra(Generator* gen) { detail::init_lra(*layers, {head_fc1, head_fc2, head_fc3}, gen); }

}  // namespace cfx::nn
