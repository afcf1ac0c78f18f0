// The causal language model of the Flowformer family: fairseq transformer_lm on WikiText-103
// (BENCHMARKS §2.2). FlowformerLM: tokens -> scaled embedding + fairseq sinusoids -> pre-LN
// causal layers -> LayerNorm -> tied output; plus incremental decoding on a fixed-size running
// state per layer (DecodeState). Letters: B batch, T sequence length, D model width, V vocabulary.
#pragma once

#include <vector>

#include "nn/transformer.h"

namespace cfx::nn {

struct FlowformerLMConfig {
  int64_t vocab_size = 0;
  int64_t d_model = 512, n_heads = 8, d_ff = 2048, n_layers = 6;
  int64_t max_len = 512;  // tokens per sample
  double dropout = 0.1;
  AttentionKind attention = AttentionKind::Flow;
  FlowAttentionOptions flow = FlowAttentionOptions::nlp();  // causal, clamp ±5
  bool tie_weights = true;  // --share-decoder-input-output-embed
  int64_t padding_idx = 1;  // fairseq <pad>; positions start at padding_idx + 1
};

class FlowformerLM : public Module {
 public:
  explicit FlowformerLM(const FlowformerLMConfig& cfg, Generator* gen = nullptr);
  Tensor forward(const Tensor& tokens) const;  // int64 [B, T] -> logits [B, T, V]
  // What the output layer reads: [B, T, D] after the final LayerNorm. With output_weight(),
  // what linear_cross_entropy takes instead of [B, T, V] logits (ops/linear_cross_entropy.h).
  Tensor features(const Tensor& tokens) const;
  const Tensor& output_weight() const;  // [V, D]: the tied embedding, or the output projection's

  // Incremental decoding with causal Flow attention: a fixed-size running state per layer, so
  // each new token costs the same at position 10 and at 16,000 (ops/flow_attention_step.h).
  // decode(tokens, state) is features() of the whole sequence seen so far, restricted to the
  // new tokens [B, T] -> [B, T, D]; positions continue from state.position (up to max_len).
  struct DecodeState {
    std::vector<FlowAttentionStepState> layers;
    int64_t position = 0;
    int64_t bytes() const;  // the whole state, independent of position
  };
  DecodeState initial_decode_state(int64_t batch) const;
  Tensor decode(const Tensor& tokens, DecodeState& state) const;
  // fairseq init: embeddings N(0, D^-1/2) (padding row 0), xavier_uniform projections (gain
  // 1/√2 for q/k/v), zero out-projection/FFN biases. Applied by the constructor.
  void init_fairseq(Generator* gen = nullptr);

  FlowformerLMConfig config;
  std::shared_ptr<Embedding> embed_tokens;
  std::shared_ptr<SinusoidalPositionalEmbedding> embed_positions;  // fairseq layout, not saved
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<ModuleList<TransformerEncoderLayer>> layers;      // pre-LN, causal, ReLU
  std::shared_ptr<LayerNorm> layer_norm;
  std::shared_ptr<Linear> output_projection;                       // only when !tie_weights
};

}  // namespace cfx::nn
