// conflux-bench-image-pipeline: the ImageNet app's input pipeline, images per second per
// thread. One JSON line per figure. The file bytes are read into memory first, so the figures
// are decode and transform, not the disk.
//
//   decode  decode_image (libjpeg-turbo / libspng, PIL's convert("RGB") pixels)
//   train   decode -> RandomResizedCrop(224, bicubic) -> hflip -> RandAugment rand-m9-mstd0.5-inc1
//           -> ToTensor + Normalize into a float batch slot (BENCHMARKS.md 3.1)
//   eval    decode -> Resize(256, bicubic) -> CenterCrop(224) -> ToTensor + Normalize
//
// --threads T runs T threads over disjoint shares of the files (what T loader workers do) and
// reports the total rate and the rate per thread. apps/bench/image_pipeline_torch.py times
// PIL + torchvision on the same files (apps/bench/image_pipeline_vs_torch.sh runs both).
//
//   conflux-bench-image-pipeline --data DIR [--what decode,train,eval] [--repeat 3] [--threads 1] [--img-size 224]
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apps/bench_machine.h"
#include "core/cpu_capability.h"
#include "core/generator.h"
#include "data/detail/rng.h"
#include "data/image/decode.h"
#include "data/image/image_folder.h"
#include "data/image/rand_augment.h"
#include "data/image/transforms.h"

using namespace cfx;
namespace fs = std::filesystem;

namespace {

struct Config {
  std::string data, what = "decode,train,eval";
  int64_t repeat = 3, img_size = 224;
  int threads = 1;
};

bool has(const std::string& list, const std::string& item) {
  std::stringstream in(list);
  for (std::string s; std::getline(in, s, ',');)
    if (s == item) return true;
  return false;
}

std::vector<std::string> read_files(const std::string& root, int64_t* pixels) {
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && data::has_image_extension(e.path().filename().string())) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> bytes;
  *pixels = 0;
  for (const fs::path& p : paths) {
    std::ifstream f(p, std::ios::binary);
    bytes.emplace_back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const data::Image img = data::decode_image(bytes.back(), p);
    *pixels += img.height * img.width;
  }
  return bytes;
}

// One pass of `stage` over files [begin, end) per repeat; the work of one loader worker.
void run_stage(const std::string& stage, const std::vector<std::string>& files, size_t begin, size_t end,
               const Config& c, uint64_t seed) {
  const data::RandAugment rand_augment("rand-m9-mstd0.5-inc1");
  std::vector<float> slot(static_cast<size_t>(3 * c.img_size * c.img_size));
  const int64_t shorter = c.img_size * 256 / 224;
  for (int64_t r = 0; r < c.repeat; ++r)
    for (size_t i = begin; i < end; ++i) {
      const data::Image img = data::decode_image(files[i], "bench");
      if (stage == "decode") continue;
      if (stage == "eval") {
        const data::Image out = data::center_crop(data::resize_shorter(img, shorter), c.img_size);
        data::write_normalized(out, data::kImageNetMean, data::kImageNetStd, slot.data());
        continue;
      }
      Generator gen(seed + static_cast<uint64_t>(r * 1000003 + static_cast<int64_t>(i)));
      data::detail::Rng rng(gen);
      data::Image out = data::random_resized_crop(img, c.img_size, rng);
      if (rng.uniform() < 0.5) out = data::hflip(out);
      out = rand_augment(out, rng);
      data::write_normalized(out, data::kImageNetMean, data::kImageNetStd, slot.data());
    }
}

void time_stage(const std::string& stage, const std::vector<std::string>& files, const Config& c) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  const size_t n = files.size();
  for (int t = 0; t < c.threads; ++t)
    workers.emplace_back(run_stage, stage, std::cref(files), n * t / c.threads, n * (t + 1) / c.threads, std::cref(c),
                         static_cast<uint64_t>(t));
  for (std::thread& w : workers) w.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rate = static_cast<double>(n) * static_cast<double>(c.repeat) / s;
  std::printf("{\"bench\":\"image_pipeline\",\"impl\":\"conflux\",\"stage\":\"%s\",\"threads\":%d,\"images\":%zu,"
              "\"repeat\":%lld,\"seconds\":%.4f,\"images_per_s\":%.1f,\"images_per_s_per_thread\":%.1f}\n",
              stage.c_str(), c.threads, n, static_cast<long long>(c.repeat), s, rate, rate / c.threads);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // As conflux-imagenet's main does (apps/imagenet/main.cpp): freed image buffers stay in the heap.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "conflux-bench-image-pipeline: %s needs a value\n", flag.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--data") c.data = value();
    else if (flag == "--what") c.what = value();
    else if (flag == "--repeat") c.repeat = std::stoll(value());
    else if (flag == "--img-size") c.img_size = std::stoll(value());
    else if (flag == "--threads") c.threads = std::stoi(value());
    else {
      std::fprintf(stderr, "usage: conflux-bench-image-pipeline --data DIR [--what decode,train,eval] [--repeat N] "
                           "[--threads T] [--img-size S]\n");
      return flag == "--help" || flag == "-h" ? 0 : 2;
    }
  }
  try {
    if (c.data.empty()) throw std::runtime_error("--data DIR (a folder of images, searched recursively) is required");
    if (c.threads < 1 || c.repeat < 1) throw std::runtime_error("--threads and --repeat must be >= 1");
    int64_t pixels = 0;
    const std::vector<std::string> files = read_files(c.data, &pixels);
    if (files.empty()) throw std::runtime_error("no image files under " + c.data);
    int64_t bytes = 0;
    for (const std::string& f : files) bytes += static_cast<int64_t>(f.size());
    std::printf("{\"config\":{\"bench\":\"image_pipeline\",\"cpu\":\"%s\",\"cpu_capability\":\"%s\",\"data\":\"%s\","
                "\"files\":%zu,\"mean_kb\":%.1f,\"mean_megapixels\":%.3f,\"threads\":%d,\"repeat\":%lld,"
                "\"img_size\":%lld},\"loadavg_1min\":%.2f}\n",
                cpu_model_name().c_str(), cpu_capability_name(cpu_capability()), c.data.c_str(), files.size(),
                static_cast<double>(bytes) / 1024.0 / static_cast<double>(files.size()),
                static_cast<double>(pixels) / 1e6 / static_cast<double>(files.size()), c.threads,
                static_cast<long long>(c.repeat), static_cast<long long>(c.img_size), bench::load_average());
    for (const char* stage : {"decode", "train", "eval"})
      if (has(c.what, stage)) time_stage(stage, files, c);
    std::printf("{\"done\":true,\"loadavg_1min\":%.2f}\n", bench::load_average());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conflux-bench-image-pipeline: %s\n", e.what());
    return 1;
  }
  return 0;
}
