// conflux-imagenet data: the ImageFolder splits and class list, and the loaders that decode,
// augment and batch them on worker threads (BENCHMARKS.md 3.1):
//   train  RandomResizedCrop(img, bicubic) -> hflip -> RandAugment -> normalise, then
//          Mixup/CutMix over the batch with label smoothing folded into the soft targets
//   eval   Resize(img / crop_pct, bicubic) -> CenterCrop(img) -> normalise
// Every random draw of sample r in batch k of epoch e comes from a seed derived from
// (seed, e, k, r), so a batch is the same whichever worker builds it and after a resume.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "apps/imagenet/config.h"
#include "core/tensor.h"
#include "data/image/image.h"
#include "data/image/image_folder.h"
#include "data/loader.h"
#include "data/tensor_dict.h"

namespace cfx::imagenet {

struct ImageNetData {
  std::shared_ptr<const data::ImageFolder> train, val;
  std::vector<std::string> classes;  // class index -> wnid (folder name)
};

// <data>/<train-split> and <data>/<val-split>, classes from --synsets or the train split's
// folders (the val split must use the same ones).
ImageNetData load_folders(const ImageNetConfig& cfg);

// Batches on the CPU: {"x": [B, 3, img, img] float32 normalised, "target": [B] int64, and for
// training "soft_target": [B, classes] float32 (Mixup/CutMix + smoothing)}. Training batches
// are shuffled each epoch and the last partial batch is dropped (DeiT's sampler); evaluation
// batches are in file order.
using ImageLoader = data::Loader<data::TensorDict>;
std::unique_ptr<ImageLoader> make_train_loader(std::shared_ptr<const data::ImageFolder> folder,
                                               const ImageNetConfig& cfg, int64_t num_classes);
std::unique_ptr<ImageLoader> make_eval_loader(std::shared_ptr<const data::ImageFolder> folder,
                                              const ImageNetConfig& cfg);

// The eval transform of one decoded image: Resize(img / crop_pct, bicubic) -> CenterCrop(img),
// and that as the model's input, normalised [3, img, img] float32.
data::Image eval_transform(const data::Image& image, const ImageNetConfig& cfg);
Tensor eval_tensor(const data::Image& image, const ImageNetConfig& cfg);

// A run's class list, <out>/classes.txt (one wnid per line), written at the start of training
// and read by eval and predict.
void write_classes(const std::filesystem::path& out_dir, const std::vector<std::string>& classes);
std::vector<std::string> read_classes(const std::filesystem::path& out_dir);

}  // namespace cfx::imagenet
