// One Transformer encoder layer, pre-LN or post-LN, with Flow-Attention or softmax attention.
//
//   pre-LN  (LRA, fairseq LM, vision, Decision Transformer):
//     x = x + DropPath(Dropout(Attn(LN1(x))))
//     x = x + DropPath(γ ∘ MLP(LN2(x)))              γ only when layer_scale_init > 0 (vision)
//   post-LN (UEA time series, Informer style):
//     x = LN1(x + Dropout(Attn(x)))
//     x = LN2(x + MLP(x))
// MLP = fc1 -> act -> Dropout(activation_dropout) -> fc2 -> Dropout(dropout).
// Keys: attn.{query,key,value,out}_projection.*, norm1.*, norm2.*, mlp.fc1.*, mlp.fc2.*, gamma.
// Letters: B batch, L length, D = d_model.
#pragma once

#include "nn/attention.h"

namespace cfx::nn {

enum class AttentionKind { Flow, Softmax };

struct TransformerEncoderLayerConfig {
  int64_t d_model = 0;
  int64_t n_heads = 1;
  int64_t d_ff = 0;              // MLP hidden width; 0 = 4·d_model
  int64_t d_qkv = 0;             // width of q/k/v over all heads (LRA qkv_dim); 0 = d_model
  AttentionKind attention = AttentionKind::Flow;
  FlowAttentionOptions flow = FlowAttentionOptions::core();
  // Causal masking of either attention. With Flow attention it must equal flow.causal (the
  // constructor throws on a conflict rather than silently letting one win).
  bool causal = false;
  bool norm_first = true;        // pre-LN (true) or post-LN
  Activation activation = Activation::GELU;
  double dropout = 0.1;          // on the attention branch and after fc2
  double activation_dropout = 0.1;  // after the MLP activation
  double attention_dropout = 0.0;   // inside the attention module, after out_projection
  bool attention_bias = true;
  bool mlp_bias = true;
  double layer_norm_eps = 1e-5;
  double layer_scale_init = 0.0;  // > 0: LayerScale γ (init to this value) on the MLP branch
  double drop_path = 0.0;         // stochastic depth rate of both branches
};

class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerEncoderLayerConfig& cfg, Generator* gen = nullptr);
  // x: [B, L, D]; key_padding_mask: optional [B, L] bool, true = padded.
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask = Tensor()) const;
  Tensor attend(const Tensor& x, const Tensor& key_padding_mask) const;  // the attention module alone
  // Decoding (causal Flow attention only): x [B, T, D], the T tokens after those `state` has
  // seen -> the matching rows of forward() over the whole sequence (FlowAttention::step).
  Tensor step(const Tensor& x, FlowAttentionStepState& state) const;

  TransformerEncoderLayerConfig config;
  std::shared_ptr<FlowAttention> flow_attn;        // registered as "attn" when attention == Flow
  std::shared_ptr<SoftmaxAttention> softmax_attn;  // registered as "attn" when attention == Softmax
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<MLP> mlp;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<DropPath> drop_path;
  Tensor gamma;  // [D], only with layer_scale_init > 0
};

}  // namespace cfx::nn
