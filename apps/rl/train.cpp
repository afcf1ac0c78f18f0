// conflux-rl train: the Flowformer RL recipe (BENCHMARKS 5.2-5.5) on the shared loop: windows
// of K steps drawn with replacement, masked MSE on the actions, AdamW with a linear warm-up to
// a constant lr, clipping at 0.25; after every iteration the policy is rolled out for each
// conditioning target and scored, the best (first target) kept in best.h5.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "apps/common/cli.h"
#include "apps/common/run_state.h"
#include "apps/rl/agent.h"
#include "apps/rl/rl.h"
#include "core/generator.h"
#include "core/parallel.h"
#include "data/d4rl/context.h"
#include "data/d4rl/d4rl_file.h"
#include "data/d4rl/trajectories.h"
#include "data/loader.h"
#include "ops/creation.h"
#include "ops/reduce.h"

namespace cfx::rl {

namespace fs = std::filesystem;

RlTrainReport train(const RlConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const Task task = parse_task(cfg.env);
  const TaskRules& rules = task_rules(task);
  const Device device = Device::parse(cfg.device);

  // ---- data: the D4RL file, its episodes, the state statistics, windows built on the fly
  const std::string file = data_file(cfg);
  const data::d4rl::D4rlDataset dataset = data::d4rl::read_d4rl(file);
  CFX_CHECK(dataset.obs_dim == rules.obs_dim && dataset.act_dim == rules.act_dim, "conflux-rl: ", file, " has ",
            dataset.obs_dim, "-dim observations and ", dataset.act_dim, "-dim actions; ", rules.gym_id, " has ",
            rules.obs_dim, " and ", rules.act_dim);
  const std::vector<data::d4rl::Trajectory> trajectories = data::d4rl::split_trajectories(dataset);
  CFX_CHECK(!trajectories.empty(), "conflux-rl: ", file, " has no finished episode (no terminal or timeout)");
  const data::d4rl::StateStats stats = data::d4rl::state_stats(dataset, trajectories);
  const data::d4rl::ContextSamples samples(
      dataset, trajectories, stats,
      {.context = cfg.context, .max_ep_len = cfg.max_ep_len, .return_scale = cfg.return_scale});
  const StateNormalizer normalizer{stats.mean, stats.std};
  fs::create_directories(cfg.out_dir);
  save_normalizer(normalizer, fs::path(cfg.out_dir) / "normalizer.h5");

  // ---- model and optimizer
  Generator init_gen(static_cast<uint64_t>(cfg.seed));
  nn::DecisionTransformer model(model_config(cfg), &init_gen);
  model.to(device);  // before the optimizer, whose state is made beside each parameter
  nn::AdamW optimizer(model.parameters(), {.lr = cfg.lr, .weight_decay = cfg.weight_decay});
  manual_seed(static_cast<uint64_t>(cfg.seed));  // dropout masks (a resumed run restores the position)

  // ---- one loader epoch = one iteration: batch_size x steps_per_iteration draws with replacement
  auto sampler = std::make_shared<data::RandomSampler>(
      samples.size(), static_cast<uint64_t>(cfg.seed),
      data::RandomSamplerOptions{.replacement = true, .num_samples = cfg.batch_size * cfg.steps_per_iteration});
  data::Loader<data::TensorDict> loader(
      sampler, [&](std::span<const int64_t> rows, uint64_t) { return samples.batch(rows); },
      {.batch_size = cfg.batch_size, .drop_last = true, .seed = static_cast<uint64_t>(cfg.seed), .num_workers = 1});
  data::BatchStream<data::TensorDict> batches(loader);

  app::TrainHooks hooks;
  hooks.micro_step = [&](double loss_scale) {
    const data::TensorDict b = batches.next_batch();
    const int64_t real_steps = static_cast<int64_t>(sum(b.at("mask")).item<double>());
    const data::TensorDict x = b.to(device);
    const Tensor rtg = x.at("rtg").narrow(1, 0, cfg.context);  // the model sees K of the K+1 returns-to-go
    const nn::DecisionTransformerOutput out = model.forward(x.at("states"), x.at("actions"), rtg, x.at("timesteps"));
    const Tensor loss = masked_action_mse(out.action_preds, x.at("actions"), x.at("mask"), real_steps);
    (loss_scale == 1.0 ? loss : loss * loss_scale).backward();
    return app::StepStats{loss.item<double>(), 0, b.batch_size()};
  };
  hooks.position = [&] { return std::pair{batches.epoch(), batches.batch()}; };
  hooks.seek = [&](int64_t epoch, int64_t batch) { batches.seek(epoch, batch); };
  const int64_t total_steps = cfg.iterations * cfg.steps_per_iteration;
  hooks.evaluate = [&](bool final) {
    // The last iteration's evaluation is the long one; a run cut short by --time-limit gets the short one.
    const int64_t done = batches.epoch() * cfg.steps_per_iteration + batches.batch();
    const bool at_end = final && done >= total_steps;
    return evaluate_targets(model, normalizer, cfg, at_end ? cfg.final_episodes : cfg.eval_episodes);
  };

  const std::vector<double> targets = eval_targets(cfg);
  app::TrainerOptions o;
  o.out_dir = cfg.out_dir;
  o.log_file = cfg.log_file;
  o.resume = cfg.resume;
  o.steps = total_steps;
  o.steps_per_epoch = cfg.steps_per_iteration;  // "epoch" in the log = iteration
  o.clip_grad_norm = cfg.clip;
  o.schedule = cfg.warmup > 0 ? nn::schedule::warmup_constant(cfg.warmup) : nn::schedule::constant();
  o.evaluate_at = [&](int64_t step) { return step > 0 && step % cfg.steps_per_iteration == 0; };
  o.best_metric = target_split(targets.at(0)) + " score";
  o.checkpoint_every = cfg.checkpoint_every;
  o.keep_checkpoints = cfg.keep_checkpoints;
  o.log_every = cfg.log_every;
  o.time_limit = cfg.time_limit;
  o.accuracy = false;
  o.unit = "seq";
  o.name = fmt::format("{} ({} episodes, {} transitions, {} windows of {} steps)", cfg.task, trajectories.size(),
                       dataset.size(), samples.size(), cfg.context);
  RlTrainReport report;
  report.summary = app::train(model, optimizer, o, hooks);
  report.final = report.summary.final;

  const auto paper = find_preset(cfg.task);
  const std::string paper_text = paper ? fmt::format("{:.1f} ± {:.1f}", paper->paper_score, paper->paper_std) : "";
  std::cout << "\n" << score_table(cfg.task, report.final, paper_text);
  report.best_score = report.summary.best.value_or(0.0);
  std::cout << fmt::format("best {} score over the iterations: {:.1f} (step {})\n", target_split(targets[0]),
                           report.best_score, report.summary.best_step)
            << "best model: " << (fs::path(cfg.out_dir) / "best.h5").string()
            << "\nmetrics:    " << report.summary.log_file.string() << "  (" << app::format_duration(report.summary.wall_s)
            << ")\n";
  return report;
}

app::SeedsReport train_seeds(const RlConfig& cfg) {
  const std::vector<double> targets = eval_targets(cfg);
  const auto paper = find_preset(cfg.task);
  app::JsonObject about{{"task", cfg.task}};
  if (paper) about.insert(about.end(), {{"paper_score", paper->paper_score}, {"paper_std", paper->paper_std}});
  const app::SeedsReport seeds = app::run_seeds(cfg.seed, cfg.seeds, cfg.out_dir, [&](int64_t seed, const fs::path& dir) {
    RlConfig one = cfg;
    one.seeds = 1;
    one.seed = seed;
    one.out_dir = dir.string();
    one.log_file.clear();
    const RlTrainReport r = train(one);
    app::Figures figures;
    for (const app::EvalResult& e : r.final) figures.emplace_back(e.split + "_score", figure(e, "score"));
    figures.emplace_back("best_score", r.best_score);
    return figures;
  }, about);

  app::Table table({"task", "seeds", "target", "final score", "best score (first target)", "paper (Flowformer)"});
  for (double target : targets) {
    const std::string key = target_split(target) + "_score";
    table.add_row({cfg.task, fmt::format("{}..{}", cfg.seed, cfg.seed + cfg.seeds - 1), fmt::format("{:g}", target),
                   fmt::format("{:.1f} ± {:.1f}", seeds.mean(key), seeds.std(key)),
                   fmt::format("{:.1f} ± {:.1f}", seeds.mean("best_score"), seeds.std("best_score")),
                   paper ? fmt::format("{:.1f} ± {:.1f}", paper->paper_score, paper->paper_std) : "-"});
  }
  std::cout << "\n" << table.str() << "summary: " << (fs::path(cfg.out_dir) / "summary.json").string() << "\n";
  return seeds;
}

}  // namespace cfx::rl
