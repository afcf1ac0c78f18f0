// conflux-imagenet data (data.h): the ImageFolder splits and the train / eval loaders.
#include "apps/imagenet/data.h"

#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <iostream>

#include "apps/common/run_state.h"
#include "core/error.h"
#include "core/generator.h"
#include "data/detail/rng.h"
#include "data/image/mixup.h"
#include "data/image/rand_augment.h"
#include "data/image/transforms.h"
#include "data/sampler.h"
#include "ops/creation.h"
#include "ops/shape_ops.h"

namespace cfx::imagenet {

namespace fs = std::filesystem;

namespace {

data::BrokenImagePolicy policy_of(const ImageNetConfig& cfg) {
  return cfg.on_broken == "skip" ? data::BrokenImagePolicy::kSkip : data::BrokenImagePolicy::kStop;
}

// Decodes and transforms the images of `rows` into x [n, 3, img, img]; a skipped (broken)
// image leaves its row out. Returns the labels of the rows kept.
struct Decoded {
  Tensor x;
  std::vector<int64_t> labels;
};
template <class Transform>
Decoded decode_rows(const data::ImageFolder& folder, std::span<const int64_t> rows, int64_t img_size,
                    const Transform& transform) {
  const int64_t plane = 3 * img_size * img_size;
  Decoded d;
  d.x = empty({static_cast<int64_t>(rows.size()), 3, img_size, img_size});  // written row by row below
  float* out = d.x.data_ptr<float>();
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::optional<data::Image> image = folder.load(rows[r]);
    if (!image) continue;  // kSkip: load() said which file
    const data::Image t = transform(*image, r);
    CFX_CHECK(t.height == img_size && t.width == img_size, "conflux-imagenet: a transform made ", t.height, " x ",
              t.width, " from ", folder.sample(rows[r]).path.string(), ", expected ", img_size, " x ", img_size);
    data::write_normalized(t, data::kImageNetMean, data::kImageNetStd,
                           out + static_cast<int64_t>(d.labels.size()) * plane);
    d.labels.push_back(folder.label(rows[r]));
  }
  const int64_t n = static_cast<int64_t>(d.labels.size());
  if (n < static_cast<int64_t>(rows.size())) d.x = d.x.narrow(0, 0, n).contiguous();
  return d;
}

}  // namespace

ImageNetData load_folders(const ImageNetConfig& cfg) {
  const fs::path root = cfg.data_dir;
  ImageNetData d;
  data::ImageFolderOptions opts;
  opts.on_broken = policy_of(cfg);
  if (!cfg.synsets.empty()) opts.classes = data::read_synsets(cfg.synsets);
  d.train = std::make_shared<data::ImageFolder>(root / cfg.train_split, opts);
  opts.classes = d.train->classes();  // the val split is indexed by the training classes
  d.val = std::make_shared<data::ImageFolder>(root / cfg.val_split, opts);
  d.classes = d.train->classes();
  CFX_CHECK(d.train->size() > 0 && d.val->size() > 0, "conflux-imagenet: ", (root / cfg.train_split).string(), " has ",
            d.train->size(), " images and ", (root / cfg.val_split).string(), " has ", d.val->size(),
            "; both need some");
  return d;
}

std::unique_ptr<ImageLoader> make_train_loader(std::shared_ptr<const data::ImageFolder> folder,
                                               const ImageNetConfig& cfg, int64_t num_classes) {
  std::shared_ptr<const data::RandAugment> rand_augment;
  if (!cfg.rand_augment.empty()) rand_augment = std::make_shared<data::RandAugment>(cfg.rand_augment);
  data::MixupConfig mc;
  mc.mixup_alpha = cfg.mixup;
  mc.cutmix_alpha = cfg.cutmix;
  mc.switch_prob = cfg.mixup_switch;
  mc.label_smoothing = cfg.smoothing;
  mc.num_classes = num_classes;
  const bool mixing = cfg.mixup > 0 || cfg.cutmix > 0;
  const std::optional<data::Mixup> mixup = mixing ? std::optional<data::Mixup>(mc) : std::nullopt;
  CFX_CHECK(!mixing || cfg.batch_size % 2 == 0, "conflux-imagenet: Mixup/CutMix pair image i with B-1-i and need an "
            "even --batch-size, got ", cfg.batch_size);
  const data::RandomResizedCropOptions crop{.scale_min = cfg.scale_min};
  const int64_t size = cfg.img_size;
  const double hflip = cfg.hflip;

  auto make_batch = [folder, rand_augment, mixup, mixing, crop, size, hflip, num_classes, smoothing = cfg.smoothing](std::span<const int64_t> rows,
                                                                            uint64_t seed) {
    // Sample r draws from its own stream, so its pixels do not depend on the other rows.
    Decoded d = decode_rows(*folder, rows, size, [&](const data::Image& image, size_t r) {
      Generator gen(data::batch_seed(seed, 1, static_cast<int64_t>(r)));
      data::detail::Rng rng(gen);
      data::Image out = data::random_resized_crop(image, size, rng, crop);
      if (rng.uniform() < hflip) out = data::hflip(out);
      if (rand_augment) out = (*rand_augment)(out, rng);
      return out;
    });
    if (mixing && d.labels.size() % 2 == 1) {  // a skipped image left an odd batch: Mixup pairs rows
      d.labels.pop_back();
      d.x = d.x.narrow(0, 0, static_cast<int64_t>(d.labels.size())).contiguous();
    }
    const Tensor target = tensor(d.labels, {static_cast<int64_t>(d.labels.size())});
    Tensor soft_target;
    if (mixup) {
      Generator batch_gen(data::batch_seed(seed, 0, 0));
      data::detail::Rng rng(batch_gen);
      soft_target = (*mixup)(d.x, target, rng).targets;
    } else {  // no mixing: the smoothed one-hot targets
      soft_target = data::mixup_target(target, num_classes, 1.0, smoothing);
    }
    return data::TensorDict{{"x", d.x}, {"target", target}, {"soft_target", soft_target}};
  };
  return std::make_unique<ImageLoader>(
      std::make_shared<data::RandomSampler>(folder->size(), static_cast<uint64_t>(cfg.seed)), make_batch,
      data::LoaderOptions{.batch_size = cfg.batch_size, .drop_last = true, .seed = static_cast<uint64_t>(cfg.seed),
                          .num_workers = static_cast<int>(cfg.workers)});
}

std::unique_ptr<ImageLoader> make_eval_loader(std::shared_ptr<const data::ImageFolder> folder,
                                              const ImageNetConfig& cfg) {
  const ImageNetConfig c = cfg;
  auto make_batch = [folder, c](std::span<const int64_t> rows, uint64_t) {
    Decoded d = decode_rows(*folder, rows, c.img_size, [&](const data::Image& image, size_t) {
      return eval_transform(image, c);
    });
    const int64_t n = static_cast<int64_t>(d.labels.size());
    return data::TensorDict{{"x", d.x}, {"target", tensor(d.labels, {n})}};
  };
  return std::make_unique<ImageLoader>(std::make_shared<data::SequentialSampler>(folder->size()), make_batch,
                                       data::LoaderOptions{.batch_size = cfg.eval_batch_size,
                                                           .num_workers = static_cast<int>(cfg.workers)});
}

data::Image eval_transform(const data::Image& image, const ImageNetConfig& cfg) {
  // DeiT: Resize(int(256 / 224 * img_size)) keeps the aspect ratio, then CenterCrop(img_size).
  const int64_t shorter = static_cast<int64_t>(static_cast<double>(cfg.img_size) / cfg.crop_pct);
  return data::center_crop(data::resize_shorter(image, shorter, data::ResampleFilter::kBicubic), cfg.img_size);
}

Tensor eval_tensor(const data::Image& image, const ImageNetConfig& cfg) {
  return data::to_tensor_normalized(eval_transform(image, cfg));
}

void write_classes(const fs::path& out_dir, const std::vector<std::string>& classes) {
  std::string text;
  for (const std::string& c : classes) text += c + "\n";
  fs::create_directories(out_dir);
  app::write_file_atomically(out_dir / "classes.txt", text);
}

std::vector<std::string> read_classes(const fs::path& out_dir) {
  const fs::path file = out_dir / "classes.txt";
  CFX_CHECK(fs::exists(file), "conflux-imagenet: no ", file.string(), " (written when a run starts training)");
  return data::read_synsets(file);
}

}  // namespace cfx::imagenet
