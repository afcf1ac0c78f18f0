// conflux-imagenet commands (imagenet.h): flag layering, generate, presets, eval, predict, and
// dispatch.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>

#include "apps/common/run_config.h"
#include "apps/common/run_state.h"
#include "apps/imagenet/imagenet.h"
#include "core/error.h"
#include "data/image/encode.h"
#include "data/image/image_folder.h"
#include "nn/models.h"

namespace cfx::imagenet {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: conflux-imagenet <command> [flags]    (conflux-imagenet <command> --help lists the flags)\n"
    "  train     --data DIR [--preset imagenet|small] [--out DIR] [--resume] ...   DIR/train, DIR/val: ImageFolders\n"
    "  eval      --out RUN_DIR [--checkpoint FILE]   val top-1 / top-5 of the run's best.h5 (or FILE)\n"
    "  predict   --out RUN_DIR [--names FILE] IMAGE...   the top-5 classes of each image\n"
    "  generate  --out DIR [--classes K --train N --val N --seed S]   a synthetic ImageFolder of shapes\n"
    "  presets   the presets, their model size, and the paper's figures\n";

// A synthetic ImageFolder: class k of K is one shape (disc, square, ring, cross, bars, ...) in
// its own hue, at a random place and size on a noisy background of random colour, in images of
// varied size and aspect (so the crops and resizes are exercised). Folders are named like
// wnids (n0000000k) so the layout is ImageNet's.
int run_generate(const std::vector<std::string>& args) {
  std::string out;
  int64_t classes = 10, train = 40, val = 10, seed = 1, min_side = 72, max_side = 112;
  app::Flags f("conflux-imagenet generate", "Writes <out>/{train,val}/<wnid>/*.JPEG, a synthetic ImageFolder of shapes.");
  f.add("out", &out, "folder to write train/ and val/ into");
  f.add("classes", &classes, "classes (at most 10 shapes; colours repeat past 10)");
  f.add("train", &train, "training images per class");
  f.add("val", &val, "val images per class");
  f.add("min-side", &min_side, "smallest image side");
  f.add("max-side", &max_side, "largest image side");
  f.add("seed", &seed, "random seed");
  f.parse(args);
  if (f.help_requested()) return std::cout << f.help(), 0;
  CFX_CHECK(!out.empty(), "conflux-imagenet generate: --out is required");
  CFX_CHECK(classes >= 2 && classes <= 100 && train > 0 && val > 0 && min_side >= 16 && max_side >= min_side,
            "conflux-imagenet generate: need 2 <= classes <= 100, positive counts, 16 <= min-side <= max-side");
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 12.0);
  auto hue = [](double h) {  // a saturated colour of hue h in [0, 1)
    const double r = 0.5 + 0.5 * std::cos(6.2832 * h), g = 0.5 + 0.5 * std::cos(6.2832 * (h - 1.0 / 3)),
                 b = 0.5 + 0.5 * std::cos(6.2832 * (h - 2.0 / 3));
    return std::array<double, 3>{255 * r, 255 * g, 255 * b};
  };
  for (const auto& [split, count] : {std::pair<std::string, int64_t>{"train", train}, {"val", val}}) {
    for (int64_t k = 0; k < classes; ++k) {
      const fs::path dir = fs::path(out) / split / fmt::format("n{:08d}", k);
      fs::create_directories(dir);
      const std::array<double, 3> fg = hue(static_cast<double>(k) / static_cast<double>(std::min<int64_t>(classes, 10)) +
                                           0.37 * static_cast<double>(k / 10));
      for (int64_t i = 0; i < count; ++i) {
        const int64_t h = min_side + static_cast<int64_t>(unit(rng) * static_cast<double>(max_side - min_side + 1));
        const int64_t w = min_side + static_cast<int64_t>(unit(rng) * static_cast<double>(max_side - min_side + 1));
        std::array<double, 3> bg{60 + 140 * unit(rng), 60 + 140 * unit(rng), 60 + 140 * unit(rng)};
        const double side = static_cast<double>(std::min(h, w));
        const double radius = side * (0.22 + 0.12 * unit(rng));
        const double cy = static_cast<double>(h) / 2 + (unit(rng) - 0.5) * (static_cast<double>(h) - 2 * radius);
        const double cx = static_cast<double>(w) / 2 + (unit(rng) - 0.5) * (static_cast<double>(w) - 2 * radius);
        data::Image img(h, w, 3);
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) {
            const double dy = (static_cast<double>(y) - cy) / radius, dx = (static_cast<double>(x) - cx) / radius;
            const double r2 = dx * dx + dy * dy;
            bool inside = false;
            switch (k % 10) {
              case 0: inside = r2 <= 1; break;                                          // disc
              case 1: inside = std::abs(dx) <= 0.8 && std::abs(dy) <= 0.8; break;       // square
              case 2: inside = r2 <= 1 && r2 >= 0.45; break;                            // ring
              case 3: inside = (std::abs(dx) <= 0.25 || std::abs(dy) <= 0.25) && r2 <= 1.4; break;  // cross
              case 4: inside = std::abs(dy) <= 1 && std::abs(dx) <= 1 && static_cast<int64_t>(std::floor(dx * 3 + 3)) % 2 == 0; break;  // bars
              case 5: inside = dy <= 0.8 && dy >= -0.8 && std::abs(dx) <= (dy + 0.8) * 0.6; break;  // triangle
              case 6: inside = std::abs(dx) + std::abs(dy) <= 1; break;                 // diamond
              case 7: inside = std::abs(dx) <= 1 && std::abs(dy) <= 1 && ((static_cast<int64_t>(std::floor(dx * 2 + 2)) + static_cast<int64_t>(std::floor(dy * 2 + 2))) % 2 == 0); break;  // checker
              case 8: inside = std::abs(dx) <= 1.1 && std::abs(dy) <= 0.35; break;      // bar
              default: inside = std::abs(dx - dy) <= 0.35 && r2 <= 1.2; break;          // diagonal
            }
            for (int64_t c = 0; c < 3; ++c)
              img.at(y, x, c) = static_cast<uint8_t>(std::clamp((inside ? fg[c] : bg[c]) + noise(rng), 0.0, 255.0));
          }
        data::write_jpeg(dir / fmt::format("n{:08d}_{}.JPEG", k, i), img, 90);
      }
    }
  }
  std::cout << fmt::format("wrote {}/{{train,val}}/n00000000..n{:08d}: {} / {} JPEGs per class, {}-{} px\n", out,
                           classes - 1, train, val, min_side, max_side);
  return 0;
}

int run_presets() {
  app::Table table({"preset", "img", "stages (width x depth)", "heads", "params (1000 classes)", "epochs", "batch", "lr"});
  for (const std::string& name : preset_names()) {
    const ImageNetConfig c = preset(name);
    const nn::FlowformerVision model(model_config(c, 1000));
    table.add_row({name, std::to_string(c.img_size), c.embed_dims + " x " + c.depths, std::to_string(c.heads),
                   fmt::format("{:.2f}M", static_cast<double>(model.num_parameters()) / 1e6), std::to_string(c.epochs),
                   std::to_string(c.batch_size), fmt::format("{:g}", scaled_lr(c))});
  }
  std::cout << table.str()
            << "paper (BENCHMARKS.md 3.4): Flowformer 80.6% top-1 / 94.9% top-5, \"41M\" params, 6.3 GFLOPs "
               "(Full Attn. 78.7 / 94.3; DeiT-S 79.8 / 95.0).\nThe official flowformer.py model counts 43,311,304 "
               "parameters, as the imagenet row does (tests/nn/test_models.cpp).\n";
  return 0;
}

// "<wnid> <names>" lines (LOC_synset_mapping.txt) -> wnid -> names.
std::map<std::string, std::string> read_names(const std::string& file) {
  std::map<std::string, std::string> names;
  if (file.empty()) return names;
  for (const auto& [wnid, name] : data::read_synset_names(file)) names[wnid] = name;
  return names;
}

}  // namespace

ImageNetConfig parse_config(const std::string& command, const std::vector<std::string>& args, bool* help,
                            std::vector<std::string>* files) {
  const std::string out = app::Flags::peek(args, "out");
  std::map<std::string, app::JsonValue> saved;
  const bool from_run = command == "eval" || command == "predict" || app::resume_requested(args);
  if (!out.empty() && from_run) saved = app::saved_config(out);
  std::string name = app::Flags::peek(args, "preset");
  if (name.empty()) name = saved.count("preset") ? app::json_text(saved["preset"]) : "imagenet";

  ImageNetConfig cfg = preset(name);
  app::Flags flags("conflux-imagenet " + command,
                   command == "train" ? "Trains the vision Flowformer; defaults = --preset (imagenet: the paper's recipe)."
                                      : "Flags default to the run's config.json.");
  add_flags(flags, cfg);
  const bool go = app::parse_run_flags(flags, args, saved, per_invocation_flag, files);
  if (help) *help = !go;
  if (!go) return cfg;
  if (command != "predict") validate(cfg);  // predict reads no folder
  return cfg;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) return std::cerr << kUsage, 2;
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") return std::cout << kUsage, 0;
  if (command == "generate") return run_generate(rest);
  if (command == "presets") return run_presets();
  if (command == "train" || command == "eval" || command == "predict") {
    bool help = false;
    std::vector<std::string> files;
    const ImageNetConfig cfg = parse_config(command, rest, &help, command == "predict" ? &files : nullptr);
    if (help) return 0;
    if (command == "eval") {
      const app::EvalResult r = evaluate_checkpoint(cfg);
      std::cout << fmt::format("val: top-1 {:.2f}% top-5 {:.2f}% loss {:.4f} ({} images)\n", 100 * r.acc,
                               100 * r.extra.at(0).second, r.loss, r.examples);
      return 0;
    }
    if (command == "predict") {
      const std::map<std::string, std::string> names = read_names(cfg.names);
      const auto predictions = predict(cfg, files);
      for (size_t i = 0; i < files.size(); ++i) {
        std::cout << files[i] << "\n";
        for (const Prediction& p : predictions[i]) {
          const auto it = names.find(p.wnid);
          std::cout << fmt::format("  {:6.2f}%  {:4d}  {}  {}\n", 100 * p.probability, p.index, p.wnid,
                                   it == names.end() ? "" : it->second);
        }
      }
      return 0;
    }
    fs::create_directories(cfg.out_dir);
    app::write_file_atomically(fs::path(cfg.out_dir) / "config.json", app::config_json_of(cfg));
    train(cfg);
    return 0;
  }
  CFX_FAIL("conflux-imagenet: unknown command '", command, "'\n", kUsage);
}

}  // namespace cfx::imagenet
