// conflux-lra: train and evaluate Flowformer on the Long Range Arena (BENCHMARKS.md section 1).
//
//   conflux-lra train    --task listops|text|retrieval|image|pathfinder --data DIR [flags]
//   conflux-lra eval     --out RUN_DIR [--split test] [--checkpoint FILE]
//   conflux-lra generate --task listops|pathfinder --out DIR [--train N --val N --test N ...]
//   conflux-lra demo     [--out runs/demo] [train flags]   generate -> train -> eval, a few minutes
//
// The library conflux_lra_app holds everything; main.cpp only calls run(), and the tests call
// the same functions.
#pragma once

#include <string>
#include <vector>

#include "apps/lra/config.h"
#include "apps/lra/train.h"

namespace cfx::lra {

// The whole program: args without argv[0]. Returns the exit code; errors propagate as cfx::Error.
int run(const std::vector<std::string>& args);

// Parses train/eval flags into a config: the task's preset, then <out>/config.json (eval and
// --resume), then the command line. Sets *help when --help was given.
LraConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help = nullptr);

struct EvalReport {
  app::EvalResult result;
  double baseline = 0.0;  // always answering the split's most frequent label
  std::string checkpoint;
};
EvalReport run_eval(const LraConfig& cfg);

// `demo`: the flags it passes to train (printed as a command line before it runs).
std::vector<std::string> demo_train_args(const std::string& out);
int run_demo(const std::vector<std::string>& args);

}  // namespace cfx::lra
