// ImageFolder and the synset-file readers (data/image/image_folder.h).
#include "data/image/image_folder.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "data/detail/io.h"  // defines: require_dir, LineReader, trim, split_ws, lower
#include "data/image/decode.h"

namespace cfx::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kWho = "ImageFolder";

std::string extension_list() {
  std::string out;
  for (std::string_view e : kImageExtensions) out += std::string(out.empty() ? "" : ", ") + std::string(e);
  return out;
}

// torchvision find_classes: sorted(entry.name for entry in os.scandir(dir) if entry.is_dir()).
std::vector<std::string> class_folders(const fs::path& root) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(root)) {
    std::error_code ec;
    if (e.is_directory(ec)) names.push_back(e.path().filename().string());  // follows links, as is_dir()
  }
  std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned: Python's order
  return names;
}

// make_dataset for one class: for root, _, fnames in sorted(os.walk(dir, followlinks=True)):
// for fname in sorted(fnames), keeping the image extensions.
std::vector<fs::path> class_files(const fs::path& dir) {
  std::map<std::string, std::vector<std::string>> by_folder;  // folder path -> file names
  by_folder[dir.string()];
  const auto opts = fs::directory_options::follow_directory_symlink;
  for (auto it = fs::recursive_directory_iterator(dir, opts); it != fs::recursive_directory_iterator(); ++it) {
    std::error_code ec;
    if (it->is_directory(ec)) continue;  // os.walk lists every non-directory (broken links too) as a file
    const std::string name = it->path().filename().string();
    if (has_image_extension(name)) by_folder[it->path().parent_path().string()].push_back(name);
  }
  std::vector<fs::path> files;
  for (auto& [folder, names] : by_folder) {
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) files.push_back(fs::path(folder) / n);
  }
  return files;
}

}  // namespace

bool has_image_extension(std::string_view filename) {
  const std::string low = detail::lower(filename);
  return std::any_of(std::begin(kImageExtensions), std::end(kImageExtensions),
                     [&](std::string_view e) { return low.size() >= e.size() && low.ends_with(e); });
}

ImageFolder::ImageFolder(const fs::path& root, ImageFolderOptions options)
    : root_(root), policy_(options.on_broken) {
  detail::require_dir(kWho, root, "an ImageFolder root holds one folder per class: <root>/<class>/<image files>");
  try {
    scan(std::move(options.classes));
  } catch (const fs::filesystem_error& e) {
    CFX_FAIL(kWho, ": ", root.string(), ": cannot list the folder: ", e.what());
  }
}

void ImageFolder::scan(std::vector<std::string> given) {
  const fs::path& root = root_;
  const std::vector<std::string> folders = class_folders(root);
  const bool fixed = !given.empty();
  if (fixed) {
    classes_ = std::move(given);
    std::unordered_map<std::string, int64_t> seen;
    for (size_t k = 0; k < classes_.size(); ++k)
      CFX_CHECK(seen.emplace(classes_[k], k).second, kWho, ": ", root.string(), ": class '", classes_[k],
                "' is listed twice (indices ", seen[classes_[k]], " and ", k, ")");
    for (const std::string& f : folders)
      CFX_CHECK(seen.count(f), kWho, ": ", root.string(), ": folder '", f, "' is not one of the ", classes_.size(),
                " given classes (a synsets file lists them; is this the right root or synsets file?)");
  } else {
    CFX_CHECK(!folders.empty(), kWho, ": ", root.string(), ": found no class folder (expected <root>/<class>/<images>)");
    classes_ = folders;
  }
  std::vector<std::string> empty;
  for (size_t k = 0; k < classes_.size(); ++k) {
    const fs::path dir = root / classes_[k];
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;  // only possible with a fixed class list
    const std::vector<fs::path> files = class_files(dir);
    if (files.empty()) empty.push_back(classes_[k]);
    for (const fs::path& f : files) samples_.push_back({f, static_cast<int64_t>(k)});
  }
  if (!fixed && !empty.empty()) {
    std::string list;
    for (const std::string& c : empty) list += (list.empty() ? "" : ", ") + c;
    CFX_FAIL(kWho, ": ", root.string(), ": found no valid file for the classes ", list,
             " (supported extensions: ", extension_list(), ")");
  }
}

int64_t ImageFolder::class_index(std::string_view name) const {
  const auto it = std::find(classes_.begin(), classes_.end(), name);
  return it == classes_.end() ? -1 : static_cast<int64_t>(it - classes_.begin());
}

const ImageSample& ImageFolder::sample(int64_t i) const {
  CFX_CHECK(i >= 0 && i < size(), kWho, ": ", root_.string(), ": sample ", i, " out of range [0, ", size(), ")");
  return samples_[static_cast<size_t>(i)];
}

std::vector<int64_t> ImageFolder::class_counts() const {
  std::vector<int64_t> counts(classes_.size(), 0);
  for (const ImageSample& s : samples_) ++counts[static_cast<size_t>(s.label)];
  return counts;
}

std::optional<Image> ImageFolder::load(int64_t i) const {
  const ImageSample& s = sample(i);
  try {
    return read_image(s.path);
  } catch (const Error& e) {
    if (policy_ == BrokenImagePolicy::kStop)
      CFX_FAIL(kWho, ": sample ", i, " (class ", classes_[static_cast<size_t>(s.label)], ") does not decode: ",
               e.what(), "\nHINT: BrokenImagePolicy::kSkip (conflux-imagenet --on-broken skip) skips such files");
    skipped_.fetch_add(1);
    // One write, so lines from several loader threads do not interleave.
    std::cerr << std::string(kWho) + ": skipping sample " + std::to_string(i) + ": " + e.what() + "\n";
    return std::nullopt;
  }
}

std::vector<std::string> read_synsets(const fs::path& path) {
  constexpr const char* who = "read_synsets";
  detail::LineReader in(who, path);
  std::vector<std::string> names;
  std::unordered_map<std::string, int64_t> line_of;
  std::string line;
  while (in.next(line)) {
    const std::string_view name = detail::trim(line);
    if (name.empty()) continue;
    CFX_CHECK(detail::split_ws(name).size() == 1, who, ": ", path.string(), ":", in.line(),
              ": expected one class name (wnid) per line, got '", name, "'");
    const auto [it, fresh] = line_of.emplace(std::string(name), in.line());
    CFX_CHECK(fresh, who, ": ", path.string(), ":", in.line(), ": '", name, "' repeats line ", it->second);
    names.emplace_back(name);
  }
  CFX_CHECK(!names.empty(), who, ": ", path.string(), ": no class names");
  return names;
}

std::vector<SynsetName> read_synset_names(const fs::path& path) {
  constexpr const char* who = "read_synset_names";
  detail::LineReader in(who, path);
  std::vector<SynsetName> out;
  std::unordered_map<std::string, int64_t> line_of;
  std::string line;
  while (in.next(line)) {
    const std::string_view s = detail::trim(line);
    if (s.empty()) continue;
    const size_t space = s.find_first_of(" \t");
    SynsetName entry{std::string(s.substr(0, space)),
                     space == std::string_view::npos ? std::string() : std::string(detail::trim(s.substr(space)))};
    const auto [it, fresh] = line_of.emplace(entry.wnid, in.line());
    CFX_CHECK(fresh, who, ": ", path.string(), ":", in.line(), ": '", entry.wnid, "' repeats line ", it->second);
    out.push_back(std::move(entry));
  }
  CFX_CHECK(!out.empty(), who, ": ", path.string(), ": no '<wnid> <names>' lines");
  return out;
}

}  // namespace cfx::data
