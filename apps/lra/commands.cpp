// conflux-lra subcommands: train, eval, generate, demo (see lra.h).
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "apps/common/cli.h"
#include "apps/lra/data.h"
#include "apps/lra/lra.h"
#include "apps/common/run_config.h"
#include "apps/common/run_state.h"
#include "core/cpu_capability.h"
#include "core/error.h"
#include "core/parallel.h"
#include "cuda/context.h"
#include "data/lra/generate.h"
#include "nn/checkpoint.h"

namespace cfx::lra {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: conflux-lra <command> [flags]    (conflux-lra <command> --help lists the flags)\n"
    "  train     --task listops|text|retrieval|image|pathfinder --data DIR [--out DIR] [--resume] ...\n"
    "  eval      --out RUN_DIR [--split test] [--checkpoint FILE]\n"
    "  generate  --task listops|pathfinder --out DIR [--train N --val N --test N --min-len N --max-len N]\n"
    "  demo      [--out runs/demo] [train flags]: generate ListOps, train a few minutes, evaluate\n"
    "  --version the build and the machine: CPU, CPU kernels in use, threads, OpenBLAS\n";

// Keys of config.json that describe one invocation rather than the run.
bool per_invocation(const std::string& key) {
  return app::per_invocation_flag(key) || key == "split" || key == "task";
}

std::string percent(double x) { return fmt::format("{:.2f}%", 100 * x); }

}  // namespace

LraConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help) {
  // The task picks the preset, so find it first: the command line, else the saved run.
  std::string task = app::Flags::peek(args, "task");
  std::string out = app::Flags::peek(args, "out");
  if (out.empty()) out = preset(task.empty() ? "listops" : task).out_dir;
  std::map<std::string, app::JsonValue> saved;
  if (command == "eval" || app::resume_requested(args)) saved = app::saved_config(out);
  if (task.empty()) task = saved.count("task") ? app::json_text(saved["task"]) : "listops";

  LraConfig cfg = preset(task);
  app::Flags flags("conflux-lra " + command, command == "eval"
                                                 ? "Evaluates a checkpoint of a run on one split (flags default to the run's config.json)."
                                                 : "Trains a Flowformer on an LRA task; defaults = the official Flowformer preset of --task.");
  add_flags(flags, cfg);
  const bool run = app::parse_run_flags(flags, args, saved, per_invocation);
  if (help) *help = !run;
  if (!run) return cfg;
  validate(cfg);
  return cfg;
}

EvalReport run_eval(const LraConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  EvalReport report;
  report.checkpoint = cfg.checkpoint;
  if (report.checkpoint.empty()) {
    const auto state = app::read_run_state(cfg.out_dir);
    CFX_CHECK(state.has_value(), "conflux-lra eval: no checkpoint: ", (fs::path(cfg.out_dir) / "state.json").string(),
              " does not exist\nHINT: pass --out RUN_DIR of a training run, or --checkpoint FILE");
    report.checkpoint = (fs::path(cfg.out_dir) / state->checkpoint).string();
  }
  Generator gen(static_cast<uint64_t>(cfg.seed));
  LraModel model(cfg, &gen);
  nn::load(model.module(), report.checkpoint);
  const auto dataset = load_split(cfg, parse_split(cfg.split));
  report.result = evaluate(model, dataset, cfg, cfg.split.c_str());
  // The best constant answer on this split (its own most frequent label): a conservative baseline
  // that needs no other split.
  report.baseline = majority_baseline(*dataset, *dataset, cfg.num_classes()).accuracy;

  app::Table table({"task", "split", "examples", "loss", "accuracy", "majority baseline"});
  table.add_row({cfg.task, cfg.split, std::to_string(report.result.examples), fmt::format("{:.4f}", report.result.loss),
                 percent(report.result.acc), percent(report.baseline)});
  std::cout << table.str() << "checkpoint: " << report.checkpoint << "\n";
  if (!cfg.log_file.empty())
    app::MetricsLog(cfg.log_file, true)
        .write({{"split", cfg.split}, {"loss", report.result.loss}, {"acc", report.result.acc},
                {"examples", report.result.examples}, {"checkpoint", report.checkpoint}});
  return report;
}

// ---- demo -------------------------------------------------------------------------------------------
// A generated ListOps set of short expressions (11..63 tokens instead of LRA's 501..1999) and a small
// Flowformer that beats the majority class within a few minutes on 2 cores. The model keeps the LRA
// recipe (pre-LN, GELU, LRA flow attention, CLS head, Adam 0.9/0.98 with decoupled decay, warmup x
// rsqrt) at a smaller size (2 layers of width 64) with a larger peak lr (3.5e-3). Padding is per
// batch and masked out of attention, so short rows cost little. --time-limit caps a slow machine.
constexpr int64_t kDemoTrain = 20000, kDemoVal = 500, kDemoTest = 1000, kDemoMinLen = 10, kDemoMaxLen = 64;

std::vector<std::string> demo_train_args(const std::string& out) {
  return {"--task", "listops", "--data", out + "/data", "--out", out,
          "--max-len", std::to_string(kDemoMaxLen), "--pad-batch", "--mask-padding",
          "--layers", "2", "--d-model", "64", "--qkv-dim", "64", "--heads", "4", "--mlp-dim", "128", "--dropout", "0",
          "--batch-size", "32", "--steps", "1500", "--lr", "0.05", "--schedule", "rsqrt", "--warmup", "200",
          "--weight-decay", "0.01", "--eval-every", "250", "--eval-test=false", "--checkpoint-every", "500",
          "--log-every", "100", "--time-limit", "180"};
}

int run_demo(const std::vector<std::string>& args) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string out = app::Flags::peek(args, "out");
  if (out.empty()) out = "runs/demo";
  if (std::find(args.begin(), args.end(), "--help") != args.end() || std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::cout << "conflux-lra demo [--out DIR] [train flags]: generate ListOps, train, evaluate (train flags override the demo's)\n";
    return 0;
  }

  // 1. data: a small ListOps set (reused when present)
  const fs::path data_dir = fs::path(out) / "data";
  if (!fs::exists(data_dir / "basic_test.tsv")) {
    std::cout << fmt::format("$ conflux-lra generate --task listops --out {} --train {} --val {} --test {} --min-len {} --max-len {}\n",
                             data_dir.string(), kDemoTrain, kDemoVal, kDemoTest, kDemoMinLen, kDemoMaxLen);
    data::ListOpsOptions o;
    o.min_length = kDemoMinLen, o.max_length = kDemoMaxLen;
    data::generate_listops(data_dir, kDemoTrain, kDemoVal, kDemoTest, o, /*seed=*/1);
  } else {
    std::cout << "using the data in " << data_dir.string() << "\n";
  }

  // 2. train (the demo's flags, then the caller's)
  std::vector<std::string> train_args = demo_train_args(out);
  train_args.insert(train_args.end(), args.begin(), args.end());
  std::string line = "$ conflux-lra train";
  for (const auto& a : train_args) line += " " + a;
  std::cout << line << "\n" << std::flush;
  LraConfig cfg = parse_config("train", train_args);
  fs::create_directories(cfg.out_dir);
  app::write_file_atomically(fs::path(cfg.out_dir) / "config.json", app::config_json_of(cfg));
  const app::TrainSummary summary = train(cfg);

  // 3. evaluate the saved checkpoint on the test split, next to the majority class
  std::cout << "\n$ conflux-lra eval --out " << cfg.out_dir << " --split test\n";
  cfg.split = "test";
  const EvalReport report = run_eval(cfg);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool above = report.result.acc > report.baseline + 0.05;
  std::cout << fmt::format("\nListOps demo: test accuracy {} vs majority-class baseline {} ({} examples), {} params, "
                           "{} steps, {} wall\n{}\n",
                           percent(report.result.acc), percent(report.baseline), report.result.examples, summary.params,
                           summary.steps, app::format_duration(wall),
                           above ? "OK: clearly above the baseline" : "FAILED: not clearly above the baseline");
  return above ? 0 : 3;
}

// ---- --version ------------------------------------------------------------------------------------------

std::string version_text() {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  return fmt::format("conflux-lra {}\ncpu: {}\ncpu kernels: {}\nthreads: {} (CONFLUX_NUM_THREADS)\n"
                     "OPENBLAS_CORETYPE: {}\ncuda devices: {}\n",
                     CONFLUX_VERSION, cpu_model_name(), cpu_capability_info(), num_threads(),
                     coretype ? coretype : "(unset)", cuda::device_count());
}

// ---- dispatch -----------------------------------------------------------------------------------------

int run(const std::vector<std::string>& args) {
  if (args.empty()) return std::cerr << kUsage, 2;
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") return std::cout << kUsage, 0;
  if (command == "--version" || command == "version") return std::cout << version_text(), 0;
  if (command == "generate") return run_generate(rest);
  if (command == "demo") return run_demo(rest);
  if (command == "train" || command == "eval") {
    bool help = false;
    LraConfig cfg = parse_config(command, rest, &help);
    if (help) return 0;
    if (command == "eval") return run_eval(cfg), 0;
    fs::create_directories(cfg.out_dir);
    app::write_file_atomically(fs::path(cfg.out_dir) / "config.json", app::config_json_of(cfg));
    train(cfg);
    return 0;
  }
  CFX_FAIL("conflux-lra: unknown command '", command, "'\n", kUsage);
}

}  // namespace cfx::lra
