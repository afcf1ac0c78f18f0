// The Flowformer model family of the paper's five benchmarks (../shared/BENCHMARKS.md):
//   FlowformerClassifier   encoder classifier: LRA (§1.1) and UEA time series (§4.3)
//   FlowformerLM           causal language model, fairseq transformer_lm (§2.2)
//   FlowformerVision       four-stage ImageNet model (§3.2)
//   DecisionTransformer    D4RL offline RL (§5.3)
// Each is a config struct (with presets for the paper's settings) plus a Module whose
// constructor wires the layers and whose forward reads like the paper. All of them take
// AttentionKind::Softmax for the vanilla-Transformer baseline.
// Letters: B batch, L/T/K sequence length, D model width, V vocabulary, C classes.
#pragma once

#include "nn/transformer.h"

namespace cfx::nn {

enum class Pooling { CLS, Mean, Flatten };
enum class Positions { Sinusoidal, Learned, None };

// ---- encoder classifier (LRA, UEA) -----------------------------------------------------------
struct FlowformerClassifierConfig {
  int64_t vocab_size = 0;     // > 0: integer tokens [B, L] through an Embedding (LRA)
  int64_t in_features = 0;    // > 0: real features [B, L, in_features] through a Linear (UEA)
  double input_scale = 1.0;   // multiplies the input projection (UEA: √d_model)
  int64_t max_len = 0;        // longest input, without the CLS token
  int64_t num_classes = 2;
  int64_t n_layers = 1;
  TransformerEncoderLayerConfig layer;
  Positions positions = Positions::Sinusoidal;  // sinusoid: interleaved sin/cos, CLS at p = 0
  PositionInit learned_pos_init;  // N(0, 0.02²); UEA U(±0.02)
  Pooling pooling = Pooling::CLS;  // CLS prepends a learned zero-init token; Flatten = UEA head
  int64_t head_hidden = 0;         // CLS/Mean head: Linear(D, h) -> relu -> Linear(h, C); 0 = layer.d_ff
  double embedding_dropout = 0.1;
  // Pass the padding mask to attention (a Conflux extension: the official LRA and UEA code
  // let padded tokens take part in attention, BENCHMARKS.md §0.4).
  bool mask_attention = false;

  // LRA §1.3 columns (Flowformer settings, LRA variant of the op). Retrieval's dual encoder
  // is not provided.
  static FlowformerClassifierConfig lra_listops();
  static FlowformerClassifierConfig lra_text();
  static FlowformerClassifierConfig lra_image();
  static FlowformerClassifierConfig lra_pathfinder();
  // UEA §4.3: Linear(C_in, 512)·√512, learned positions, 2 post-LN layers, flatten head.
  static FlowformerClassifierConfig uea(int64_t in_features, int64_t max_len, int64_t num_classes);
};

class FlowformerClassifier : public Module {
 public:
  explicit FlowformerClassifier(const FlowformerClassifierConfig& cfg, Generator* gen = nullptr);
  // input: int64 tokens [B, L] or features [B, L, in_features]; padding_mask: optional [B, L]
  // bool (true = padding), used by the Flatten head (and attention if mask_attention).
  // Returns logits [B, C].
  Tensor forward(const Tensor& input, const Tensor& padding_mask = Tensor()) const;
  // LRA init (§1.1): xavier_uniform attention/MLP weights, MLP biases N(0, 1e-6), head
  // lecun_normal with zero bias. The constructor uses PyTorch defaults.
  void init_lra(Generator* gen = nullptr);

  FlowformerClassifierConfig config;
  std::shared_ptr<Embedding> embed;           // vocab_size > 0
  std::shared_ptr<Linear> input_projection;   // in_features > 0
  Tensor cls_token;                           // [1, 1, D] (CLS pooling)
  std::shared_ptr<SinusoidalPositionalEmbedding> sin_pos;
  std::shared_ptr<LearnedPositionalEmbedding> learned_pos;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<ModuleList<TransformerEncoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> head_fc1, head_fc2;  // CLS/Mean
  std::shared_ptr<Linear> head;                // Flatten: Linear(max_len·D, C)
};

// ---- causal language model (WikiText-103) -------------------------------------------------------
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

// ---- vision (ImageNet-1K) -------------------------------------------------------------------------
struct FlowformerVisionConfig {
  int64_t img_size = 224, in_chans = 3, num_classes = 1000, patch_size = 4;
  std::vector<int64_t> embed_dims{96, 192, 384, 768};
  std::vector<int64_t> depths{3, 3, 10, 3};
  int64_t n_heads = 12;  // every stage (head dims 8, 16, 32, 64)
  int64_t mlp_ratio = 4;
  double drop_path_rate = 0.2;     // linear 0 -> rate over all blocks
  double layer_scale_init = 1e-5;  // LayerScale on the MLP branch only
  double layer_norm_eps = 1e-6;
  AttentionKind attention = AttentionKind::Flow;
  FlowAttentionOptions flow = FlowAttentionOptions::vision();  // core + eps after each normaliser dot
};

class FlowformerVision : public Module {
 public:
  explicit FlowformerVision(const FlowformerVisionConfig& cfg, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) const;  // [B, in_chans, img, img] -> logits [B, C]
  // timm init (applied by the constructor): Linear trunc_normal(0.02) / bias 0, pos_embed
  // trunc_normal(0.02); convs keep PyTorch defaults.
  void init_timm(Generator* gen = nullptr);

  FlowformerVisionConfig config;
  std::shared_ptr<PatchConv2d> patch_embed;                 // k = s = patch_size
  Tensor pos_embed;                                         // [1, N1, embed_dims[0]]
  std::shared_ptr<ModuleList<ModuleList<TransformerEncoderLayer>>> stages;
  std::shared_ptr<ModuleList<PatchConv2d>> downsamples;     // k = s = 2 between stages
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> head;
};

// ---- Decision Transformer (D4RL) --------------------------------------------------------------------
struct DecisionTransformerConfig {
  int64_t state_dim = 0, act_dim = 0;
  int64_t hidden = 256, n_layers = 3, n_heads = 4, d_ff = 1024;
  int64_t max_ep_len = 1000;  // timestep embedding table size
  double dropout = 0.1;
  AttentionKind attention = AttentionKind::Flow;
  FlowAttentionOptions flow = FlowAttentionOptions::rl();  // causal, clamp ±10
  bool action_tanh = true;
};

struct DecisionTransformerOutput {
  Tensor state_preds;   // [B, K, state_dim]  (from action tokens; unused by the loss)
  Tensor action_preds;  // [B, K, act_dim]    (from state tokens)
  Tensor return_preds;  // [B, K, 1]          (from action tokens; unused by the loss)
};

class DecisionTransformer : public Module {
 public:
  explicit DecisionTransformer(const DecisionTransformerConfig& cfg, Generator* gen = nullptr);
  // states [B, K, state_dim], actions [B, K, act_dim], returns_to_go [B, K, 1], timesteps
  // int64 [B, K]; tokens interleave (R_t, s_t, a_t) -> 3K tokens, causal attention.
  DecisionTransformerOutput forward(const Tensor& states, const Tensor& actions, const Tensor& returns_to_go,
                                    const Tensor& timesteps) const;
  // GPT-2 _init_weights on the transformer body: Linear/Embedding N(0, 0.02), biases 0,
  // LayerNorm 1/0. The outer embeddings and heads keep PyTorch defaults. Applied by the constructor.
  void init_gpt2(Generator* gen = nullptr);

  DecisionTransformerConfig config;
  std::shared_ptr<Embedding> embed_timestep;
  std::shared_ptr<Linear> embed_return, embed_state, embed_action;
  std::shared_ptr<LayerNorm> embed_ln;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<ModuleList<TransformerEncoderLayer>> layers;  // pre-LN, ReLU
  std::shared_ptr<LayerNorm> ln_f;
  std::shared_ptr<Linear> predict_state, predict_action, predict_return;
};

}  // namespace cfx::nn
