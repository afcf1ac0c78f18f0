// FlowformerLM weights under fairseq's transformer_lm names (apps/lm/fairseq_keys.h): every key
// maps, the fairseq names are exactly transformer_lm's, the mapping round-trips through files
// with `conflux-lm convert`, and keys outside it are errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "app_testing.h"
#include "apps/lm/fairseq_keys.h"
#include "apps/lm/lm.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "nn/checkpoint.h"
#include "ops/creation.h"
#include "ops/reduce.h"

using namespace cfx;
namespace fs = std::filesystem;

namespace {

nn::FlowformerLMConfig small_lm() {
  nn::FlowformerLMConfig c;
  c.vocab_size = 40;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_ff = 32;
  c.n_layers = 6;  // the paper's depth
  c.max_len = 12;
  return c;
}

}  // namespace

TEST_CASE("fairseq keys: FlowformerLM's state dict is fairseq transformer_lm's, name for name") {
  nn::FlowformerLM model(small_lm());
  const nn::StateDict fairseq = lm::to_fairseq(model.state_dict());
  std::set<std::string> got, expected{"decoder.embed_tokens.weight", "decoder.output_projection.weight",
                                      "decoder.layer_norm.weight", "decoder.layer_norm.bias"};
  for (const auto& [key, t] : fairseq) got.insert(key);
  // fairseq TransformerDecoderLayer (pre-LN, --decoder-normalize-before), as saved by transformer_lm
  for (int i = 0; i < 6; ++i)
    for (const char* m : {"self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj", "self_attn.out_proj",
                          "self_attn_layer_norm", "fc1", "fc2", "final_layer_norm"})
      for (const char* p : {"weight", "bias"}) expected.insert("decoder.layers." + std::to_string(i) + "." + m + "." + p);
  CHECK(got == expected);
  CHECK(fairseq.size() == expected.size());  // no name twice

  // Back again, with fairseq's weightless buffers in the dict: the same tensors under our names.
  nn::StateDict with_buffers = fairseq;
  with_buffers.emplace_back("decoder.embed_positions._float_tensor", zeros({1}));
  with_buffers.emplace_back("decoder.version", full({1}, 3.0));
  const nn::StateDict back = lm::from_fairseq(with_buffers);
  const nn::StateDict original = model.state_dict();
  REQUIRE(back.size() == original.size());
  for (const auto& [key, t] : original) {
    const auto it = std::find_if(back.begin(), back.end(), [&](const auto& kv) { return kv.first == key; });
    REQUIRE_MESSAGE(it != back.end(), "missing ", key);
    CHECK(it->second.raw_data() == t.raw_data());  // the same tensor, renamed
  }
}

TEST_CASE("fairseq keys: conflux-lm convert to fairseq and back loads into a fresh model with the same outputs") {
  testing::TempDir tmp("lm_fairseq");
  Generator gen(3);
  nn::FlowformerLM model(small_lm(), &gen);
  nn::save(model, tmp.path / "ours.h5");
  REQUIRE(lm::run({"convert", "--checkpoint", (tmp.path / "ours.h5").string(), "--to", "fairseq", "--file",
                   (tmp.path / "fairseq.h5").string()}) == 0);
  const nn::StateDict fairseq = nn::load_tensors(tmp.path / "fairseq.h5");
  CHECK(std::any_of(fairseq.begin(), fairseq.end(), [](const auto& kv) { return kv.first == "decoder.layers.5.fc2.bias"; }));
  REQUIRE(lm::run({"convert", "--checkpoint", (tmp.path / "fairseq.h5").string(), "--to", "conflux", "--file",
                   (tmp.path / "back.h5").string()}) == 0);
  nn::FlowformerLM fresh(small_lm());
  nn::load(fresh, tmp.path / "back.h5");
  model.eval();
  fresh.eval();
  NoGradGuard no_grad;
  const Tensor tokens = randint(4, 40, {2, 12}, {kInt64}, &gen);
  CHECK(max((model.forward(tokens) - fresh.forward(tokens)).abs()).item<double>() == 0.0);
}

TEST_CASE("fairseq keys: keys outside the mapping and an untied output projection are errors") {
  CHECK_THROWS_WITH_AS(lm::to_fairseq_key("layers.0.attn.rotary.weight"), doctest::Contains("not a FlowformerLM key"), Error);
  CHECK_THROWS_WITH_AS(lm::from_fairseq_key("decoder.embed_positions.weight"),
                       doctest::Contains("learned positions or an adaptive softmax"), Error);
  nn::FlowformerLM model(small_lm());
  nn::StateDict fairseq = lm::to_fairseq(model.state_dict(), /*tied=*/false);
  fairseq.emplace_back("decoder.output_projection.weight", zeros({40, 16}));
  CHECK_THROWS_WITH_AS(lm::from_fairseq(fairseq), doctest::Contains("differs from decoder.embed_tokens.weight"), Error);
  CHECK_THROWS_WITH_AS(lm::run({"convert", "--checkpoint", "x.h5", "--to", "onnx", "--file", "y.h5"}),
                       doctest::Contains("--to takes fairseq or conflux"), Error);
}
