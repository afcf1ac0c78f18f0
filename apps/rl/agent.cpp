#include "apps/rl/agent.h"

#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "nn/checkpoint.h"
#include "ops/creation.h"
#include "ops/reduce.h"

namespace cfx::rl {

namespace fs = std::filesystem;

nn::DecisionTransformerConfig model_config(const RlConfig& cfg) {
  const TaskRules& rules = task_rules(parse_task(cfg.env));
  nn::DecisionTransformerConfig m;
  m.state_dim = rules.obs_dim;
  m.act_dim = rules.act_dim;
  m.hidden = cfg.hidden;
  m.n_layers = cfg.layers;
  m.n_heads = cfg.heads;
  m.d_ff = cfg.d_ff;
  m.max_ep_len = cfg.max_ep_len;
  m.dropout = cfg.dropout;
  m.attention = cfg.attention == "softmax" ? nn::AttentionKind::Softmax : nn::AttentionKind::Flow;
  return m;
}

void save_normalizer(const StateNormalizer& norm, const fs::path& file) {
  const auto n = static_cast<int64_t>(norm.mean.size());
  nn::save_tensors({{"state_mean", tensor(norm.mean, {n})}, {"state_std", tensor(norm.std, {n})}}, file);
}

StateNormalizer load_normalizer(const fs::path& file) {
  CFX_CHECK(fs::exists(file), "conflux-rl: no state normaliser ", file.string(),
            "\nHINT: it is written by conflux-rl train next to the checkpoints of the run");
  StateNormalizer norm;
  for (const auto& [key, t] : nn::load_tensors(file)) {
    if (key == "state_mean") norm.mean = to_vector<float>(t.to(kFloat32));
    if (key == "state_std") norm.std = to_vector<float>(t.to(kFloat32));
  }
  CFX_CHECK(!norm.mean.empty() && norm.mean.size() == norm.std.size(), "conflux-rl: ", file.string(),
            " needs state_mean and state_std of the same length");
  return norm;
}

Agent load_agent(const RlConfig& cfg) {
  const fs::path file = cfg.checkpoint.empty() ? fs::path(cfg.out_dir) / "best.h5" : fs::path(cfg.checkpoint);
  CFX_CHECK(fs::exists(file), "conflux-rl: no checkpoint ", file.string(),
            "\nHINT: pass --out RUN_DIR of a training run, or --checkpoint FILE");
  Agent agent;
  agent.model = std::make_unique<nn::DecisionTransformer>(model_config(cfg));
  nn::load(*agent.model, file);
  agent.model->to(Device::parse(cfg.device));
  agent.model->eval();
  agent.normalizer = load_normalizer(fs::path(cfg.out_dir) / "normalizer.h5");
  return agent;
}

Tensor masked_action_mse(const Tensor& predicted, const Tensor& target, const Tensor& mask, int64_t real_steps) {
  CFX_CHECK(real_steps > 0, "masked_action_mse: the batch has no real step");
  const Tensor diff = predicted - target;
  const Tensor per_step = sum(diff * diff, {2});  // [B, K]
  return sum(per_step * mask) * (1.0 / static_cast<double>(real_steps * predicted.size(2)));
}

std::string target_split(double target) { return fmt::format("target_{:g}", target); }

double figure(const app::EvalResult& r, const std::string& name) {
  for (const auto& [key, value] : r.extra)
    if (key == name) return value;
  CFX_FAIL("conflux-rl: the evaluation '", r.split, "' has no figure '", name, "'");
}

std::string score_table(const std::string& task, const std::vector<app::EvalResult>& results, const std::string& paper) {
  app::Table table({"task", "target", "score (x100)", "return", "episode length", "episodes", "paper (Flowformer)"});
  for (const app::EvalResult& r : results)
    table.add_row({task, r.split.substr(r.split.find('_') + 1),
                   fmt::format("{:.1f} ± {:.1f}", figure(r, "score"), figure(r, "score_std")),
                   fmt::format("{:.0f} ± {:.0f}", figure(r, "return"), figure(r, "return_std")),
                   fmt::format("{:.0f}", figure(r, "length")), std::to_string(r.examples), paper.empty() ? "-" : paper});
  return table.str();
}

std::vector<app::EvalResult> evaluate_targets(nn::DecisionTransformer& model, const StateNormalizer& norm,
                                              const RlConfig& cfg, int64_t episodes) {
  const bool was_training = model.is_training();
  model.eval();  // dropout off; restored below
  std::vector<app::EvalResult> results;
  for (double target : eval_targets(cfg)) {
    EnvBatch envs(parse_task(cfg.env), episodes, episode_seed(cfg));
    DtPolicy policy(model, norm, {.target_return = target, .return_scale = cfg.return_scale, .context = cfg.context,
                                  .device = Device::parse(cfg.device)});
    const RolloutResult r = rollout(envs, policy);
    app::EvalResult e{target_split(target)};
    e.has_loss = false;
    e.examples = episodes;
    e.extra = {{"score", r.mean_score}, {"score_std", r.std_score}, {"return", r.mean_return},
               {"return_std", r.std_return}, {"length", r.mean_length}};
    results.push_back(e);
  }
  model.train(was_training);
  return results;
}

}  // namespace cfx::rl
