// The vision model of the Flowformer family: four stages on ImageNet-1K (BENCHMARKS §3.2).
// FlowformerVision: patch conv -> learned positions -> stages of pre-LN layers with LayerScale
// and DropPath, a k = s = 2 conv between stages -> LayerNorm -> mean -> head.
// Letters: B batch, C channels, N tokens.
#pragma once

#include <vector>

#include "nn/transformer.h"

namespace cfx::nn {

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

}  // namespace cfx::nn
