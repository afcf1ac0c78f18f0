// FlowAttention and SoftmaxAttention modules (nn/attention.h): projections + op + out projection.
#include "nn/attention.h"

namespace cfx::nn {

namespace detail {

Tensor split_heads(const Tensor& x, int64_t n_heads) {
  const int64_t B = x.size(0), L = x.size(1);
  return x.view({B, L, n_heads, -1}).transpose(1, 2);  // [B, H, L, dh]
}

Tensor merge_heads(const Tensor& y) {
  const int64_t B = y.size(0), L = y.size(2);
  return y.transpose(1, 2).reshape({B, L, -1});  // [B, L, H·dh]
}

}  // namespace detail

namespace {

// Fills the 0 = "same as d_input" defaults and checks the head split.
void resolve_widths(const char* who, int64_t d_input, int64_t& d_model, int64_t& d_output, int64_t n_heads) {
  CFX_CHECK(d_input > 0, who, ": d_input must be positive, got ", d_input);
  if (d_model == 0) d_model = d_input;
  if (d_output == 0) d_output = d_input;
  CFX_CHECK(n_heads > 0 && d_model % n_heads == 0, who, ": d_model ", d_model, " must be divisible by n_heads ",
            n_heads);
}

void check_inputs(const char* who, const Tensor& q, const Tensor& k, const Tensor& v, int64_t d_input) {
  CFX_CHECK(q.dim() == 3 && q.size(2) == d_input, who, ": expected queries [B, L, ", d_input, "], got ", q.shape());
  CFX_CHECK(k.dim() == 3 && k.size(2) == d_input && k.size(0) == q.size(0), who, ": expected keys [", q.size(0),
            ", S, ", d_input, "], got ", k.shape());
  CFX_CHECK(v.shape() == k.shape(), who, ": values must have the keys' shape ", k.shape(), ", got ", v.shape());
}

// The projections and the dropout both modules have, under the official names, registered
// (and drawn from gen) in this order: query, key, value [d_input -> d_model], out
// [d_model -> d_output], dropout. The widths are resolved already.
template <class Attention>
void register_projections(Attention& m, Generator* gen) {
  const auto& c = m.config;
  const int64_t di = c.d_input, dm = c.d_model, dout = c.d_output;
  m.query_projection = m.register_module("query_projection", std::make_shared<Linear>(di, dm, c.bias, gen));
  m.key_projection = m.register_module("key_projection", std::make_shared<Linear>(di, dm, c.bias, gen));
  m.value_projection = m.register_module("value_projection", std::make_shared<Linear>(di, dm, c.bias, gen));
  m.out_projection = m.register_module("out_projection", std::make_shared<Linear>(dm, dout, c.bias, gen));
  m.dropout = m.register_module("dropout", std::make_shared<Dropout>(c.dropout));
}

}  // namespace

// ---- FlowAttention ------------------------------------------------------------------------------

FlowAttention::FlowAttention(const FlowAttentionConfig& cfg, Generator* gen) : Module("FlowAttention"), config(cfg) {
  resolve_widths("FlowAttention", config.d_input, config.d_model, config.d_output, config.n_heads);
  CFX_CHECK(!config.options.key_padding_mask.defined(),
            "FlowAttention: pass the key padding mask to forward(), not in the config options");
  register_projections(*this, gen);
}

Tensor FlowAttention::forward(const Tensor& x, const Tensor& key_padding_mask) const {
  return forward(x, x, x, key_padding_mask);
}

Tensor FlowAttention::forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                              const Tensor& key_padding_mask) const {
  check_inputs("FlowAttention", queries, keys, values, config.d_input);
  const int64_t H = config.n_heads;
  Tensor q = detail::split_heads(query_projection->forward(queries), H);  // [B, H, L, dh]
  Tensor k = detail::split_heads(key_projection->forward(keys), H);       // [B, H, S, dh]
  Tensor v = detail::split_heads(value_projection->forward(values), H);   // [B, H, S, dh]
  FlowAttentionOptions opts = config.options;
  opts.key_padding_mask = key_padding_mask;
  Tensor y = flow_attention(q, k, v, opts);                                // [B, H, L, dh]
  return dropout->forward(out_projection->forward(detail::merge_heads(y)));  // [B, L, d_output]
}

Tensor FlowAttention::step(const Tensor& x, FlowAttentionStepState& state) const {
  CFX_CHECK(x.dim() == 3 && x.size(2) == config.d_input, "FlowAttention::step: expected x [B, T, ", config.d_input,
            "], got ", x.shape());
  const Tensor q = detail::split_heads(query_projection->forward(x), config.n_heads);
  const Tensor k = detail::split_heads(key_projection->forward(x), config.n_heads);
  const Tensor v = detail::split_heads(value_projection->forward(x), config.n_heads);
  const Tensor y = flow_attention_step(q, k, v, state, config.options);  // [B, H, T, dh]
  return dropout->forward(out_projection->forward(detail::merge_heads(y)));
}

FlowAttentionStepState FlowAttention::initial_state(int64_t batch) const {
  const Tensor& w = query_projection->weight;
  const int64_t dh = config.d_model / config.n_heads;
  return FlowAttentionStepState::zeros(batch, config.n_heads, dh, dh, w.dtype(), w.device());
}

// ---- SoftmaxAttention ---------------------------------------------------------------------------

SoftmaxAttention::SoftmaxAttention(const SoftmaxAttentionConfig& cfg, Generator* gen)
    : Module("SoftmaxAttention"), config(cfg) {
  resolve_widths("SoftmaxAttention", config.d_input, config.d_model, config.d_output, config.n_heads);
  register_projections(*this, gen);
}

Tensor SoftmaxAttention::forward(const Tensor& x, const Tensor& key_padding_mask) const {
  return forward(x, x, x, key_padding_mask);
}

Tensor SoftmaxAttention::forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                                 const Tensor& key_padding_mask) const {
  check_inputs("SoftmaxAttention", queries, keys, values, config.d_input);
  const int64_t H = config.n_heads;
  Tensor q = detail::split_heads(query_projection->forward(queries), H);  // [B, H, L, dh]
  Tensor k = detail::split_heads(key_projection->forward(keys), H);       // [B, H, S, dh]
  Tensor v = detail::split_heads(value_projection->forward(values), H);   // [B, H, S, dh]
  Tensor y = scaled_dot_product_attention(q, k, v, config.causal, key_padding_mask);  // [B, H, L, dh]
  return dropout->forward(out_projection->forward(detail::merge_heads(y)));
}

}  // namespace cfx::nn
