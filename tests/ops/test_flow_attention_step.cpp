// flow_attention_step, the recurrent causal Flow-Attention: stepping a sequence through in
// chunks of any sizes reproduces the full causal forward (float64 1e-12, float32 1e-5) and the
// official equations (the composite oracle), for every causal variant; the state's size does
// not grow with the position; bad inputs and states are refused with what was expected.
#include "ops/flow_attention_reference.h"
#include "flow_attention_cases.h"
#include "testing.h"

using namespace cfx;
using cfx::testing::flow_attention_reference;
using cfx::testing::max_abs_diff;
using cfx::testing::rand64;
using cfx::testing::with;
using FA = FlowAttentionOptions;

namespace {

struct CausalVariant {
  const char* name;
  FA opts;
};

std::vector<CausalVariant> causal_variants() {
  return {
      {"clamp 1 (core, causal)", with(FA::core(), [](FA& o) { o.causal = true; })},
      {"clamp 5 (nlp)", FA::nlp()},
      {"clamp 10 (rl)", FA::rl()},
      {"no clamp", with(FA::nlp(), [](FA& o) { o.clamp = std::nullopt; })},
      {"relu+eps map, clamp 5", with(FA::nlp(), [](FA& o) { o.feature_map = FA::FeatureMap::ReluEps; })},
      {"eps after dot (cv), eps 0.1", with(FA::nlp(), [](FA& o) {
         o.eps_after_dot = true;
         o.eps = 0.1; })},
  };
}

// y of flow_attention_step over [0, L) in consecutive chunks of the given sizes (cycled).
Tensor stepped(const Tensor& q, const Tensor& k, const Tensor& v, const FA& opts, const std::vector<int64_t>& chunks,
               FlowAttentionStepState* out_state = nullptr) {
  NoGradGuard no_grad;
  const int64_t L = q.size(2);
  auto state = FlowAttentionStepState::zeros(q.size(0), q.size(1), q.size(3), v.size(3), q.dtype());
  std::vector<Tensor> ys;
  for (int64_t start = 0, c = 0; start < L; ++c) {
    const int64_t len = std::min(chunks[c % chunks.size()], L - start);
    ys.push_back(flow_attention_step(q.narrow(2, start, len), k.narrow(2, start, len), v.narrow(2, start, len),
                                     state, opts));
    start += len;
  }
  CHECK(state.position == L);
  if (out_state) *out_state = state;
  return cat(ys, 2);
}

double max_abs(const Tensor& t) { return max_abs_diff(t, zeros_like(t)); }

}  // namespace

TEST_CASE("flow_attention_step == the full causal forward, every causal variant, any chunking") {
  // L = 70 crosses the full forward's 32-row scan chunks; B*H = 6 heads with D != M.
  const int64_t B = 2, H = 3, L = 70, D = 5, M = 4;
  const Tensor q = rand64({B, H, L, D}, 11, -2, 2).detach(), k = rand64({B, H, L, D}, 12, -2, 2).detach();
  const Tensor v = rand64({B, H, L, M}, 13, -1, 1).detach();
  for (const auto& variant : causal_variants()) {
    const std::string name = variant.name;
    CAPTURE(name);
    const Tensor full = flow_attention(q, k, v, variant.opts);
    const Tensor official = flow_attention_reference(q, k, v, variant.opts);
    const double scale = 1 + max_abs(full);
    for (const std::vector<int64_t>& chunks :
         std::vector<std::vector<int64_t>>{{1}, {70}, {3, 1, 16, 33}, {32, 7}}) {
      CAPTURE(chunks.size());
      CAPTURE(chunks[0]);
      const Tensor y = stepped(q, k, v, variant.opts, chunks);
      CHECK(max_abs_diff(y, full) <= 1e-12 * scale);
      CHECK(max_abs_diff(y, official) <= 1e-12 * scale);
    }
    // float32, token by token, against the float64 forward.
    const Tensor y32 = stepped(q.to(kFloat32), k.to(kFloat32), v.to(kFloat32), variant.opts, {1}).to(kFloat64);
    CHECK(max_abs_diff(y32, full) <= 1e-5 * scale);
    const Tensor full32 = flow_attention(q.to(kFloat32), k.to(kFloat32), v.to(kFloat32), variant.opts).to(kFloat64);
    CHECK(max_abs_diff(y32, full32) <= 1e-5 * scale);
  }
}

TEST_CASE("flow_attention_step: the state after a prefix equals the full forward's prefix sums") {
  const int64_t B = 1, H = 2, L = 9, D = 3, M = 2;
  const Tensor q = rand64({B, H, L, D}, 21, -2, 2).detach(), k = rand64({B, H, L, D}, 22, -2, 2).detach();
  const Tensor v = rand64({B, H, L, M}, 23, -1, 1).detach();
  FlowAttentionStepState state;
  stepped(q, k, v, FA::nlp(), {4, 5}, &state);
  // K~ and Q~ are plain sums of the feature maps over all L tokens.
  CHECK(max_abs_diff(state.key_sum, sigmoid(k).sum({2})) < 1e-13);
  CHECK(max_abs_diff(state.query_sum, sigmoid(q).sum({2})) < 1e-13);
  // Same bytes at position 9 as at position 0: 4 D + 1 + D M numbers per head.
  const auto fresh = FlowAttentionStepState::zeros(B, H, D, M, kFloat64);
  CHECK(state.bytes() == fresh.bytes());
  CHECK(state.bytes() == B * H * (4 * D + 1 + D * M) * 8);
}

TEST_CASE("flow_attention_step: a batch row's outputs do not depend on the other rows") {
  const int64_t H = 2, L = 12, D = 4, M = 3;
  const Tensor q = rand64({3, H, L, D}, 31, -2, 2).detach(), k = rand64({3, H, L, D}, 32, -2, 2).detach();
  const Tensor v = rand64({3, H, L, M}, 33, -1, 1).detach();
  const Tensor all = stepped(q, k, v, FA::nlp(), {5});
  const Tensor one = stepped(q.narrow(0, 1, 1), k.narrow(0, 1, 1), v.narrow(0, 1, 1), FA::nlp(), {5});
  CHECK(max_abs_diff(all.narrow(0, 1, 1), one) == 0.0);
}

TEST_CASE("flow_attention_step: bad options, inputs and states are refused") {
  NoGradGuard no_grad;
  const Tensor q = ones({1, 2, 3, 4}), v = ones({1, 2, 3, 5});
  auto state = FlowAttentionStepState::zeros(1, 2, 4, 5);
  CHECK_THROWS_WITH_AS(flow_attention_step(q, q, v, state, FA::core()), doctest::Contains("causal options"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(flow_attention_step(q, q, ones({1, 2, 4, 5}), state, FA::nlp()),
                       doctest::Contains("same B, H, T"), cfx::Error);
  CHECK_THROWS_WITH_AS(flow_attention_step(ones({2, 3, 4}), q, v, state, FA::nlp()),
                       doctest::Contains("expected q [B,H,T,D]"), cfx::Error);
  auto wrong = FlowAttentionStepState::zeros(1, 2, 4, 6);
  CHECK_THROWS_WITH_AS(flow_attention_step(q, q, v, wrong, FA::nlp()), doctest::Contains("state.kv is [1, 2, 4, 6]"),
                       cfx::Error);
  auto f64 = FlowAttentionStepState::zeros(1, 2, 4, 5, kFloat64);
  CHECK_THROWS_WITH_AS(flow_attention_step(q, q, v, f64, FA::nlp()), doctest::Contains("state.key_sum is float64"),
                       cfx::Error);
  FlowAttentionStepState empty;
  CHECK_THROWS_WITH_AS(flow_attention_step(q, q, v, empty, FA::nlp()), doctest::Contains("undefined"), cfx::Error);
  CHECK(state.position == 0);  // nothing was consumed by the refused calls
}

TEST_CASE("flow_attention_step is inference-only: inputs that require grad are an error under grad mode") {
  const Tensor q = ones({1, 1, 2, 3}).requires_grad_(), v = ones({1, 1, 2, 3});
  auto state = FlowAttentionStepState::zeros(1, 1, 3, 3);
  CHECK_THROWS_WITH_AS(flow_attention_step(q, q, v, state, FA::nlp()), doctest::Contains("inference only"),
                       cfx::Error);
  NoGradGuard no_grad;
  CHECK(flow_attention_step(q, q, v, state, FA::nlp()).shape() == Shape{1, 1, 2, 3});
}
