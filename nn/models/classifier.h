// The encoder classifier of the Flowformer family: LRA (BENCHMARKS §1.1) and UEA time series
// (§4.3). A config struct with the paper's presets, and FlowformerClassifier: tokens or real
// features -> [CLS] -> positions -> encoder layers -> pooled head. LRA Retrieval's two-document
// model is beside it in nn/models/dual_encoder.h. Letters: B batch, L sequence length, D model
// width, C classes.
#pragma once

#include "nn/transformer.h"

namespace cfx::nn {

enum class Pooling { CLS, Mean, Flatten };
enum class Positions { Sinusoidal, Learned, None };

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

  // LRA §1.3 columns (Flowformer settings, LRA variant of the op). Retrieval takes the same
  // config in FlowformerDualEncoder (nn/models/dual_encoder.h).
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

}  // namespace cfx::nn
