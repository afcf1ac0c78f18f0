// conflux-rl: the paper's offline-RL benchmark (../shared/BENCHMARKS.md section 5): a
// Decision Transformer with causal Flow-Attention trained on D4RL data and scored by rolling
// it out in gym's MuJoCo environments (apps/rl/env/), on the shared app layer (apps/common/).
//
//   conflux-rl train   --task hopper-medium --data DIR [--out DIR] [--resume] [flags]
//   conflux-rl eval    --out RUN_DIR [--checkpoint FILE]          score over --final-episodes
//   conflux-rl record  --env hopper --policy scripted|random|checkpoint --episodes N --file F.hdf5
//   conflux-rl rollout --env hopper --policy ... [--out-file traj.jsonl]   one episode, with an SVG
//   conflux-rl presets                                              the 9 tasks, the paper's scores
//
// Reported metric, as the paper's: D4RL's normalised return x 100, after each of the
// --iterations (10 episodes per target) and at the end (100 per target).
#pragma once

#include <string>
#include <vector>

#include "apps/common/seeds.h"
#include "apps/common/trainer.h"
#include "apps/rl/config.h"

namespace cfx::rl {

// The whole program: args without argv[0]. Returns the exit code; errors propagate as cfx::Error.
int run(const std::vector<std::string>& args);

// train/eval flags: the task's preset, then <out>/config.json (eval, --resume), then the
// command line. Sets *help when --help was given.
RlConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help = nullptr);

struct RlTrainReport {
  app::TrainSummary summary;
  std::vector<app::EvalResult> final;  // one per target
  double best_score = 0.0;             // first target's score, best over the evaluations
};
RlTrainReport train(const RlConfig& cfg);

// --seeds N: one run per seed in <out>/seed_<s>/, then per target the mean and sample std of
// the final score, and of the best first-target score, next to the paper's (<out>/summary.json).
app::SeedsReport train_seeds(const RlConfig& cfg);

}  // namespace cfx::rl
