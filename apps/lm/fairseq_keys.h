// Moving FlowformerLM weights to and from fairseq's transformer_lm (the paper's code is
// fairseq with its MultiheadAttention replaced by Flowformer_NLP/flow_attention.py, which
// keeps fairseq's q_proj/k_proj/v_proj/out_proj). The mapping, layer i:
//
//   Conflux (FlowformerLM::state_dict)        fairseq (TransformerLanguageModel.state_dict)
//   embed_tokens.weight                       decoder.embed_tokens.weight
//                                             (+ decoder.output_projection.weight, the same tensor when tied)
//   layers.i.attn.query_projection.*          decoder.layers.i.self_attn.q_proj.*
//   layers.i.attn.key_projection.*            decoder.layers.i.self_attn.k_proj.*
//   layers.i.attn.value_projection.*          decoder.layers.i.self_attn.v_proj.*
//   layers.i.attn.out_projection.*            decoder.layers.i.self_attn.out_proj.*
//   layers.i.norm1.*                          decoder.layers.i.self_attn_layer_norm.*
//   layers.i.mlp.fc1.* / mlp.fc2.*            decoder.layers.i.fc1.* / fc2.*
//   layers.i.norm2.*                          decoder.layers.i.final_layer_norm.*
//   layer_norm.*                              decoder.layer_norm.*
//   (no weights)                              decoder.embed_positions._float_tensor, decoder.version
//
// fairseq checkpoints are torch pickles; apps/lm/fairseq_checkpoint.py moves their "model"
// dict to and from HDF5 (one dataset per key), which these functions and
// `conflux-lm convert` read and write.
#pragma once

#include <string>

#include "nn/module.h"

namespace cfx::lm {

// The fairseq name of a Conflux key; throws for a key outside the mapping.
std::string to_fairseq_key(const std::string& key);
// The Conflux name of a fairseq key; "" for keys that carry no weights of ours (positions
// buffer, version, the tied output projection). Throws for a key outside the mapping.
std::string from_fairseq_key(const std::string& key);

// A Conflux state dict under fairseq's names (with decoder.output_projection.weight when
// `tied`, as fairseq >= 0.10 saves it).
nn::StateDict to_fairseq(const nn::StateDict& conflux, bool tied = true);
// A fairseq state dict under Conflux's names; a tied output projection must equal the
// embedding (it is the same parameter in fairseq), else this throws naming both keys.
nn::StateDict from_fairseq(const nn::StateDict& fairseq);

}  // namespace cfx::lm
