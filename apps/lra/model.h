// The model conflux-lra trains: nn::FlowformerClassifier for the single-sequence tasks, and
// for Retrieval nn::FlowformerDualEncoder (nn/models/dual_encoder.h), behind one
// forward(batch) that turns the batch's masks into padding masks.
// Letters: B batch, C classes.
#pragma once

#include <memory>

#include "apps/lra/config.h"
#include "data/dataset.h"
#include "nn/models.h"

namespace cfx::lra {

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
  std::shared_ptr<nn::FlowformerDualEncoder> dual_;
};

}  // namespace cfx::lra
