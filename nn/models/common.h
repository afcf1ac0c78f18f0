// What the model families of nn/models/ share, written once: the stack of encoder layers, the
// causal layer of the LM and the Decision Transformer, the LRA init (FlowformerClassifier and
// FlowformerDualEncoder) and a name test for the init rules. Internals (namespace detail): a
// model's public surface is its own header.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>

#include "nn/transformer.h"

namespace cfx::nn::detail {

bool ends_with(const std::string& s, const std::string& suffix);

// n layers built in order from one config (keys layers.0.*, layers.1.*, ...).
std::shared_ptr<ModuleList<TransformerEncoderLayer>> make_layers(int64_t n, const TransformerEncoderLayerConfig& cfg,
                                                                 Generator* gen);

// The causal pre-LN ReLU layer of FlowformerLM (fairseq transformer_lm) and DecisionTransformer
// (the GPT-2 body): `dropout` after the attention and MLP projections only (GPT-2 resid_pdrop).
TransformerEncoderLayerConfig causal_layer(int64_t d_model, int64_t n_heads, int64_t d_ff, AttentionKind attention,
                                           const FlowAttentionOptions& flow, double dropout);

// LRA init (BENCHMARKS §1.1): xavier_uniform attention/MLP weights and MLP biases N(0, 1e-6) in
// `layers`, then each head Linear (null ones skipped) flax lecun_normal with zero bias, drawn in
// the order given.
void init_lra(ModuleList<TransformerEncoderLayer>& layers, std::initializer_list<std::shared_ptr<Linear>> heads,
              Generator* gen);

}  // namespace cfx::nn::detail
