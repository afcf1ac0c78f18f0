// TransformerEncoderLayer (nn/transformer.h): pre-LN / post-LN, Flow or softmax attention.
#include "nn/transformer.h"

#include "ops/creation.h"

namespace cfx::nn {

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerConfig& cfg, Generator* gen)
    : Module("TransformerEncoderLayer"), config(cfg) {
  const int64_t D = config.d_model;
  CFX_CHECK(D > 0, "TransformerEncoderLayer: d_model must be positive, got ", D);
  if (config.d_ff == 0) config.d_ff = 4 * D;
  if (config.attention == AttentionKind::Flow) {
    FlowAttentionConfig a;
    a.d_input = D;
    a.d_model = config.d_qkv;
    a.d_output = D;
    a.n_heads = config.n_heads;
    a.dropout = config.attention_dropout;
    a.bias = config.attention_bias;
    CFX_CHECK(config.flow.causal == config.causal, "TransformerEncoderLayer: causal = ", config.causal,
              " but flow.causal = ", config.flow.causal, "; set both (e.g. flow = FlowAttentionOptions::nlp() "
              "with causal = true)");
    a.options = config.flow;
    flow_attn = register_module("attn", std::make_shared<FlowAttention>(a, gen));
  } else {
    SoftmaxAttentionConfig a;
    a.d_input = D;
    a.d_model = config.d_qkv;
    a.d_output = D;
    a.n_heads = config.n_heads;
    a.dropout = config.attention_dropout;
    a.bias = config.attention_bias;
    a.causal = config.causal;
    softmax_attn = register_module("attn", std::make_shared<SoftmaxAttention>(a, gen));
  }
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(D, config.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(D, config.layer_norm_eps));
  mlp = register_module("mlp", std::make_shared<MLP>(D, config.d_ff, D, config.activation, config.activation_dropout,
                                                     config.dropout, config.mlp_bias, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(config.dropout));
  drop_path = register_module("drop_path", std::make_shared<DropPath>(config.drop_path));
  if (config.layer_scale_init > 0) gamma = register_parameter("gamma", full({D}, config.layer_scale_init));
}

Tensor TransformerEncoderLayer::attend(const Tensor& x, const Tensor& key_padding_mask) const {
  return flow_attn ? flow_attn->forward(x, key_padding_mask) : softmax_attn->forward(x, key_padding_mask);
}

namespace {

// The residual block around any attention: attend(a) maps the attention input to its output.
template <class Attend>
Tensor encoder_block(const TransformerEncoderLayer& l, const Tensor& x, Attend&& attend) {
  CFX_CHECK(x.dim() == 3 && x.size(2) == l.config.d_model, "TransformerEncoderLayer: expected input [B, L, ",
            l.config.d_model, "], got ", x.shape());
  if (l.config.norm_first) {
    Tensor h = x + l.drop_path->forward(l.dropout->forward(attend(l.norm1->forward(x))));
    Tensor m = l.mlp->forward(l.norm2->forward(h));
    if (l.gamma.defined()) m = m * l.gamma;
    return h + l.drop_path->forward(m);
  }
  Tensor h = l.norm1->forward(x + l.drop_path->forward(l.dropout->forward(attend(x))));
  return l.norm2->forward(h + l.drop_path->forward(l.mlp->forward(h)));
}

}  // namespace

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& key_padding_mask) const {
  return encoder_block(*this, x, [&](const Tensor& a) { return attend(a, key_padding_mask); });
}

Tensor TransformerEncoderLayer::step(const Tensor& x, FlowAttentionStepState& state) const {
  CFX_CHECK(flow_attn && config.causal, "TransformerEncoderLayer::step: needs causal Flow attention (this layer has ",
            flow_attn ? "non-causal Flow" : "softmax", " attention)");
  return encoder_block(*this, x, [&](const Tensor& a) { return flow_attn->step(a, state); });
}

}  // namespace cfx::nn
