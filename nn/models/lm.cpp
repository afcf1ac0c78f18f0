// The causal language model (nn/models/lm.h): FlowformerLM, its decoding and the fairseq init;
// section numbers refer to ../shared/BENCHMARKS.md.
#include "nn/models/lm.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/init.h"
#include "nn/models/common.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"

namespace cfx::nn {

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
  const TransformerEncoderLayerConfig l =
      detail::causal_layer(D, config.n_heads, config.d_ff, config.attention, config.flow, config.dropout);
  layers = register_module("layers", detail::make_layers(config.n_layers, l, gen));
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

}  // namespace cfx::nn
