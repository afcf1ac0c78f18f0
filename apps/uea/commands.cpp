// conflux-uea commands (uea.h): flag layering, generate, presets, eval, and dispatch.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "apps/common/run_config.h"
#include "apps/common/run_state.h"
#include "apps/uea/uea.h"
#include "core/error.h"

namespace cfx::uea {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: conflux-uea <command> [flags]    (conflux-uea <command> --help lists the flags)\n"
    "  train     --dataset NAME --data DIR [--out DIR] [--resume] ...   the paper's recipe for NAME\n"
    "  eval      --out RUN_DIR [--checkpoint FILE]   test accuracy of the run's best.h5 (or FILE)\n"
    "  generate  --out DIR [--dataset Synthetic --train N --test N --channels C --classes K ...]\n"
    "  presets   the paper's 10 sets: epochs, optimizer, Flowformer accuracy\n";

// A synthetic set in the .ts format: class k of K has per-channel sinusoids whose frequency
// grows with k, lifts channel k mod C by 1, plus noise; variable lengths and some missing
// values ('?'), so every part of the pipeline is exercised and a model learns it in a few epochs.
int run_generate(const std::vector<std::string>& args) {
  std::string out, name = "Synthetic";
  int64_t train = 64, test = 32, channels = 3, classes = 3, min_len = 20, max_len = 40, seed = 1;
  double missing = 0.01, noise = 0.3;
  app::Flags f("conflux-uea generate", "Writes <out>/<dataset>/<dataset>_{TRAIN,TEST}.ts, a synthetic UEA-format set.");
  f.add("out", &out, "folder to write <dataset>/ into");
  f.add("dataset", &name, "name of the set (and of its folder)");
  f.add("train", &train, "training series");
  f.add("test", &test, "test series");
  f.add("channels", &channels, "channels per series");
  f.add("classes", &classes, "classes");
  f.add("min-len", &min_len, "shortest series");
  f.add("max-len", &max_len, "longest series");
  f.add("missing", &missing, "fraction of values written as '?'");
  f.add("noise", &noise, "standard deviation of the added noise");
  f.add("seed", &seed, "random seed");
  f.parse(args);
  if (f.help_requested()) return std::cout << f.help(), 0;
  CFX_CHECK(!out.empty(), "conflux-uea generate: --out is required");
  CFX_CHECK(train > 0 && test > 0 && channels > 0 && classes > 1 && min_len > 1 && max_len >= min_len && missing >= 0 &&
                missing < 0.5,
            "conflux-uea generate: need positive sizes, classes > 1, 1 < min-len <= max-len, missing in [0, 0.5)");
  const fs::path dir = fs::path(out) / name;
  fs::create_directories(dir);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> gauss(0.0, 1.0);
  for (const auto& [split, count] : {std::pair<std::string, int64_t>{"TRAIN", train}, {"TEST", test}}) {
    std::string text = fmt::format("# synthetic, written by conflux-uea generate (seed {})\n@problemName {}\n"
                                   "@timeStamps false\n@missing {}\n@univariate {}\n@dimensions {}\n@equalLength {}\n"
                                   "@classLabel true",
                                   seed, name, missing > 0 ? "true" : "false", channels == 1 ? "true" : "false",
                                   channels, min_len == max_len ? "true" : "false");
    for (int64_t k = 0; k < classes; ++k) text += fmt::format(" c{}", k);
    text += "\n@data\n";
    for (int64_t i = 0; i < count; ++i) {
      const int64_t k = i % classes;
      const int64_t len = min_len + static_cast<int64_t>(unit(rng) * static_cast<double>(max_len - min_len + 1));
      for (int64_t c = 0; c < channels; ++c) {
        const double freq = 0.05 + 0.1 * static_cast<double>(k) + 0.02 * static_cast<double>(c), phase = 6.28 * unit(rng);
        const double offset = c == k % channels ? 1.0 : 0.0;  // class k also lifts channel k mod C
        for (int64_t t = 0; t < std::min(len, max_len); ++t) {
          if (t) text += ',';
          if (unit(rng) < missing) text += '?';
          else text += fmt::format("{:.5f}", std::sin(6.2832 * freq * static_cast<double>(t) + phase) + offset + noise * gauss(rng));
        }
        text += ':';
      }
      text += fmt::format("c{}\n", k);
    }
    app::write_file_atomically(dir / (name + "_" + split + ".ts"), text);
  }
  std::cout << fmt::format("wrote {}/{}_{{TRAIN,TEST}}.ts: {} / {} series, {} channels, {} classes, lengths {}-{}\n",
                           dir.string(), name, train, test, channels, classes, min_len, max_len);
  return 0;
}

int run_presets() {
  app::Table table({"dataset", "epochs", "optimizer", "paper (Flowformer)"});
  double sum = 0;
  for (const UeaPreset& p : uea_presets()) {
    table.add_row({p.name, std::to_string(p.epochs), p.optimizer, fmt::format("{:.1f}%", p.paper_accuracy)});
    sum += p.paper_accuracy;
  }
  std::cout << table.str() << fmt::format("paper average: {:.1f}%  (BENCHMARKS.md section 4.5; batch 16, lr 1e-3, "
                                          "clip 4.0, seed 666, best test accuracy over the evaluations)\n",
                                          sum / static_cast<double>(uea_presets().size()));
  return 0;
}

}  // namespace

UeaConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help) {
  std::string out = app::Flags::peek(args, "out");
  std::map<std::string, app::JsonValue> saved;
  if (!out.empty() && (command == "eval" || app::resume_requested(args))) saved = app::saved_config(out);
  std::string dataset = app::Flags::peek(args, "dataset");
  if (dataset.empty()) dataset = saved.count("dataset") ? app::json_text(saved["dataset"]) : "JapaneseVowels";

  UeaConfig cfg = preset(dataset);
  app::Flags flags("conflux-uea " + command,
                   command == "eval" ? "Evaluates a run's best.h5 (or --checkpoint) on the test set; flags default to the run's config.json."
                                     : "Trains a Flowformer on a UEA set; defaults = the paper's recipe for --dataset.");
  add_flags(flags, cfg);
  const bool run = app::parse_run_flags(flags, args, saved, app::per_invocation_flag);
  if (help) *help = !run;
  if (!run) return cfg;
  validate(cfg);
  return cfg;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) return std::cerr << kUsage, 2;
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") return std::cout << kUsage, 0;
  if (command == "generate") return run_generate(rest);
  if (command == "presets") return run_presets();
  if (command == "train" || command == "eval") {
    bool help = false;
    const UeaConfig cfg = parse_config(command, rest, &help);
    if (help) return 0;
    if (command == "eval") {
      const app::EvalResult r = evaluate_checkpoint(cfg);
      std::cout << fmt::format("{} test: accuracy {:.2f}% loss {:.4f} ({} series)\n", cfg.dataset, 100 * r.acc, r.loss,
                               r.examples);
      return 0;
    }
    fs::create_directories(cfg.out_dir);
    app::write_file_atomically(fs::path(cfg.out_dir) / "config.json", app::config_json_of(cfg));
    if (cfg.seeds > 1) train_seeds(cfg);
    else train(cfg);
    return 0;
  }
  CFX_FAIL("conflux-uea: unknown command '", command, "'\n", kUsage);
}

}  // namespace cfx::uea
