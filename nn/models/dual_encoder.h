// LRA Retrieval's model in the classifier family (BENCHMARKS §1.1): the official
// LinearTransformerDualEncoder, one shared encoder applied to both documents, then an MLP head:
//
//   e1 = Encoder(doc1)[:, 0]    e2 = Encoder(doc2)[:, 0]     one shared encoder, no CLS token,
//   logits = Dense(C)(relu(Dense(mlp/2)(relu(Dense(mlp)([e1, e2])))))   first token = first byte
//
// It takes FlowformerClassifierConfig (nn/models/classifier.h): the classifier's encoder
// settings, its positions and its LRA init; pooling is always the first token.
// Letters: B batch, L length, D = d_model, C classes.
#pragma once

#include "nn/models/classifier.h"

namespace cfx::nn {

// embed -> positions -> dropout -> layers -> norm, applied to both documents; keys embed.*,
// layers.*, norm.*, head_fc1/2/3.* (pos_embed is a fixed, unsaved table unless learned).
class FlowformerDualEncoder : public Module {
 public:
  explicit FlowformerDualEncoder(const FlowformerClassifierConfig& cfg, Generator* gen = nullptr);
  Tensor encode(const Tensor& tokens, const Tensor& padding_mask) const;  // [B, L] -> [B, D] (token 0)
  Tensor forward(const Tensor& tokens1, const Tensor& tokens2, const Tensor& padding_mask1 = Tensor(),
                 const Tensor& padding_mask2 = Tensor()) const;          // -> logits [B, C]
  void init_lra(Generator* gen = nullptr);  // same rules as FlowformerClassifier::init_lra

  FlowformerClassifierConfig config;
  std::shared_ptr<Embedding> embed;
  std::shared_ptr<SinusoidalPositionalEmbedding> sin_pos;
  std::shared_ptr<LearnedPositionalEmbedding> learned_pos;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<ModuleList<TransformerEncoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> head_fc1, head_fc2, head_fc3;
};

}  // namespace cfx::nn
