// The Decision Transformer (nn/models/decision_transformer.h) and its GPT-2 init; section
// numbers refer to ../shared/BENCHMARKS.md.
#include "nn/models/decision_transformer.h"

#include "nn/init.h"
#include "nn/models/common.h"
#include "ops/elementwise.h"
#include "ops/shape_ops.h"

namespace cfx::nn {

DecisionTransformer::DecisionTransformer(const DecisionTransformerConfig& cfg, Generator* gen)
    : Module("DecisionTransformer"), config(cfg) {
  const int64_t h = config.hidden;
  CFX_CHECK(config.state_dim > 0 && config.act_dim > 0 && h > 0, "DecisionTransformer: state_dim, act_dim and hidden "
            "must be positive, got ", config.state_dim, ", ", config.act_dim, ", ", h);
  embed_timestep = register_module("embed_timestep", std::make_shared<Embedding>(config.max_ep_len, h, std::nullopt, gen));
  embed_return = register_module("embed_return", std::make_shared<Linear>(1, h, true, gen));
  embed_state = register_module("embed_state", std::make_shared<Linear>(config.state_dim, h, true, gen));
  embed_action = register_module("embed_action", std::make_shared<Linear>(config.act_dim, h, true, gen));
  embed_ln = register_module("embed_ln", std::make_shared<LayerNorm>(h));
  dropout = register_module("dropout", std::make_shared<Dropout>(config.dropout));
  const TransformerEncoderLayerConfig l =
      detail::causal_layer(h, config.n_heads, config.d_ff, config.attention, config.flow, config.dropout);
  layers = register_module("layers", detail::make_layers(config.n_layers, l, gen));
  ln_f = register_module("ln_f", std::make_shared<LayerNorm>(h));
  predict_state = register_module("predict_state", std::make_shared<Linear>(h, config.state_dim, true, gen));
  predict_action = register_module("predict_action", std::make_shared<Linear>(h, config.act_dim, true, gen));
  predict_return = register_module("predict_return", std::make_shared<Linear>(h, 1, true, gen));
  init_gpt2(gen);
}

DecisionTransformerOutput DecisionTransformer::forward(const Tensor& states, const Tensor& actions,
                                                       const Tensor& returns_to_go, const Tensor& timesteps) const {
  CFX_CHECK(states.dim() == 3 && states.size(2) == config.state_dim, "DecisionTransformer: expected states [B, K, ",
            config.state_dim, "], got ", states.shape());
  const int64_t B = states.size(0), K = states.size(1), h = config.hidden;
  CFX_CHECK(actions.shape() == Shape({B, K, config.act_dim}), "DecisionTransformer: expected actions [", B, ", ", K,
            ", ", config.act_dim, "], got ", actions.shape());
  CFX_CHECK(returns_to_go.shape() == Shape({B, K, 1}), "DecisionTransformer: expected returns_to_go [", B, ", ", K,
            ", 1], got ", returns_to_go.shape());
  CFX_CHECK(timesteps.shape() == Shape({B, K}), "DecisionTransformer: expected timesteps [", B, ", ", K, "], got ",
            timesteps.shape());
  Tensor time = embed_timestep->forward(timesteps);           // [B, K, h]
  Tensor r = embed_return->forward(returns_to_go) + time;     // [B, K, h]
  Tensor s = embed_state->forward(states) + time;
  Tensor a = embed_action->forward(actions) + time;
  // (R_1, s_1, a_1, R_2, ...): [B, 3, K, h] -> [B, K, 3, h] -> [B, 3K, h]
  Tensor x = stack({r, s, a}, 1).permute({0, 2, 1, 3}).reshape({B, 3 * K, h});
  x = dropout->forward(embed_ln->forward(x));
  for (const auto& layer : *layers) x = layer->forward(x);
  x = ln_f->forward(x).reshape({B, K, 3, h});                 // token t of step k at [:, k, t]
  DecisionTransformerOutput out;
  out.return_preds = predict_return->forward(x.select(2, 2));
  out.state_preds = predict_state->forward(x.select(2, 2));
  out.action_preds = predict_action->forward(x.select(2, 1));
  if (config.action_tanh) out.action_preds = tanh(out.action_preds);
  return out;
}

void DecisionTransformer::init_gpt2(Generator* gen) {
  for (auto& [name, p] : layers->named_parameters()) {
    if (name.find("norm") != std::string::npos) continue;  // LayerNorm stays 1 / 0
    if (p.dim() == 2) init::normal_(p, 0.0, 0.02, gen);
    else init::zeros_(p);
  }
}

}  // namespace cfx::nn
