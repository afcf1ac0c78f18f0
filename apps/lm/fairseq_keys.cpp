#include "apps/lm/fairseq_keys.h"

#include <regex>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ops/reduce.h"

namespace cfx::lm {

namespace {

// (Conflux pattern, fairseq pattern) of the per-layer names; $1 = layer, $2 = weight|bias.
const std::vector<std::pair<std::string, std::string>>& layer_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"attn.query_projection", "self_attn.q_proj"}, {"attn.key_projection", "self_attn.k_proj"},
      {"attn.value_projection", "self_attn.v_proj"}, {"attn.out_projection", "self_attn.out_proj"},
      {"norm1", "self_attn_layer_norm"},             {"mlp.fc1", "fc1"},
      {"mlp.fc2", "fc2"},                            {"norm2", "final_layer_norm"},
  };
  return names;
}

const std::regex kLayerKey(R"(layers\.(\d+)\.(.+)\.(weight|bias))");
const std::regex kFairseqLayerKey(R"(decoder\.layers\.(\d+)\.(.+)\.(weight|bias))");

}  // namespace

std::string to_fairseq_key(const std::string& key) {
  if (key == "embed_tokens.weight") return "decoder.embed_tokens.weight";
  if (key == "layer_norm.weight" || key == "layer_norm.bias") return "decoder." + key;
  std::smatch m;
  if (std::regex_match(key, m, kLayerKey))
    for (const auto& [ours, theirs] : layer_names())
      if (m[2] == ours) return "decoder.layers." + m[1].str() + "." + theirs + "." + m[3].str();
  CFX_FAIL("to_fairseq_key: '", key, "' is not a FlowformerLM key (apps/lm/fairseq_keys.h lists the mapping)");
}

std::string from_fairseq_key(const std::string& key) {
  if (key == "decoder.embed_positions._float_tensor" || key == "decoder.version" ||
      key == "decoder.output_projection.weight")
    return "";
  if (key == "decoder.embed_tokens.weight") return "embed_tokens.weight";
  if (key == "decoder.layer_norm.weight" || key == "decoder.layer_norm.bias") return key.substr(8);
  std::smatch m;
  if (std::regex_match(key, m, kFairseqLayerKey))
    for (const auto& [ours, theirs] : layer_names())
      if (m[2] == theirs) return "layers." + m[1].str() + "." + ours + "." + m[3].str();
  CFX_FAIL("from_fairseq_key: '", key, "' is not a transformer_lm key this model has (apps/lm/fairseq_keys.h lists "
           "the mapping; a model with learned positions or an adaptive softmax does not map)");
}

nn::StateDict to_fairseq(const nn::StateDict& conflux, bool tied) {
  nn::StateDict out;
  for (const auto& [key, t] : conflux) {
    out.emplace_back(to_fairseq_key(key), t);
    if (tied && key == "embed_tokens.weight") out.emplace_back("decoder.output_projection.weight", t);
  }
  return out;
}

nn::StateDict from_fairseq(const nn::StateDict& fairseq) {
  nn::StateDict out;
  const Tensor* embedding = nullptr;
  const Tensor* output = nullptr;
  for (const auto& [key, t] : fairseq) {
    if (key == "decoder.embed_tokens.weight") embedding = &t;
    if (key == "decoder.output_projection.weight") output = &t;
    const std::string ours = from_fairseq_key(key);
    if (!ours.empty()) out.emplace_back(ours, t);
  }
  if (embedding && output)
    CFX_CHECK(output->shape() == embedding->shape() && max((*output - *embedding).abs()).item<double>() == 0.0,
              "from_fairseq: decoder.output_projection.weight differs from decoder.embed_tokens.weight; FlowformerLM "
              "ties them (--share-decoder-input-output-embed)");
  return out;
}

}  // namespace cfx::lm
