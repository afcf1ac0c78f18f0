// The LRA model wrapper (see model.h); the models are nn/models/classifier.h and dual_encoder.h.
#include "apps/lra/model.h"

#include "ops/creation.h"
#include "ops/elementwise.h"

namespace cfx::lra {

LraModel::LraModel(const LraConfig& cfg, Generator* gen) : mask_padding_(cfg.mask_padding) {
  const nn::FlowformerClassifierConfig mc = model_config(cfg);
  if (cfg.paired()) {
    dual_ = std::make_shared<nn::FlowformerDualEncoder>(mc, gen);
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
