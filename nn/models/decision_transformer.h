// The Decision Transformer of the Flowformer family: D4RL offline RL (BENCHMARKS §5.3).
// DecisionTransformer: (return-to-go, state, action) embeddings + timestep embedding,
// interleaved into 3K tokens -> pre-LN causal layers -> state/action/return heads.
// Letters: B batch, K timesteps, h hidden width.
#pragma once

#include "nn/transformer.h"

namespace cfx::nn {

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
