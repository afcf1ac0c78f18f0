// conflux-imagenet presets and flags (config.h). Section numbers refer to ../shared/BENCHMARKS.md.
#include "apps/imagenet/config.h"

#include <sstream>

#include "apps/common/run_config.h"
#include "core/error.h"

namespace cfx::imagenet {

namespace {

std::vector<int64_t> parse_list(const std::string& flag, const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CFX_CHECK(used == item.size() && !item.empty() && v > 0, "conflux-imagenet: --", flag,
              " takes comma-separated positive integers, got '", text, "'");
    out.push_back(v);
  }
  CFX_CHECK(!out.empty(), "conflux-imagenet: --", flag, " is empty");
  return out;
}

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"imagenet", "small"};
  return names;
}

ImageNetConfig preset(const std::string& name) {
  ImageNetConfig c;  // the defaults are the paper's (3.2, 3.3)
  c.preset = name;
  c.out_dir = "runs/imagenet_" + name;
  if (name == "imagenet") return c;
  CFX_CHECK(name == "small", "conflux-imagenet: unknown preset '", name, "' (expected imagenet or small)");
  // The same recipe on a CPU's budget: 64 px (a 16 x 16 patch grid, 256 tokens), four narrow
  // stages, and the warm-up shortened in proportion to the epochs.
  c.img_size = 64;
  c.embed_dims = "48,96,160,256";
  c.depths = "1,1,2,1";
  c.heads = 4;
  c.drop_path = 0.05;
  c.epochs = 200;  // sized for the 100-image Imagenette sample: 3 updates per epoch
  c.batch_size = 32;
  c.eval_batch_size = 50;
  c.lr = 8e-3;  // x 32 / 512 = 5e-4, the paper's per-update lr at batch 512
  c.warmup_epochs = 5;
  c.eval_every = 10;
  c.checkpoint_every = 20;
  return c;
}

nn::FlowformerVisionConfig model_config(const ImageNetConfig& c, int64_t num_classes) {
  nn::FlowformerVisionConfig m;
  m.img_size = c.img_size;
  m.patch_size = c.patch_size;
  m.num_classes = num_classes;
  m.embed_dims = parse_list("embed-dims", c.embed_dims);
  m.depths = parse_list("depths", c.depths);
  CFX_CHECK(m.embed_dims.size() == m.depths.size(), "conflux-imagenet: --embed-dims and --depths must list as many "
            "stages, got ", m.embed_dims.size(), " and ", m.depths.size());
  for (int64_t d : m.embed_dims)
    CFX_CHECK(d % c.heads == 0, "conflux-imagenet: --heads ", c.heads, " must divide every stage width, got ", d);
  m.n_heads = c.heads;
  m.mlp_ratio = c.mlp_ratio;
  m.drop_path_rate = c.drop_path;
  m.layer_scale_init = c.layer_scale;
  m.attention = c.attention == "softmax" ? nn::AttentionKind::Softmax : nn::AttentionKind::Flow;
  return m;
}

double scaled_lr(const ImageNetConfig& c) { return c.lr * static_cast<double>(c.batch_size) / 512.0; }

void add_flags(app::Flags& f, ImageNetConfig& c) {
  f.add("preset", &c.preset, "imagenet (the paper's) | small (64 px, a narrow model, minutes on a CPU)");
  f.add("data", &c.data_dir, "ImageFolder root: <data>/<train-split>/<wnid>/*.JPEG and <data>/<val-split>/...");
  f.add("train-split", &c.train_split, "folder of the training images under --data");
  f.add("val-split", &c.val_split, "folder of the evaluation images under --data");
  f.add("synsets", &c.synsets, "file of one wnid per line fixing the class indices (\"\" = the train split's sorted folders)");
  f.add("on-broken", &c.on_broken, "an image that does not decode: stop (an error naming it) | skip (a warning; the batch is one smaller)");
  f.add("out", &c.out_dir, "run directory: checkpoints, state.json, config.json, metrics.jsonl, best.h5, classes.txt");
  f.add("log", &c.log_file, "metrics file (default <out>/metrics.jsonl)");
  f.add("checkpoint", &c.checkpoint, "eval / predict: checkpoint to use (default <out>/best.h5)");
  f.add("names", &c.names, "predict: LOC_synset_mapping.txt ('<wnid> <names>' per line) to name the classes");
  f.add("resume", &c.resume, "continue the run in --out from its last checkpoint");
  f.add("img-size", &c.img_size, "training and evaluation resolution");
  f.add("patch-size", &c.patch_size, "patch embedding kernel and stride");
  f.add("embed-dims", &c.embed_dims, "width of each stage, comma-separated");
  f.add("depths", &c.depths, "blocks of each stage, comma-separated");
  f.add("heads", &c.heads, "attention heads in every stage");
  f.add("mlp-ratio", &c.mlp_ratio, "MLP width / stage width");
  f.add("drop-path", &c.drop_path, "stochastic depth rate of the last block (linear from 0)");
  f.add("layer-scale", &c.layer_scale, "LayerScale init on the MLP branch (0 = none)");
  f.add("attention", &c.attention, "flow (Flow-Attention, CV variant) | softmax");
  f.add("scale-min", &c.scale_min, "RandomResizedCrop: smallest area fraction");
  f.add("hflip", &c.hflip, "probability of a horizontal flip");
  f.add("rand-augment", &c.rand_augment, "timm RandAugment config (\"\" = off)");
  f.add("mixup", &c.mixup, "Mixup alpha (0 = off)");
  f.add("cutmix", &c.cutmix, "CutMix alpha (0 = off)");
  f.add("mixup-switch", &c.mixup_switch, "probability of CutMix when both are on");
  f.add("smoothing", &c.smoothing, "label smoothing folded into the soft targets");
  f.add("crop-pct", &c.crop_pct, "eval: resize the shorter side to img-size / crop-pct, then centre-crop img-size");
  f.add("workers", &c.workers, "threads decoding and augmenting batches ahead of training (0 = in the training thread)");
  f.add("epochs", &c.epochs, "training epochs");
  f.add("batch-size", &c.batch_size, "images per update");
  f.add("eval-batch-size", &c.eval_batch_size, "images per evaluation batch");
  f.add("lr", &c.lr, "base learning rate per 512 images: the lr is lr x batch-size / 512");
  f.add("warmup-lr", &c.warmup_lr, "learning rate at the start of the warm-up");
  f.add("min-lr", &c.min_lr, "learning rate at the end of the cosine");
  f.add("warmup-epochs", &c.warmup_epochs, "epochs of linear warm-up");
  f.add("weight-decay", &c.weight_decay, "AdamW decay (not on biases, norms, LayerScale and pos_embed)");
  f.add("clip", &c.clip, "max global gradient norm (0 = none)");
  f.add("eval-every", &c.eval_every, "epochs between evaluations (and at the end)");
  f.add("checkpoint-every", &c.checkpoint_every, "epochs between checkpoints");
  f.add("keep-checkpoints", &c.keep_checkpoints, "step checkpoints kept on disk");
  f.add("time-limit", &c.time_limit, "seconds of training in this session (0 = none), then checkpoint + final eval");
  f.add("seed", &c.seed, "seed of the initialisation, the image order, augmentation and stochastic depth");
  f.add("threads", &c.threads, "CPU threads of the model (0 = CONFLUX_NUM_THREADS or all cores)");
  f.add("device", &c.device, "cpu | cuda | cuda:N");
  f.add("log-every", &c.log_every, "progress line every N steps when stderr is not a terminal");
}

bool per_invocation_flag(const std::string& key) { return key == "names" || app::per_invocation_flag(key); }

void validate(const ImageNetConfig& c) {
  CFX_CHECK(!c.data_dir.empty(), "conflux-imagenet: --data is required (an ImageFolder root with ", c.train_split,
            "/ and ", c.val_split, "/)");
  CFX_CHECK(c.on_broken == "stop" || c.on_broken == "skip", "conflux-imagenet: --on-broken takes stop or skip, got '",
            c.on_broken, "'");
  CFX_CHECK(c.attention == "flow" || c.attention == "softmax", "conflux-imagenet: --attention takes flow or softmax, "
            "got '", c.attention, "'");
  CFX_CHECK(c.img_size > 0 && c.patch_size > 0 && c.heads > 0 && c.mlp_ratio > 0, "conflux-imagenet: --img-size, "
            "--patch-size, --heads, --mlp-ratio must be positive");
  model_config(c, 1);  // the lists and the heads
  CFX_CHECK(c.epochs > 0 && c.batch_size > 0 && c.eval_batch_size > 0 && c.eval_every > 0 && c.checkpoint_every > 0 &&
                c.keep_checkpoints > 0 && c.warmup_epochs >= 0 && c.workers >= 0,
            "conflux-imagenet: --epochs, --batch-size, --eval-batch-size, --eval-every, --checkpoint-every, "
            "--keep-checkpoints must be positive, --warmup-epochs and --workers >= 0");
  CFX_CHECK(c.lr > 0 && c.warmup_lr >= 0 && c.min_lr >= 0 && c.weight_decay >= 0 && c.clip >= 0,
            "conflux-imagenet: --lr must be positive, --warmup-lr, --min-lr, --weight-decay, --clip >= 0");
  CFX_CHECK(c.scale_min > 0 && c.scale_min <= 1 && c.hflip >= 0 && c.hflip <= 1 && c.mixup >= 0 && c.cutmix >= 0 &&
                c.mixup_switch >= 0 && c.mixup_switch <= 1 && c.smoothing >= 0 && c.smoothing < 1 && c.crop_pct > 0 &&
                c.crop_pct <= 1 && c.drop_path >= 0 && c.drop_path < 1,
            "conflux-imagenet: --scale-min and --crop-pct must be in (0, 1], --hflip and --mixup-switch in [0, 1], "
            "--smoothing and --drop-path in [0, 1), --mixup and --cutmix >= 0");
}

}  // namespace cfx::imagenet
