// torchvision.datasets.ImageFolder (0.14): root/<class>/**/<file> with
//   classes  the sorted names of root's sub-folders (Python's sorted: byte order), index = rank
//   samples  per class in class order, the files of os.walk(class folder, followlinks=True)
//            sorted by folder path, then by name within a folder, keeping those whose
//            lower-cased name ends in one of IMG_EXTENSIONS; a class without files is an error
// or, with a class list (a synsets file: one wnid per line = the class index, as ImageNet's
// 1000 classes), the classes are that list: a folder not in it is an error, a class without
// a folder or files is allowed (0 samples), so a subset such as Imagenette keeps the
// 1000-class indices.
//
// Loading decodes with decode_image (PIL's convert("RGB")). A file that does not decode is
// handled by the folder's BrokenImagePolicy:
//   kStop  load() throws cfx::Error naming the file and what is wrong
//   kSkip  load() prints one line to stderr and returns nullopt; the caller substitutes
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/image/image.h"

namespace cfx::data {

enum class BrokenImagePolicy { kStop, kSkip };

// torchvision's IMG_EXTENSIONS (matched case-insensitively at the end of the file name).
inline constexpr std::string_view kImageExtensions[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp",
                                                        ".pgm", ".tif",  ".tiff", ".webp"};
bool has_image_extension(std::string_view filename);

struct ImageFolderOptions {
  // Fixes the classes (index = position); when empty, the classes are root's sorted folders.
  std::vector<std::string> classes{};
  BrokenImagePolicy on_broken = BrokenImagePolicy::kStop;
};

struct ImageSample {
  std::filesystem::path path;
  int64_t label = 0;
};

class ImageFolder {
 public:
  explicit ImageFolder(const std::filesystem::path& root, ImageFolderOptions options = {});

  const std::filesystem::path& root() const { return root_; }
  int64_t size() const { return static_cast<int64_t>(samples_.size()); }
  int64_t num_classes() const { return static_cast<int64_t>(classes_.size()); }
  // Class index -> name (the folder name / wnid).
  const std::vector<std::string>& classes() const { return classes_; }
  // The index of class `name`, or -1.
  int64_t class_index(std::string_view name) const;
  const std::vector<ImageSample>& samples() const { return samples_; }
  const ImageSample& sample(int64_t i) const;
  int64_t label(int64_t i) const { return sample(i).label; }
  // Samples per class, indexed like classes().
  std::vector<int64_t> class_counts() const;
  BrokenImagePolicy policy() const { return policy_; }

  // Image i as RGB. A broken file: throws under kStop; under kSkip logs one line to stderr,
  // counts it in skipped() and returns nullopt. Thread-safe.
  std::optional<Image> load(int64_t i) const;
  // How many load() calls returned nullopt so far.
  int64_t skipped() const { return skipped_.load(); }

 private:
  void scan(std::vector<std::string> given);  // fills classes_ and samples_

  std::filesystem::path root_;
  std::vector<std::string> classes_;
  std::vector<ImageSample> samples_;
  BrokenImagePolicy policy_;
  mutable std::atomic<int64_t> skipped_{0};
};

// A synsets file: one class name (wnid) per line, the line order being the class index
// (../shared/data/imagenet/synsets.txt: the 1000 ImageNet wnids, sorted). Blank lines are
// skipped; a repeated name or a line with spaces is an error.
std::vector<std::string> read_synsets(const std::filesystem::path& path);

// LOC_synset_mapping.txt: "<wnid> <names>" per line, in class-index order.
struct SynsetName {
  std::string wnid;
  std::string names;  // "tench, Tinca tinca"
};
std::vector<SynsetName> read_synset_names(const std::filesystem::path& path);

}  // namespace cfx::data
