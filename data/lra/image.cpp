// LRA pixel readers: Image (CIFAR-10 binary batches, TF grayscale) and Pathfinder (metadata
// text files + 8-bit gray PNGs); see lra.h.
#include <algorithm>
#include <exception>
#include <string>
#include <thread>

#include "data/detail/io.h"   // defines: read_file, LineReader, split_ws, parse_int
#include "data/detail/png.h"  // defines: decode_gray_png
#include "data/lra/lra.h"

namespace cfx::data {

namespace fs = std::filesystem;

// ---- Image (CIFAR-10) -----------------------------------------------------------------------------

std::shared_ptr<PackedDataset> load_cifar10_bin(const std::vector<fs::path>& files) {
  constexpr const char* kWho = "load_cifar10_bin";
  constexpr size_t kPixels = 1024, kRecord = 1 + 3 * kPixels;  // label + R, G, B planes
  CFX_CHECK(!files.empty(), kWho, ": no files given");
  auto ds = std::make_shared<PackedDataset>(/*id_offset=*/0);
  std::vector<uint8_t> gray(kPixels);
  for (const fs::path& file : files) {
    detail::require_file(kWho, file, "CIFAR-10 binary version: www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
    const std::string bytes = detail::read_file(kWho, file);
    const size_t records = bytes.size() / kRecord;
    CFX_CHECK(!bytes.empty(), kWho, ": ", file.string(), ": empty file");
    CFX_CHECK(bytes.size() % kRecord == 0, kWho, ": ", file.string(), ": record ", records, " is truncated (",
              bytes.size() % kRecord, " of ", kRecord, " bytes; file size ", bytes.size(), ")");
    ds->reserve(ds->size() + static_cast<int64_t>(records), (ds->size() + static_cast<int64_t>(records)) * 1024);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    for (size_t r = 0; r < records; ++r, p += kRecord) {
      CFX_CHECK(p[0] <= 9, kWho, ": ", file.string(), ": record ", r, ": label ", int(p[0]), " is outside 0..9");
      const uint8_t* red = p + 1;
      const uint8_t* green = red + kPixels;
      const uint8_t* blue = green + kPixels;
      for (size_t i = 0; i < kPixels; ++i) gray[i] = tf_rgb_to_gray(red[i], green[i], blue[i]);
      ds->add(gray, p[0]);
    }
  }
  return ds;
}

std::shared_ptr<PackedDataset> lra_image(const fs::path& dir, Split split) {
  if (split == Split::kTest) return load_cifar10_bin({dir / "test_batch.bin"});
  std::vector<fs::path> files;
  for (int k = 1; k <= 5; ++k) files.push_back(dir / ("data_batch_" + std::to_string(k) + ".bin"));
  auto all = load_cifar10_bin(files);
  const int64_t n_train = all->size() * 90 / 100;  // LRA: train[:90%], val = train[90%:]
  return split == Split::kTrain ? all->slice(0, n_train) : all->slice(n_train, all->size());
}

// ---- Pathfinder ------------------------------------------------------------------------------------

namespace {

struct PathfinderEntry {
  fs::path image;
  int64_t label;
  fs::path meta;
  int64_t line;
};

// metadata/*.npy in numeric order of the stem (0.npy, 1.npy, ..., 10.npy), others after by name.
std::vector<fs::path> metadata_files(const fs::path& dir) {
  std::vector<std::pair<std::pair<int64_t, std::string>, fs::path>> keyed;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".npy") continue;
    const std::string stem = entry.path().stem().string();
    const auto k = detail::parse_int(stem);
    keyed.push_back({{k ? *k : INT64_MAX, stem}, entry.path()});
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<fs::path> out;
  for (auto& [key, p] : keyed) out.push_back(p);
  return out;
}

}  // namespace

std::shared_ptr<PackedDataset> lra_pathfinder(const fs::path& root, Split split, int64_t image_size) {
  constexpr const char* kWho = "lra_pathfinder";
  CFX_CHECK(image_size >= 1 && image_size <= 1024, kWho, ": bad image_size ", image_size);
  const fs::path meta_dir = root / "metadata";
  detail::require_dir(kWho, meta_dir,
                      "expected lra_release/pathfinder32/<difficulty>/{metadata,imgs}; or make a synthetic copy "
                      "with cfx::data::generate_pathfinder (data/lra/generate.h)");
  const auto metas = metadata_files(meta_dir);
  CFX_CHECK(!metas.empty(), kWho, ": no metadata/*.npy files in ", meta_dir.string());

  std::vector<PathfinderEntry> entries;
  std::string line;
  for (const fs::path& meta : metas) {
    detail::LineReader reader(kWho, meta);
    while (reader.next(line)) {
      if (line.empty()) continue;
      const auto fields = detail::split_ws(line);
      CFX_CHECK(fields.size() >= 4, kWho, ": ", meta.string(), ":", reader.line(),
                ": expected at least 4 space-separated fields (subdir file index label ...), got ", fields.size());
      const auto label = detail::parse_int(fields[3]);
      CFX_CHECK(label && (*label == 0 || *label == 1), kWho, ": ", meta.string(), ":", reader.line(), ": label ",
                detail::quote(fields[3]), " is not 0 or 1");
      entries.push_back({root / fields[0] / fields[1], *label, meta, reader.line()});
    }
  }
  const auto n = static_cast<int64_t>(entries.size());
  const int64_t cut_val = n * 80 / 100, cut_test = n * 90 / 100;
  const int64_t begin = split == Split::kTrain ? 0 : split == Split::kVal ? cut_val : cut_test;
  const int64_t end = split == Split::kTrain ? cut_val : split == Split::kVal ? cut_test : n;

  // Decode [begin, end) on a few threads; each thread owns a contiguous chunk and keeps its
  // first error, and the lowest chunk's error is rethrown (so the report is deterministic).
  const int64_t count = end - begin, pixels = image_size * image_size;
  std::vector<uint8_t> images(static_cast<size_t>(count * pixels));
  std::vector<uint8_t> present(static_cast<size_t>(count), 0);
  const int64_t threads = std::clamp<int64_t>(std::min<int64_t>(std::thread::hardware_concurrency(), 8), 1,
                                              std::max<int64_t>(1, count / 256));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  auto work = [&](int64_t t) {
    try {
      for (int64_t i = begin + count * t / threads; i < begin + count * (t + 1) / threads; ++i) {
        const PathfinderEntry& e = entries[static_cast<size_t>(i)];
        std::error_code ec;
        CFX_CHECK(fs::is_regular_file(e.image, ec), kWho, ": missing file ", e.image.string(), " (listed at ",
                  e.meta.string(), ":", e.line, ")");
        const std::string bytes = detail::read_file(kWho, e.image);
        if (bytes.empty()) continue;  // the official pipeline drops empty images
        const auto px = detail::decode_gray_png(kWho, e.image, bytes, image_size, image_size);
        std::copy(px.begin(), px.end(), images.begin() + (i - begin) * pixels);
        present[static_cast<size_t>(i - begin)] = 1;
      }
    } catch (...) {
      errors[static_cast<size_t>(t)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& err : errors)
    if (err) std::rethrow_exception(err);

  auto ds = std::make_shared<PackedDataset>(/*id_offset=*/0);
  ds->reserve(count, count * pixels);
  for (int64_t i = 0; i < count; ++i)
    if (present[static_cast<size_t>(i)])
      ds->add(std::span<const uint8_t>(images).subspan(static_cast<size_t>(i * pixels), static_cast<size_t>(pixels)),
              entries[static_cast<size_t>(begin + i)].label);
  return ds;
}

}  // namespace cfx::data
