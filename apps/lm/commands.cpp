// conflux-lm commands (lm.h): flag layering (preset -> config.json -> flags) and dispatch.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "apps/common/run_config.h"
#include "apps/common/run_state.h"
#include "apps/lm/fairseq_keys.h"
#include "apps/lm/lm.h"
#include "nn/checkpoint.h"
#include "core/error.h"

namespace cfx::lm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: conflux-lm <command> [flags]    (conflux-lm <command> --help lists the flags)\n"
    "  prepare   --text DIR | --train F --valid F --test F  --out DATA   dictionary + binarised splits\n"
    "  train     --data DATA [--preset wikitext103|small] [--out RUN] [--resume] ...\n"
    "  eval      --data DATA --out RUN [--split test] [--context-window C]   perplexity (eval-lm)\n"
    "  generate  --data DATA --out RUN --prompt \"...\" [--temperature T --top-k K --top-p P --gen-tokens N]\n"
    "  convert   --checkpoint IN.h5 --to fairseq|conflux --file OUT.h5   rename weights (apps/lm/fairseq_keys.h)\n";

// Keys of config.json that describe one invocation rather than the run.
bool per_invocation(const std::string& key) {
  return app::per_invocation_flag(key) || key == "split" || key == "prompt" || key == "gen-tokens" ||
         key == "temperature" || key == "top-k" || key == "top-p";
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

// Renames a checkpoint's weights between Conflux's and fairseq's transformer_lm keys (the
// optimizer group of a Conflux checkpoint is left behind: fairseq's is a different format).
int run_convert(const std::vector<std::string>& args) {
  std::string in, to, out;
  app::Flags f("conflux-lm convert", "Writes a checkpoint's weights under fairseq's or Conflux's names (HDF5, one "
                                     "dataset per key; apps/lm/fairseq_checkpoint.py moves them to and from a fairseq .pt).");
  f.add("checkpoint", &in, "the HDF5 file to read (a Conflux checkpoint, or fairseq's model dict as HDF5)");
  f.add("to", &to, "fairseq | conflux: the names to write");
  f.add("file", &out, "the HDF5 file to write");
  f.parse(args);
  if (f.help_requested()) return std::cout << f.help(), 0;
  CFX_CHECK(!in.empty() && !out.empty(), "conflux-lm convert: --checkpoint and --file are required");
  CFX_CHECK(to == "fairseq" || to == "conflux", "conflux-lm convert: --to takes fairseq or conflux, got '", to, "'");
  nn::StateDict weights;
  for (auto& [key, t] : nn::load_tensors(in))
    if (key.rfind("optimizer/", 0) != 0) weights.emplace_back(key, t);
  const nn::StateDict renamed = to == "fairseq" ? to_fairseq(weights) : from_fairseq(weights);
  nn::save_tensors(renamed, out);
  std::cout << fmt::format("wrote {}: {} tensors under {} names\n", out, renamed.size(), to);
  return 0;
}

}  // namespace

int run(const std::vector<std::string>& args) {
  if (args.empty()) return std::cerr << kUsage, 2;
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") return std::cout << kUsage, 0;
  if (command == "prepare") return run_prepare(rest);
  if (command == "convert") return run_convert(rest);
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
