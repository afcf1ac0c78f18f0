// The Flow-Attention variants both op suites run (tests/ops/test_flow_attention.cpp against the
// composite oracle, tests/cuda/test_cuda_flow_attention.cpp against the CPU): every option of
// FlowAttentionOptions on small shapes, plus the helpers that build them.
#pragma once

#include <vector>

#include "conflux/conflux.h"

namespace cfx::testing {

struct FlowCase {
  const char* name;
  int64_t B, H, L, S, D, M;
  FlowAttentionOptions opts;
};

// A copy of `o` with `edit` applied: with(FA::core(), [](FA& o) { o.causal = true; }).
inline FlowAttentionOptions with(FlowAttentionOptions o, auto&& edit) {
  edit(o);
  return o;
}

// [B, S] bool, true on the padded keys: row b keeps its first valid_lengths[b] keys.
inline Tensor make_mask(int64_t B, int64_t S, const std::vector<int64_t>& valid_lengths) {
  std::vector<uint8_t> m(B * S, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = valid_lengths[b]; s < S; ++s) m[b * S + s] = 1;
  return tensor(m, {B, S}).to(kBool);
}

inline std::vector<FlowCase> flow_variant_cases() {
  using FA = FlowAttentionOptions;
  return {
      {"core L==S", 2, 3, 6, 6, 4, 3, FA::core()},
      {"core L<S", 1, 2, 4, 7, 3, 5, FA::core()},
      {"core L>S", 1, 2, 7, 4, 3, 2, FA::core()},
      {"vision (cv): + eps after each dot", 2, 3, 6, 6, 4, 3, FA::vision()},
      // eps = 0.1 makes the CV offsets O(1), so a kernel that drops one shows far above tolerance.
      {"vision, eps 0.1, L<S", 1, 2, 4, 7, 3, 5, with(FA::vision(), [](FA& o) { o.eps = 0.1; })},
      {"no clamp (time series)", 2, 2, 5, 5, 4, 3, FA::time_series()},
      {"clamp 5 non-causal", 1, 2, 5, 6, 4, 3, with(FA::core(), [](FA& o) { o.clamp = 5.0; })},
      {"lra: relu+eps, heads competition", 2, 3, 5, 5, 4, 3, FA::lra()},
      {"relu map, sequence competition", 1, 2, 5, 6, 3, 3, with(FA::time_series(), [](FA& o) {
         o.feature_map = FA::FeatureMap::ReluEps; })},
      {"causal core (clamp 1)", 2, 2, 7, 7, 4, 3, with(FA::core(), [](FA& o) { o.causal = true; })},
      {"causal nlp (clamp 5)", 1, 3, 6, 6, 3, 4, FA::nlp()},
      {"causal rl (clamp 10)", 1, 2, 9, 9, 2, 3, FA::rl()},
      {"causal no clamp", 1, 2, 5, 5, 4, 4, with(FA::nlp(), [](FA& o) { o.clamp = std::nullopt; })},
      {"causal, eps after dot (cv), eps 0.1", 1, 2, 6, 6, 3, 4, with(FA::nlp(), [](FA& o) {
         o.eps_after_dot = true;
         o.eps = 0.1; })},
      {"mask", 2, 2, 5, 6, 3, 3, with(FA::core(), [](FA& o) { o.key_padding_mask = make_mask(2, 6, {4, 6}); })},
      {"mask, lra", 2, 3, 5, 5, 3, 2, with(FA::lra(), [](FA& o) { o.key_padding_mask = make_mask(2, 5, {3, 5}); })},
      {"mask, vision, eps 0.1", 2, 2, 5, 6, 3, 3, with(FA::vision(), [](FA& o) {
         o.eps = 0.1;
         o.key_padding_mask = make_mask(2, 6, {4, 6}); })},
  };
}

}  // namespace cfx::testing
