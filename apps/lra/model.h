// The model conflux-lra trains: nn::FlowformerClassifier for the single-sequence tasks, and
// for Retrieval the dual encoder of BENCHMARKS 1.1, which nn/models.h does not provide:
//
//   e1 = Encoder(doc1)[:, 0]    e2 = Encoder(doc2)[:, 0]     one shared encoder, no CLS token,
//   logits = Dense(2)(relu(Dense(mlp/2)(relu(Dense(mlp)([e1, e2])))))   first token = first byte
//
// Letters: B batch, L length, D = d_model, C classes.
#pragma once

#include <memory>

#include "apps/lra/config.h"
#include "data/dataset.h"
#include "nn/models.h"

namespace cfx::lra {

// LinearTransformerDualEncoder: embed -> positions -> dropout -> layers -> norm, applied to both
// documents; keys embed.*, layers.*, norm.*, head_fc1/2/3.* (pos_embed is a fixed, unsaved table).
class DualEncoder : public nn::Module {
 public:
  explicit DualEncoder(const nn::FlowformerClassifierConfig& cfg, Generator* gen = nullptr);
  Tensor encode(const Tensor& tokens, const Tensor& padding_mask) const;  // [B, L] -> [B, D] (token 0)
  Tensor forward(const Tensor& tokens1, const Tensor& tokens2, const Tensor& padding_mask1 = Tensor(),
                 const Tensor& padding_mask2 = Tensor()) const;          // -> logits [B, C]
  void init_lra(Generator* gen = nullptr);  // same rules as FlowformerClassifier::init_lra

  nn::FlowformerClassifierConfig config;
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::SinusoidalPositionalEmbedding> sin_pos;
  std::shared_ptr<nn::LearnedPositionalEmbedding> learned_pos;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::ModuleList<nn::TransformerEncoderLayer>> layers;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head_fc1, head_fc2, head_fc3;
};

// Either model behind one forward(batch).
class LraModel {
 public:
  LraModel(const LraConfig& cfg, Generator* gen);  // built and initialised as flax does (init_lra)
  Tensor forward(const data::Batch& batch) const;  // logits [B, C]; batch on device()
  Device device() const { return module_->parameters().front().device(); }
  nn::Module& module() { return *module_; }
  const nn::Module& module() const { return *module_; }

 private:
  bool mask_padding_;
  std::shared_ptr<nn::Module> module_;
  std::shared_ptr<nn::FlowformerClassifier> classifier_;
  std::shared_ptr<DualEncoder> dual_;
};

}  // namespace cfx::lra
