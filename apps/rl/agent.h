// The pieces of conflux-rl that train, eval, rollout and record share: the Decision
// Transformer a config describes, the dataset's state normaliser saved beside its
// checkpoints, loading a trained agent, and the evaluation over the conditioning targets.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "apps/common/trainer.h"
#include "apps/rl/config.h"
#include "apps/rl/policy.h"
#include "apps/rl/rollout.h"
#include "nn/models.h"

namespace cfx::rl {

nn::DecisionTransformerConfig model_config(const RlConfig& cfg);

// <out>/normalizer.h5: "state_mean" and "state_std" [obs_dim], the training set's statistics
// the policy normalises its observations with (a checkpoint alone cannot act without them).
void save_normalizer(const StateNormalizer& norm, const std::filesystem::path& file);
StateNormalizer load_normalizer(const std::filesystem::path& file);

struct Agent {
  std::unique_ptr<nn::DecisionTransformer> model;  // eval mode, on cfg.device
  StateNormalizer normalizer;
};
// The checkpoint (cfg.checkpoint, else <out>/best.h5) and <out>/normalizer.h5 of a run.
Agent load_agent(const RlConfig& cfg);

// `episodes` episodes per target (episode i resets with eval_seed + i), the model in eval
// mode: one EvalResult per target, split "target_<R>", with return, score (x 100) and their
// population std, and the mean episode length.
std::vector<app::EvalResult> evaluate_targets(nn::DecisionTransformer& model, const StateNormalizer& norm,
                                              const RlConfig& cfg, int64_t episodes);
std::string target_split(double target);
// A named figure of an evaluation ("score", "return", ...); throws when it has none.
double figure(const app::EvalResult& r, const std::string& name);
// The evaluations as a table: one row per target, with the paper's score when `paper` is given.
std::string score_table(const std::string& task, const std::vector<app::EvalResult>& results,
                        const std::string& paper = "");

// The official loss: the mean squared error over the action entries of real steps (mask > 0),
// padding left out. predicted, target [B, K, act]; mask [B, K] of 0/1; real_steps = sum(mask).
Tensor masked_action_mse(const Tensor& predicted, const Tensor& target, const Tensor& mask, int64_t real_steps);

}  // namespace cfx::rl
