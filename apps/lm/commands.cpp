// conflux-lm commands (lm.h): flag layering (preset -> config.json -> flags) and dispatch.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "apps/common/run_config.h"
#include "apps/common/run_state.h"
#include "apps/lm/lm.h"
#include "core/error.h"

namespace cfx::lm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: conflux-lm <command> [flags]    (conflux-lm <command> --help lists the flags)\n"
    "  prepare   --text DIR | --train F --valid F --test F  --out DATA   dictionary + binarised splits\n"
    "  train     --data DATA [--preset wikitext103|small] [--out RUN] [--resume] ...\n"
    "  eval      --data DATA --out RUN [--split test] [--context-window C]   perplexity (eval-lm)\n"
    "  generate  --data DATA --out RUN --prompt \"...\" [--temperature T --top-k K --top-p P --gen-tokens N]\n";

// Keys of config.json that describe one invocation rather than the run.
bool per_invocation(const std::string& key) {
  return key == "out" || key == "resume" || key == "log" || key == "checkpoint" || key == "split" ||
         key == "prompt" || key == "gen-tokens" || key == "temperature" || key == "top-k" || key == "top-p";
}

LmConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help) {
  const std::string out = app::Flags::peek(args, "out");
  std::map<std::string, app::JsonValue> saved;
  if (!out.empty() && (command != "train" || app::resume_requested(args))) saved = app::saved_config(out);
  std::string name = app::Flags::peek(args, "preset");
  if (name.empty()) name = saved.count("preset") ? app::json_text(saved["preset"]) : "wikitext103";
  LmConfig cfg = preset(name);
  app::Flags flags("conflux-lm " + command, command == "train"
                                                ? "Trains the paper's language model; defaults = --preset."
                                                : "Flags default to the run's config.json (--out).");
  add_flags(flags, cfg);
  *help = !app::parse_run_flags(flags, args, saved, per_invocation);
  if (!*help) validate(cfg);
  return cfg;
}

}  // namespace

int run(const std::vector<std::string>& args) {
  if (args.empty()) return std::cerr << kUsage, 2;
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") return std::cout << kUsage, 0;
  if (command == "prepare") return run_prepare(rest);
  CFX_CHECK(command == "train" || command == "eval" || command == "generate", "conflux-lm: unknown command '", command,
            "'\n", kUsage);
  bool help = false;
  const LmConfig cfg = parse_config(command, rest, &help);
  if (help) return 0;
  if (command == "eval") {
    const app::EvalResult r = evaluate_checkpoint(cfg);
    std::cout << fmt::format("{} ({} scored tokens, windows of {} after up to {} of context): perplexity {:.2f}, "
                             "loss {:.4f} nats = {:.4f} bits per token\n",
                             cfg.split, r.examples, cfg.tokens_per_sample - cfg.context_window, cfg.context_window,
                             std::exp(r.loss), r.loss, r.loss / std::log(2.0));
    return 0;
  }
  if (command == "generate") {
    std::cout << generate(cfg) << "\n";
    return 0;
  }
  fs::create_directories(cfg.out_dir);
  app::write_file_atomically(fs::path(cfg.out_dir) / "config.json", app::config_json_of(cfg));
  train(cfg);
  return 0;
}

}  // namespace cfx::lm
