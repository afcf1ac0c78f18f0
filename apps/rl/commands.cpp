// conflux-rl commands (rl.h): flag layering, record, rollout, eval, presets, and dispatch.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "apps/common/run_config.h"
#include "apps/common/run_state.h"
#include "apps/rl/agent.h"
#include "apps/rl/rl.h"
#include "apps/rl/trajectory_svg.h"
#include "core/error.h"
#include "core/parallel.h"
#include "data/d4rl/d4rl_file.h"

namespace cfx::rl {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: conflux-rl <command> [flags]    (conflux-rl <command> --help lists the flags)\n"
    "  train    --task hopper-medium --data DIR [--out DIR] [--resume] ...   the paper's recipe\n"
    "  eval     --out RUN_DIR [--checkpoint FILE]   normalised score over --final-episodes per target\n"
    "  record   --env hopper --policy scripted|random|checkpoint --episodes N --file F.hdf5   D4RL-layout data\n"
    "  rollout  --env hopper --policy ... [--trajectory traj.jsonl]   one episode: JSONL per step + an SVG picture\n"
    "  presets  the paper's 9 tasks and Flowformer's scores\n";

// What record and rollout act with, beside the run's settings.
struct ActOptions {
  std::string policy = "scripted";  // scripted | random | checkpoint
  double noise = 0.0;               // scripted: Gaussian action noise
  double target = 0.0;              // checkpoint: the return to condition on (0 = the env's first)
  int64_t episodes = 10;
  std::string file;                 // record: the D4RL file to write
  std::string trajectory;           // rollout: JSONL of the first episode ("" = none); .svg beside it
};

void add_act_flags(app::Flags& f, ActOptions& a, const std::string& command) {
  f.add("policy", &a.policy, "scripted (a hand-written controller) | random | checkpoint (a trained run: --out / --checkpoint)");
  f.add("noise", &a.noise, "scripted: standard deviation of the Gaussian noise added to its actions");
  f.add("target", &a.target, "checkpoint: the return to condition on (0 = the env's first target)");
  f.add("episodes", &a.episodes, "episodes (run side by side)");
  if (command == "record") f.add("file", &a.file, "the D4RL HDF5 file to write");
  if (command == "rollout") f.add("trajectory", &a.trajectory, "JSONL of the first episode, one line per step (an .svg is written beside it)");
}

// The policy record/rollout act with; `agent` keeps a loaded model alive.
std::unique_ptr<Policy> make_policy(const RlConfig& cfg, const ActOptions& a, Agent& agent) {
  const Task task = parse_task(cfg.env);
  if (a.policy == "random") return std::make_unique<RandomPolicy>(task_rules(task).act_dim, static_cast<uint64_t>(cfg.seed));
  if (a.policy == "scripted") return std::make_unique<ScriptedPolicy>(task, a.noise, static_cast<uint64_t>(cfg.seed));
  CFX_CHECK(a.policy == "checkpoint", "conflux-rl: --policy takes scripted, random or checkpoint, got '", a.policy, "'");
  agent = load_agent(cfg);
  const double target = a.target != 0 ? a.target : eval_targets(cfg).at(0);
  return std::make_unique<DtPolicy>(*agent.model, agent.normalizer,
                                    DtPolicyOptions{.target_return = target, .return_scale = cfg.return_scale,
                                                    .context = cfg.context, .device = Device::parse(cfg.device)});
}

RolloutResult act(const RlConfig& cfg, const ActOptions& a, bool record) {
  CFX_CHECK(a.episodes > 0, "conflux-rl: --episodes must be positive, got ", a.episodes);
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  Agent agent;
  const std::unique_ptr<Policy> policy = make_policy(cfg, a, agent);
  EnvBatch envs(parse_task(cfg.env), a.episodes, episode_seed(cfg));
  app::ProgressBar bar(LocomotionEnv::kMaxEpisodeSteps, 0, cfg.log_every);
  int64_t env_steps = 0;
  RolloutResult r = rollout(envs, *policy, {.record = record, .on_step = [&](int64_t t, int64_t running) {
                              env_steps += running;
                              const double rate = static_cast<double>(env_steps) / std::max(bar.elapsed_s(), 1e-9);
                              bar.update(t, {.examples_per_s = rate, .show_acc = false, .show_loss = false,
                                             .unit = "env steps"});
                            }});
  bar.finish();
  std::cout << fmt::format("{} {} policy, {} episodes: return {:.1f} ± {:.1f}, normalised score {:.1f} ± {:.1f}, "
                           "length {:.0f}, {} env steps in {} ({:.0f} steps/s)\n",
                           task_rules(r.task).gym_id, a.policy, a.episodes, r.mean_return, r.std_return, r.mean_score,
                           r.std_score, r.mean_length, r.env_steps, app::format_duration(r.wall_s),
                           static_cast<double>(r.env_steps) / std::max(r.wall_s, 1e-9));
  return r;
}

int run_act(const std::string& command, const std::vector<std::string>& args) {
  RlConfig cfg = preset(app::Flags::peek(args, "task").empty() ? "hopper-medium" : app::Flags::peek(args, "task"));
  std::map<std::string, app::JsonValue> saved;
  const std::string out = app::Flags::peek(args, "out");
  if (!out.empty() && app::Flags::peek(args, "policy") == "checkpoint") saved = app::saved_config(out);
  if (const std::string env = app::Flags::peek(args, "env"); !env.empty()) cfg.env = env;
  ActOptions a;
  app::Flags flags("conflux-rl " + command, command == "record"
                                                ? "Rolls a policy out and writes the episodes in D4RL's HDF5 layout."
                                                : "Rolls a policy out; prints its return and score, writes the first episode.");
  add_flags(flags, cfg);
  add_act_flags(flags, a, command);
  if (!app::parse_run_flags(flags, args, saved, app::per_invocation_flag)) return 0;
  validate(cfg);
  if (command == "record") {
    CFX_CHECK(!a.file.empty(), "conflux-rl record: --file is required (the .hdf5 to write)");
    const RolloutResult r = act(cfg, a, /*record=*/true);
    const data::d4rl::D4rlDataset d = to_d4rl(r);
    if (fs::path(a.file).has_parent_path()) fs::create_directories(fs::path(a.file).parent_path());
    data::d4rl::write_d4rl(d, a.file);
    std::cout << fmt::format("wrote {}: {} transitions of {} episodes ({} fell, {} timed out)\n", a.file, d.size(),
                             r.episodes.size(), std::count(d.terminals.begin(), d.terminals.end(), 1),
                             std::count(d.timeouts.begin(), d.timeouts.end(), 1));
    return 0;
  }
  const RolloutResult r = act(cfg, a, /*record=*/!a.trajectory.empty());
  if (!a.trajectory.empty()) {
    const Episode& ep = r.episodes.at(0);
    const auto nq = ep.qpos.size() / static_cast<size_t>(ep.length);
    TrajectoryPlot plot{fmt::format("{} {} policy: return {:.0f} in {} steps", task_rules(r.task).gym_id, a.policy,
                                    ep.ret, ep.length), {}, {}, {}};
    std::string jsonl;
    double so_far = 0;
    for (int64_t t = 0; t < ep.length; ++t) {
      so_far += ep.rewards[static_cast<size_t>(t)];
      plot.x.push_back(ep.qpos[static_cast<size_t>(t) * nq]);
      plot.z.push_back(ep.qpos[static_cast<size_t>(t) * nq + 1]);
      plot.cumulative.push_back(so_far);
      jsonl += app::to_json({{"step", t}, {"x", plot.x.back()}, {"z", plot.z.back()},
                             {"reward", ep.rewards[static_cast<size_t>(t)]}, {"return", so_far}}) + "\n";
    }
    app::write_file_atomically(a.trajectory, jsonl);
    const fs::path svg = fs::path(a.trajectory).replace_extension(".svg");
    app::write_file_atomically(svg, trajectory_svg(plot));
    std::cout << "episode 0: " << a.trajectory << " and " << svg.string() << "\n";
  }
  return 0;
}

int run_presets() {
  app::Table table({"task", "env", "dataset", "paper (Flowformer)", "targets"});
  double sum = 0;
  for (const RlPreset& p : rl_presets()) {
    const auto targets = default_targets(parse_task(p.env));
    table.add_row({p.task, task_rules(parse_task(p.env)).gym_id, p.dataset,
                   fmt::format("{:.1f} ± {:.1f}", p.paper_score, p.paper_std),
                   fmt::format("{:g}, {:g}", targets[0], targets[1])});
    sum += p.paper_score;
  }
  std::cout << table.str() << fmt::format("paper average: {:.1f}  (BENCHMARKS.md section 5.6; D4RL normalised return "
                                          "x 100, mean of 3 seeds)\n", sum / static_cast<double>(rl_presets().size()));
  return 0;
}

}  // namespace

RlConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help) {
  const std::string out = app::Flags::peek(args, "out");
  std::map<std::string, app::JsonValue> saved;
  if (!out.empty() && (command == "eval" || app::resume_requested(args))) saved = app::saved_config(out);
  std::string task = app::Flags::peek(args, "task");
  if (task.empty()) task = saved.count("task") ? app::json_text(saved["task"]) : "hopper-medium";
  RlConfig cfg = preset(task);
  app::Flags flags("conflux-rl " + command,
                   command == "eval" ? "Scores a run's best.h5 (or --checkpoint) over --final-episodes per target; flags default to the run's config.json."
                                     : "Trains a Decision Transformer with Flow-Attention on a D4RL file; defaults = the paper's recipe.");
  add_flags(flags, cfg);
  const bool go = app::parse_run_flags(flags, args, saved, app::per_invocation_flag);
  if (help) *help = !go;
  if (go) validate(cfg);
  return cfg;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) return std::cerr << kUsage, 2;
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") return std::cout << kUsage, 0;
  if (command == "presets") return run_presets();
  if (command == "record" || command == "rollout") return run_act(command, rest);
  if (command == "train" || command == "eval") {
    bool help = false;
    const RlConfig cfg = parse_config(command, rest, &help);
    if (help) return 0;
    if (command == "eval") {
      if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
      Agent agent = load_agent(cfg);
      std::cout << score_table(cfg.task, evaluate_targets(*agent.model, agent.normalizer, cfg, cfg.final_episodes));
      return 0;
    }
    fs::create_directories(cfg.out_dir);
    app::write_file_atomically(fs::path(cfg.out_dir) / "config.json", app::config_json_of(cfg));
    if (cfg.seeds > 1) train_seeds(cfg);
    else train(cfg);
    return 0;
  }
  CFX_FAIL("conflux-rl: unknown command '", command, "'\n", kUsage);
}

}  // namespace cfx::rl
