// conflux-lm generate: continues a prompt token by token, greedy or sampled (temperature,
// top-k, top-p), seeded. Each new token re-runs the model over the last T tokens (at most
// tokens_per_sample), so a token costs O(T); stepping the causal Flow-Attention state instead
// (constant time per token) is not written yet.
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
  nn::FlowformerLM model(model_config(cfg, dict.size()));
  nn::load(model, file);
  const Device device = Device::parse(cfg.device);
  model.to(device);
  model.eval();
  NoGradGuard no_grad;

  std::vector<int32_t> ids = dict.encode_line(cfg.prompt);  // words, then </s>
  ids.pop_back();
  ids.insert(ids.begin(), Dictionary::kEos);  // fairseq's streams start after a </s>
  Generator gen(static_cast<uint64_t>(cfg.seed));
  data::detail::Rng rng(gen);
  const size_t prompt = ids.size();
  for (int64_t n = 0; n < cfg.gen_tokens; ++n) {
    const size_t T = std::min(ids.size(), static_cast<size_t>(cfg.tokens_per_sample));
    const std::vector<int64_t> window(ids.end() - static_cast<std::ptrdiff_t>(T), ids.end());
    const Tensor tokens = tensor(window, {1, static_cast<int64_t>(T)}).to(device);
    const Tensor last = model.features(tokens).select(1, static_cast<int64_t>(T) - 1);  // [1, D]
    const Tensor logits = matmul(last, model.output_weight().t()).reshape({-1}).to(kFloat64).to(Device::cpu());
    ids.push_back(pick(to_vector<double>(logits), cfg, rng));
  }
  const std::string context = dict.decode(std::vector<int32_t>(ids.begin() + 1, ids.begin() + static_cast<std::ptrdiff_t>(prompt)));
  const std::string continuation = dict.decode(std::vector<int32_t>(ids.begin() + static_cast<std::ptrdiff_t>(prompt), ids.end()));
  return context + (context.empty() ? "" : " ") + "[" + continuation + "]";
}

}  // namespace cfx::lm
