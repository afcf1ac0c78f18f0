// conflux-uea settings: one struct holding every flag, the official Flowformer preset of each
// of the paper's 10 UEA sets (../shared/BENCHMARKS.md section 4: model 4.3, recipe 4.4, the
// paper's accuracy 4.5), and the flags that override it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/common/cli.h"

namespace cfx::uea {

struct UeaConfig {
  // ---- what and where
  std::string dataset = "JapaneseVowels";  // the archive's name: <data>/<dataset>/<dataset>_TRAIN.ts ...
  std::string data_dir;                    // the folder holding <dataset>/ (Multivariate_ts/)
  std::string out_dir;                     // checkpoints, state.json, config.json, metrics.jsonl, best.h5
  std::string log_file;                    // "" = <out>/metrics.jsonl
  std::string checkpoint;                  // eval: "" = <out>/best.h5
  bool resume = false;

  // ---- model (4.3): Linear·√d, learned positions, post-LN encoder, flatten head
  int64_t layers = 2, d_model = 512, heads = 8, d_ff = 2048;
  double dropout = 0.1;
  int64_t max_len = 0;  // 0 = the longest training series (the official max_seq_len); longer test series are cut

  // ---- recipe (4.4)
  int64_t epochs = 100, batch_size = 16;
  double lr = 1e-3;
  std::string optimizer = "radam";  // radam (LiyuanLucasLiu's) | adam
  double clip = 4.0;                // max global gradient norm (0 = none)
  int64_t eval_every = 2;           // epochs between evaluations (also before training, after epoch 1, at the end)
  int64_t checkpoint_every = 10;    // epochs
  int64_t keep_checkpoints = 2;
  double time_limit = 0;            // seconds of training in this session (0 = none)

  // ---- machine
  int64_t seed = 666;
  int64_t seeds = 1;            // > 1: runs seed, seed+1, ... into <out>/seed_<s>/ and summarises them
  int64_t threads = 0;          // 0 = CONFLUX_NUM_THREADS or all cores
  std::string device = "cpu";   // cpu | cuda | cuda:N
  int64_t log_every = 20;       // progress line when stderr is not a terminal
};

// One row of the paper's table (4.1, 4.5).
struct UeaPreset {
  const char* name;
  int64_t epochs;
  const char* optimizer;
  double paper_accuracy;  // Flowformer, %, pic/TS_results.png (0 = not in the paper)
};
const std::vector<UeaPreset>& uea_presets();
// The official settings of `dataset`; any other name gets the common recipe (100 epochs, RAdam).
UeaConfig preset(const std::string& dataset);
std::optional<double> paper_accuracy(const std::string& dataset);

void add_flags(app::Flags& flags, UeaConfig& cfg);
void validate(const UeaConfig& cfg);

}  // namespace cfx::uea
