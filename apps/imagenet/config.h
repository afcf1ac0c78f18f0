// conflux-imagenet settings: one struct holding every flag, the two presets (`imagenet`, the
// paper's model and DeiT/timm recipe of ../shared/BENCHMARKS.md section 3; `small`, the same
// recipe on a narrow model at 64 px that learns on a CPU in minutes), and the flags that
// override them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "nn/models.h"

namespace cfx::imagenet {

struct ImageNetConfig {
  std::string preset = "imagenet";  // imagenet | small: the defaults below

  // ---- what and where (3.1): <data>/<train-split>/<wnid>/*.JPEG, <data>/<val-split>/<wnid>/*.JPEG
  std::string data_dir;
  std::string train_split = "train", val_split = "val";
  std::string synsets;                 // one wnid per line = class index; "" = the sorted folders of the train split
  std::string on_broken = "stop";      // stop | skip: an image file that does not decode
  std::string out_dir;                 // checkpoints, state.json, config.json, metrics.jsonl, best.h5, classes.txt
  std::string log_file;                // "" = <out>/metrics.jsonl
  std::string checkpoint;              // eval / predict: "" = <out>/best.h5
  std::string names;                   // predict: LOC_synset_mapping.txt ("<wnid> <names>" lines); "" = wnids only
  bool resume = false;

  // ---- model (3.2)
  int64_t img_size = 224, patch_size = 4;
  std::string embed_dims = "96,192,384,768", depths = "3,3,10,3";
  int64_t heads = 12, mlp_ratio = 4;
  double drop_path = 0.2, layer_scale = 1e-5;
  std::string attention = "flow";  // flow (the CV variant) | softmax (the "Full Attn." row)

  // ---- input pipeline (3.1)
  double scale_min = 0.08;                      // RandomResizedCrop scale (scale_min, 1), ratio (3/4, 4/3)
  double hflip = 0.5;
  std::string rand_augment = "rand-m9-mstd0.5-inc1";  // "" = off
  double mixup = 0.8, cutmix = 1.0, mixup_switch = 0.5, smoothing = 0.1;
  double crop_pct = 0.875;                      // eval: Resize(img_size / crop_pct) then CenterCrop(img_size)
  int64_t workers = 2;                          // threads decoding and augmenting batches ahead of training

  // ---- recipe (3.3): AdamW, lr = lr_base x batch / 512, cosine per epoch after 5 warm-up epochs
  int64_t epochs = 300, batch_size = 128, eval_batch_size = 192;
  double lr = 5e-4, warmup_lr = 1e-6, min_lr = 1e-5;
  int64_t warmup_epochs = 5;
  double weight_decay = 0.05, clip = 1.0;
  int64_t eval_every = 1;           // epochs between evaluations on the val split (and at the end)
  int64_t checkpoint_every = 1;     // epochs
  int64_t keep_checkpoints = 2;
  double time_limit = 0;            // seconds of training in this session (0 = none)

  // ---- machine
  int64_t seed = 0;                 // DeiT's default
  int64_t threads = 0;              // 0 = CONFLUX_NUM_THREADS or all cores
  std::string device = "cpu";       // cpu | cuda | cuda:N
  int64_t log_every = 20;           // progress line when stderr is not a terminal
};

// The defaults of `name` ("imagenet" or "small"); throws for another name.
ImageNetConfig preset(const std::string& name);
const std::vector<std::string>& preset_names();

// The model of a config for `num_classes` classes; throws naming the flag for a malformed list.
nn::FlowformerVisionConfig model_config(const ImageNetConfig& cfg, int64_t num_classes);
// DeiT's linear scaling: lr x batch_size / 512 (one process; the paper's script: 6 x 128 -> 7.5e-4).
double scaled_lr(const ImageNetConfig& cfg);

void add_flags(app::Flags& flags, ImageNetConfig& cfg);
// The flags of one invocation, never taken from a run's config.json: the common ones and --names.
bool per_invocation_flag(const std::string& key);
void validate(const ImageNetConfig& cfg);

}  // namespace cfx::imagenet
