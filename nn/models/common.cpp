// What the model families share (nn/models/common.h); section numbers refer to ../shared/BENCHMARKS.md.
#include "nn/models/common.h"

#include <cmath>

#include "nn/init.h"

namespace cfx::nn::detail {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::shared_ptr<ModuleList<TransformerEncoderLayer>> make_layers(int64_t n, const TransformerEncoderLayerConfig& cfg,
                                                                 Generator* gen) {
  auto list = std::make_shared<ModuleList<TransformerEncoderLayer>>();
  for (int64_t i = 0; i < n; ++i) list->push_back(std::make_shared<TransformerEncoderLayer>(cfg, gen));
  return list;
}

TransformerEncoderLayerConfig causal_layer(int64_t d_model, int64_t n_heads, int64_t d_ff, AttentionKind attention,
                                           const FlowAttentionOptions& flow, double dropout) {
  TransformerEncoderLayerConfig l;
  l.d_model = d_model;
  l.n_heads = n_heads;
  l.d_ff = d_ff;
  l.attention = attention;
  l.flow = flow;
  l.causal = true;
  l.norm_first = true;
  l.activation = Activation::ReLU;
  l.dropout = dropout;
  l.activation_dropout = 0.0;
  l.attention_dropout = 0.0;
  return l;
}

void init_lra(ModuleList<TransformerEncoderLayer>& layers, std::initializer_list<std::shared_ptr<Linear>> heads,
              Generator* gen) {
  for (auto& [name, p] : layers.named_parameters()) {
    if (p.dim() == 2) init::xavier_uniform_(p, 1.0, gen);                        // attention and MLP kernels
    else if (name.find(".mlp.") != std::string::npos && ends_with(name, ".bias")) init::normal_(p, 0.0, 1e-6, gen);
  }
  // flax lecun_normal: truncated normal (±2σ) with variance 1/fan_in after truncation.
  for (const auto& lin : heads) {
    if (!lin) continue;
    const double std = 1.0 / std::sqrt(static_cast<double>(lin->weight.size(1))) / 0.87962566103423978;
    init::trunc_normal_(lin->weight, std, 0.0, -2 * std, 2 * std, gen);
    init::zeros_(lin->bias);
  }
}

}  // namespace cfx::nn::detail
