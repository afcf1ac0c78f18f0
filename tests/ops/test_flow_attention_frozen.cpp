// The fused Flow-Attention kernels against frozen outputs and gradients of the official
// PyTorch equations (tests/ops/reference/flow_attention_official.h5, written by
// make_flow_reference.py beside it): normal (S = L and S != L), no clamp, causal clamp 5 and
// 10, vision (+eps after each dot), LRA (relu map, competition over heads; the JAX code
// transcribed to PyTorch), float64, under every CPU capability (the ops suite runs once per path). The composite
// oracle (flow_attention_reference.h) checks the same equations written with our own ops;
// this file checks them against numbers PyTorch produced.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "nn/checkpoint.h"
#include "ops/flow_attention.h"
#include "testing.h"

using namespace cfx;

TEST_CASE("flow_attention == the official PyTorch code's frozen outputs and gradients (float64)") {
  const auto file = std::filesystem::path(CONFLUX_SOURCE_DIR) / "tests/ops/reference/flow_attention_official.h5";
  std::map<std::string, Tensor> t;
  for (auto& [key, value] : nn::load_tensors(file)) t[key] = value;
  const std::map<std::string, FlowAttentionOptions> cases = {
      {"core", FlowAttentionOptions::core()}, {"core_cross", FlowAttentionOptions::core()},
      {"time_series", FlowAttentionOptions::time_series()}, {"nlp", FlowAttentionOptions::nlp()},
      {"rl", FlowAttentionOptions::rl()}, {"vision", FlowAttentionOptions::vision()},
      {"lra", FlowAttentionOptions::lra()}};
  for (const auto& [name, opts] : cases) {
    CAPTURE(name);
    REQUIRE_MESSAGE(t.count(name + "/q"), "no case ", name, " in ", file.string());
    Tensor q = t.at(name + "/q").detach().requires_grad_();
    Tensor k = t.at(name + "/k").detach().requires_grad_();
    Tensor v = t.at(name + "/v").detach().requires_grad_();
    REQUIRE(q.dtype() == kFloat64);
    const Tensor y = flow_attention(q, k, v, opts);
    y.backward(t.at(name + "/grad_y"));
    CHECK(testing::max_abs_diff(y, t.at(name + "/y")) < 1e-12);
    CHECK(testing::max_abs_diff(q.grad(), t.at(name + "/grad_q")) < 1e-10);
    CHECK(testing::max_abs_diff(k.grad(), t.at(name + "/grad_k")) < 1e-10);
    CHECK(testing::max_abs_diff(v.grad(), t.at(name + "/grad_v")) < 1e-10);
  }
}
