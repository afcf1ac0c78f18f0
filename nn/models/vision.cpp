// The vision model (nn/models/vision.h): FlowformerVision and the timm init; section numbers
// refer to ../shared/BENCHMARKS.md.
#include "nn/models/vision.h"

#include "nn/init.h"
#include "nn/models/common.h"
#include "ops/creation.h"
#include "ops/elementwise.h"

namespace cfx::nn {

using detail::ends_with;

FlowformerVision::FlowformerVision(const FlowformerVisionConfig& cfg, Generator* gen)
    : Module("FlowformerVision"), config(cfg) {
  const auto& dims = config.embed_dims;
  const int64_t n_stages = static_cast<int64_t>(dims.size());
  CFX_CHECK(n_stages >= 1 && config.depths.size() == dims.size(), "FlowformerVision: embed_dims and depths must have the "
            "same non-zero length, got ", dims.size(), " and ", config.depths.size());
  const int64_t grid = config.img_size / config.patch_size;
  CFX_CHECK(config.img_size % config.patch_size == 0 && grid % (int64_t{1} << (n_stages - 1)) == 0,
            "FlowformerVision: img_size ", config.img_size, " must give a patch grid divisible by 2^", n_stages - 1);
  patch_embed = register_module("patch_embed", std::make_shared<PatchConv2d>(config.in_chans, dims[0], config.patch_size, true, gen));
  pos_embed = register_parameter("pos_embed", zeros({1, grid * grid, dims[0]}));
  int64_t total_blocks = 0;
  for (int64_t d : config.depths) total_blocks += d;
  stages = register_module("stages", std::make_shared<ModuleList<ModuleList<TransformerEncoderLayer>>>());
  downsamples = register_module("downsamples", std::make_shared<ModuleList<PatchConv2d>>());
  int64_t block = 0;
  for (int64_t s = 0; s < n_stages; ++s) {
    if (s > 0) downsamples->push_back(std::make_shared<PatchConv2d>(dims[s - 1], dims[s], 2, true, gen));
    auto stage = std::make_shared<ModuleList<TransformerEncoderLayer>>();
    for (int64_t j = 0; j < config.depths[s]; ++j, ++block) {
      TransformerEncoderLayerConfig l;
      l.d_model = dims[s];
      l.n_heads = config.n_heads;
      l.d_ff = config.mlp_ratio * dims[s];
      l.attention = config.attention;
      l.flow = config.flow;
      l.norm_first = true;
      l.activation = Activation::GELU;
      l.dropout = l.activation_dropout = l.attention_dropout = 0.0;
      l.layer_norm_eps = config.layer_norm_eps;
      l.layer_scale_init = config.layer_scale_init;
      l.drop_path = total_blocks > 1 ? config.drop_path_rate * static_cast<double>(block) / static_cast<double>(total_blocks - 1) : 0.0;
      stage->push_back(std::make_shared<TransformerEncoderLayer>(l, gen));
    }
    stages->push_back(stage);
  }
  norm = register_module("norm", std::make_shared<LayerNorm>(dims.back(), config.layer_norm_eps));
  head = register_module("head", std::make_shared<Linear>(dims.back(), config.num_classes, true, gen));
  init_timm(gen);
}

Tensor FlowformerVision::forward(const Tensor& images) const {
  CFX_CHECK(images.dim() == 4 && images.size(1) == config.in_chans && images.size(2) == config.img_size &&
                images.size(3) == config.img_size,
            "FlowformerVision: expected images [B, ", config.in_chans, ", ", config.img_size, ", ", config.img_size,
            "], got ", images.shape());
  const int64_t B = images.size(0);
  Tensor x = patch_embed->forward(images);  // [B, C0, h, w]
  int64_t h = x.size(2), w = x.size(3);
  x = x.flatten(2).transpose(1, 2) + pos_embed;  // [B, h·w, C0]
  for (size_t s = 0; s < stages->size(); ++s) {
    if (s > 0) {  // DownLayer: tokens -> grid -> conv k=s=2 -> tokens
      Tensor grid = x.transpose(1, 2).reshape({B, x.size(2), h, w});  // [B, C, h, w]
      x = (*downsamples)[s - 1].forward(grid);                        // [B, C', h/2, w/2]
      h /= 2, w /= 2;
      x = x.flatten(2).transpose(1, 2);                               // [B, h·w, C']
    }
    for (const auto& blk : (*stages)[s]) x = blk->forward(x);
  }
  return head->forward(norm->forward(x).mean({1}));  // [B, num_classes]
}

void FlowformerVision::init_timm(Generator* gen) {
  for (auto& [name, p] : named_parameters()) {
    if (name.rfind("patch_embed.", 0) == 0 || name.rfind("downsamples.", 0) == 0) continue;  // convs: PyTorch default
    if (p.dim() == 2) init::trunc_normal_(p, 0.02, 0.0, -2.0, 2.0, gen);                    // Linear weights
    else if (ends_with(name, "_projection.bias") || ends_with(name, "fc1.bias") || ends_with(name, "fc2.bias") ||
             name == "head.bias")
      init::zeros_(p);
  }
  init::trunc_normal_(pos_embed, 0.02, 0.0, -2.0, 2.0, gen);
}

}  // namespace cfx::nn
