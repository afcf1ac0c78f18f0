// conflux-imagenet: the paper's ImageNet-1K benchmark (../shared/BENCHMARKS.md section 3) as one
// program on the shared app layer (apps/common/): the four-stage vision Flowformer, the timm
// input pipeline (RandomResizedCrop, flip, RandAugment, Mixup/CutMix) and DeiT's recipe.
//
//   conflux-imagenet train    --data DIR [--preset imagenet|small] [--out DIR] [--resume] [flags]
//   conflux-imagenet eval     --out RUN_DIR [--checkpoint FILE]     top-1 / top-5 on the val split
//   conflux-imagenet predict  --out RUN_DIR [--names FILE] IMAGE...  the top-5 classes of each file
//   conflux-imagenet generate --out DIR                            a synthetic ImageFolder (shapes)
//   conflux-imagenet presets                                       the two presets, the paper's figures
//
// Reported metric, as DeiT's loop: the best val top-1 over the evaluations (best.h5), and the
// last epoch's top-1 / top-5 beside it.
#pragma once

#include <string>
#include <vector>

#include "apps/common/trainer.h"
#include "apps/imagenet/config.h"

namespace cfx::imagenet {

// The whole program: args without argv[0]. Returns the exit code; errors propagate as cfx::Error.
int run(const std::vector<std::string>& args);

// train/eval/predict flags: the preset, then <out>/config.json (eval, predict, --resume), then
// the command line. Returns the positional arguments (predict's files) in *files when given.
// Sets *help when --help was given.
ImageNetConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help = nullptr,
                            std::vector<std::string>* files = nullptr);

struct ImageNetTrainReport {
  app::TrainSummary summary;
  double best_top1 = 0.0, last_top1 = 0.0, last_top5 = 0.0;  // on the val split
  int64_t best_epoch = 0;
  int64_t steps_per_epoch = 0;
  int64_t num_classes = 0;
};
ImageNetTrainReport train(const ImageNetConfig& cfg);

// Val loss (hard-label cross-entropy), top-1 ("acc") and top-5 (extra "top5") of a checkpoint
// (default <out>/best.h5).
app::EvalResult evaluate_checkpoint(const ImageNetConfig& cfg);

// One file's top-k classes: (class index, wnid, probability), best first.
struct Prediction {
  int64_t index;
  std::string wnid;
  double probability;
};
std::vector<std::vector<Prediction>> predict(const ImageNetConfig& cfg, const std::vector<std::string>& files,
                                             int64_t k = 5);

}  // namespace cfx::imagenet
