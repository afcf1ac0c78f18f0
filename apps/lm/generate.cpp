// conflux-lm generate: continues a prompt token by token, greedy or sampled (temperature,
// top-k, top-p), seeded. --decode state (the default) feeds the prompt once and then one token
// at a time through FlowformerLM::decode, which carries causal Flow-Attention's running state:
// every token costs the same, whatever its position. --decode rerun runs the model over the
// whole prefix for every token (O(position) each), the only way for softmax attention; both
// give the same distributions (tests/apps/test_lm_app.cpp). Positions run from the start of the
// stream; those past the training blocks' tokens_per_sample are sinusoids the model never saw
// in training (fairseq's generator stops at max_target_positions instead).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "apps/lm/lm.h"
#include "autograd/grad_mode.h"
#include "core/parallel.h"
#include "data/detail/rng.h"
#include "nn/checkpoint.h"
#include "ops/creation.h"
#include "ops/linalg.h"

namespace cfx::lm {

namespace fs = std::filesystem;
using data::lm::Dictionary;

namespace {

// The next id from the last position's logits [V]: never <s> or <pad>.
int32_t pick(std::vector<double> logits, const LmConfig& cfg, data::detail::Rng& rng) {
  logits[Dictionary::kBos] = logits[Dictionary::kPad] = -INFINITY;
  if (cfg.temperature == 0) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  const size_t k = cfg.top_k > 0 ? std::min<size_t>(static_cast<size_t>(cfg.top_k), order.size()) : order.size();
  std::vector<double> p(k);
  double total = 0;
  for (size_t i = 0; i < k; ++i) total += p[i] = std::exp((logits[order[i]] - logits[order[0]]) / cfg.temperature);
  size_t keep = k;  // top-p: the smallest prefix whose probability reaches p
  if (cfg.top_p < 1) {
    double run = 0;
    for (keep = 0; keep < k;) {
      run += p[keep++] / total;
      if (run >= cfg.top_p) break;
    }
  }
  double mass = 0;
  for (size_t i = 0; i < keep; ++i) mass += p[i];
  double u = rng.uniform() * mass;
  for (size_t i = 0; i < keep; ++i)
    if ((u -= p[i]) < 0) return order[i];
  return order[keep - 1];
}

}  // namespace

std::string generate(const LmConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const fs::path file = cfg.checkpoint.empty() ? fs::path(cfg.out_dir) / "best.h5" : fs::path(cfg.checkpoint);
  CFX_CHECK(fs::exists(file), "conflux-lm generate: no checkpoint ", file.string(),
            "\nHINT: pass --out RUN_DIR of a training run, or --checkpoint FILE");
  const fs::path dict_file = fs::path(cfg.data_dir) / "dict.txt";
  CFX_CHECK(fs::exists(dict_file), "conflux-lm generate: no ", dict_file.string());
  const Dictionary dict = Dictionary::load(dict_file);
  std::vector<int32_t> ids = dict.encode_line(cfg.prompt);  // words, then </s>
  ids.pop_back();
  ids.insert(ids.begin(), Dictionary::kEos);  // fairseq's streams start after a </s>
  const size_t prompt = ids.size();

  nn::FlowformerLMConfig mc = model_config(cfg, dict.size());
  mc.max_len = std::max<int64_t>(mc.max_len, static_cast<int64_t>(prompt) + cfg.gen_tokens);  // positions: not saved
  nn::FlowformerLM model(mc);
  nn::load(model, file);
  const Device device = Device::parse(cfg.device);
  model.to(device);
  model.eval();
  NoGradGuard no_grad;

  auto as_tokens = [&](auto begin, auto end) {
    return tensor(std::vector<int64_t>(begin, end), {1, static_cast<int64_t>(end - begin)}).to(device);
  };
  nn::FlowformerLM::DecodeState state;
  if (cfg.decode == "state") state = model.initial_decode_state(1);
  Generator gen(static_cast<uint64_t>(cfg.seed));
  data::detail::Rng rng(gen);
  for (int64_t n = 0; n < cfg.gen_tokens; ++n) {
    // state: the tokens the state has not seen (the prompt, then the last pick); rerun: all.
    const Tensor features = cfg.decode == "state"
                                ? model.decode(as_tokens(ids.begin() + state.position, ids.end()), state)
                                : model.features(as_tokens(ids.begin(), ids.end()));
    const Tensor last = features.select(1, features.size(1) - 1);  // [1, D]
    const Tensor logits = matmul(last, model.output_weight().t()).reshape({-1}).to(kFloat64).to(Device::cpu());
    ids.push_back(pick(to_vector<double>(logits), cfg, rng));
  }
  const std::string context = dict.decode(std::vector<int32_t>(ids.begin() + 1, ids.begin() + static_cast<std::ptrdiff_t>(prompt)));
  const std::string continuation = dict.decode(std::vector<int32_t>(ids.begin() + static_cast<std::ptrdiff_t>(prompt), ids.end()));
  return context + (context.empty() ? "" : " ") + "[" + continuation + "]";
}

}  // namespace cfx::lm
