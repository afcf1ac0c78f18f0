// conflux-imagenet end to end (apps/imagenet/imagenet.h), called as its main() calls it: a
// generated ImageFolder, training with the whole pipeline (crop, flip, RandAugment, Mixup/
// CutMix, soft targets), the schedule, best.h5 and classes.txt, resume, learning, eval and
// predict of the best model, batches independent of the worker count, the Imagenette sample
// with the 1000-class synsets when ../shared/data is there, and flag errors.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app_testing.h"
#include "apps/common/run_state.h"
#include "apps/imagenet/data.h"
#include "apps/imagenet/imagenet.h"
#include "core/error.h"
#include "nn/checkpoint.h"
#include "ops/creation.h"
#include "ops/reduce.h"

namespace fs = std::filesystem;
using cfx::testing::num;
using cfx::testing::read_jsonl;
using cfx::testing::str;
using cfx::testing::TempDir;

namespace {

void generate(const fs::path& data, int64_t train = 8, int64_t val = 4) {
  REQUIRE(cfx::imagenet::run({"generate", "--out", data.string(), "--classes", "4", "--train", std::to_string(train),
                              "--val", std::to_string(val), "--min-side", "40", "--max-side", "56"}) == 0);
}

// A tiny model at 32 px on the generated set: 32 images / batch 8 = 4 steps per epoch.
std::vector<std::string> tiny_train(const fs::path& data, const fs::path& out, int epochs) {
  return {"train", "--preset", "small", "--data", data.string(), "--out", out.string(), "--img-size", "32",
          "--embed-dims", "8,16,16,24", "--depths", "1,1,1,1", "--heads", "2", "--epochs", std::to_string(epochs),
          "--batch-size", "8", "--eval-batch-size", "6", "--warmup-epochs", "1", "--eval-every", "1",
          "--checkpoint-every", "1", "--log-every", "1000", "--workers", "1"};
}

}  // namespace

TEST_CASE("conflux-imagenet: generate -> train: files, per-epoch evaluations with top-5, eval and predict of best.h5") {
  TempDir tmp("imagenet_train");
  const fs::path data = tmp.path / "data", out = tmp.path / "run";
  generate(data);
  REQUIRE(cfx::imagenet::run(tiny_train(data, out, 3)) == 0);
  for (const char* f : {"config.json", "classes.txt", "state.json", "metrics.jsonl", "best.h5", "ckpt_000012.h5"})
    CHECK_MESSAGE(fs::exists(out / f), "missing ", f);
  CHECK(cfx::imagenet::read_classes(out) == std::vector<std::string>{"n00000000", "n00000001", "n00000002", "n00000003"});
  std::vector<int64_t> eval_steps;
  double best = -1;
  std::vector<double> lrs;
  for (const auto& r : read_jsonl(out / "metrics.jsonl")) {
    if (str(r.at("split")) == "train") {
      lrs.push_back(num(r.at("lr")));
      continue;
    }
    CHECK(str(r.at("split")) == "val");
    eval_steps.push_back(static_cast<int64_t>(num(r.at("step"))));
    best = std::max(best, num(r.at("acc")));
    CHECK(num(r.at("top5")) >= num(r.at("acc")));
    CHECK(num(r.at("top5")) == 1.0);  // 4 classes: every target is in the top 5
    CHECK(num(r.at("examples")) == 16);
  }
  CHECK(eval_steps == std::vector<int64_t>{4, 8, 12});  // after each epoch (the last is the final evaluation)
  // DeiT's per-epoch stepping: epochs 0 and 1 at warmup_lr, epoch 2 at the cosine's value for 1.
  REQUIRE(lrs.size() == 12);
  const double lr = 8e-3 * 8 / 512;
  for (int i = 0; i < 8; ++i) CHECK(lrs[i] == doctest::Approx(1e-6));
  CHECK(lrs[8] == doctest::Approx(1e-5 + 0.5 * (lr - 1e-5) * (1 + std::cos(M_PI / 3))));

  // eval of best.h5 gives the best evaluation's accuracy; predict ranks the 4 classes.
  const cfx::imagenet::ImageNetConfig cfg = cfx::imagenet::parse_config("eval", {"--out", out.string()});
  CHECK(cfg.img_size == 32);  // from config.json
  const cfx::app::EvalResult r = cfx::imagenet::evaluate_checkpoint(cfg);
  CHECK(r.acc == doctest::Approx(best));
  CHECK(r.examples == 16);
  const fs::path image = data / "val" / "n00000002" / "n00000002_0.JPEG";
  const auto predictions = cfx::imagenet::predict(cfg, {image.string()});
  REQUIRE(predictions.size() == 1);
  REQUIRE(predictions[0].size() == 4);
  double total = 0;
  for (size_t i = 0; i < 4; ++i) {
    total += predictions[0][i].probability;
    if (i) CHECK(predictions[0][i - 1].probability >= predictions[0][i].probability);
    CHECK(predictions[0][i].wnid == "n0000000" + std::to_string(predictions[0][i].index));
  }
  CHECK(total == doctest::Approx(1.0));
  CHECK(cfx::imagenet::run({"predict", "--out", out.string(), image.string()}) == 0);
}

TEST_CASE("conflux-imagenet: a run stopped after 2 epochs and resumed ends as the uninterrupted one") {
  TempDir tmp("imagenet_resume");
  const fs::path data = tmp.path / "data", a = tmp.path / "a", b = tmp.path / "b";
  generate(data);
  // Epochs 0 and 1 train at warmup_lr whatever the run's length, so stopping at 2 is a prefix.
  REQUIRE(cfx::imagenet::run(tiny_train(data, a, 3)) == 0);
  REQUIRE(cfx::imagenet::run(tiny_train(data, b, 2)) == 0);
  auto resume = tiny_train(data, b, 3);
  resume.push_back("--resume");
  REQUIRE(cfx::imagenet::run(resume) == 0);
  const auto pa = cfx::nn::load_tensors(a / "ckpt_000012.h5"), pb = cfx::nn::load_tensors(b / "ckpt_000012.h5");
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(cfx::to_vector<double>(pa[i].second.to(cfx::kFloat64)) == cfx::to_vector<double>(pb[i].second.to(cfx::kFloat64)));
  }
}

TEST_CASE("conflux-imagenet: training batches are the same whatever the number of workers") {
  TempDir tmp("imagenet_workers");
  const fs::path data = tmp.path / "data";
  generate(data);
  cfx::imagenet::ImageNetConfig cfg = cfx::imagenet::preset("small");
  cfg.data_dir = data.string();
  cfg.img_size = 32;
  cfg.batch_size = 8;
  const cfx::imagenet::ImageNetData d = cfx::imagenet::load_folders(cfg);
  auto batches = [&](int64_t workers) {
    cfg.workers = workers;
    auto loader = cfx::imagenet::make_train_loader(d.train, cfg, 4);
    std::vector<std::vector<float>> out;
    for (int64_t epoch : {0, 1}) {
      loader->set_epoch(epoch);
      while (auto b = loader->next_batch()) {
        CHECK(b->at("x").shape() == cfx::Shape{8, 3, 32, 32});
        CHECK(b->at("soft_target").shape() == cfx::Shape{8, 4});
        const std::vector<float> rows = cfx::to_vector<float>(cfx::sum(b->at("soft_target"), {1}));
        for (float s : rows) CHECK(s == doctest::Approx(1.0f).epsilon(1e-6));
        out.push_back(cfx::to_vector<float>(b->at("x")));
      }
    }
    return out;
  };
  const auto serial = batches(0), parallel = batches(2);
  REQUIRE(serial.size() == 8);
  CHECK(serial == parallel);
  CHECK(serial[0] != serial[4]);  // epoch 1 draws new crops
}

TEST_CASE("conflux-imagenet: learns the generated shapes (well above chance)") {
  TempDir tmp("imagenet_learn");
  const fs::path data = tmp.path / "data", out = tmp.path / "run";
  generate(data, 24, 8);
  // Light augmentation: 96 images, 8 epochs of 12 steps.
  auto args = tiny_train(data, out, 8);
  for (const char* a : {"--mixup", "0", "--cutmix", "0", "--rand-augment", "", "--lr", "0.08", "--eval-every", "8"})
    args.push_back(a);
  REQUIRE(cfx::imagenet::run(args) == 0);
  const auto state = cfx::app::read_run_state(out);
  REQUIRE(state);
  MESSAGE("best val top-1 on 4 generated classes: ", *state->best);
  CHECK(*state->best >= 0.6);  // chance 0.25
}

TEST_CASE("conflux-imagenet: the Imagenette sample with the 1000-class synsets, and predict with names") {
  const fs::path shared = CONFLUX_SHARED_DATA_DIR "/imagenet";
  if (!fs::exists(shared / "imagenette2-160-subset")) {
    MESSAGE("SKIPPED: ", shared.string(), " is absent (the Imagenette sample lives in ../shared/data)");
    return;
  }
  TempDir tmp("imagenet_sample");
  const fs::path out = tmp.path / "run";
  REQUIRE(cfx::imagenet::run({"train", "--preset", "small", "--data", (shared / "imagenette2-160-subset").string(),
                              "--synsets", (shared / "synsets.txt").string(), "--out", out.string(), "--epochs", "1",
                              "--img-size", "32", "--embed-dims", "8,16,16,24", "--depths", "1,1,1,1", "--heads", "2",
                              "--batch-size", "10", "--log-every", "1000"}) == 0);
  const std::vector<std::string> classes = cfx::imagenet::read_classes(out);
  REQUIRE(classes.size() == 1000);
  CHECK(classes[0] == "n01440764");
  const cfx::imagenet::ImageNetConfig cfg = cfx::imagenet::parse_config("eval", {"--out", out.string()});
  const cfx::app::EvalResult r = cfx::imagenet::evaluate_checkpoint(cfg);
  CHECK(r.examples == 100);
  const fs::path image = shared / "imagenette2-160-subset" / "val" / "n01440764";
  const fs::path first = fs::directory_iterator(image)->path();
  std::stringstream captured;
  std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
  const int rc = cfx::imagenet::run(
      {"predict", "--out", out.string(), "--names", (shared / "LOC_synset_mapping.txt").string(), first.string()});
  std::cout.rdbuf(old);
  CHECK(rc == 0);
  const std::string printed = captured.str();
  CHECK(printed.find("  n0") != std::string::npos);  // wnid column
  CHECK(std::count(printed.begin(), printed.end(), '%') == 5);
}

TEST_CASE("conflux-imagenet: flag and data errors name what is wrong") {
  TempDir tmp("imagenet_errors");
  const fs::path data = tmp.path / "data";
  generate(data);
  CHECK_THROWS_WITH_AS(cfx::imagenet::run({"train", "--preset", "huge", "--data", data.string()}),
                       doctest::Contains("unknown preset 'huge' (expected imagenet or small)"), cfx::Error);
  CHECK_THROWS_WITH_AS(cfx::imagenet::run({"train", "--out", (tmp.path / "r").string()}),
                       doctest::Contains("--data is required"), cfx::Error);
  CHECK_THROWS_WITH_AS(cfx::imagenet::run({"train", "--data", data.string(), "--embed-dims", "8,x"}),
                       doctest::Contains("--embed-dims takes comma-separated positive integers, got '8,x'"), cfx::Error);
  CHECK_THROWS_WITH_AS(cfx::imagenet::run({"train", "--data", data.string(), "--heads", "5", "--preset", "small"}),
                       doctest::Contains("--heads 5 must divide every stage width, got 48"), cfx::Error);
  auto odd = tiny_train(data, tmp.path / "odd", 1);
  odd.insert(odd.end(), {"--batch-size", "7"});  // the last one given wins
  CHECK_THROWS_WITH_AS(cfx::imagenet::run(odd), doctest::Contains("need an even --batch-size, got 7"), cfx::Error);
  CHECK_THROWS_WITH_AS(cfx::imagenet::run({"eval", "--out", (tmp.path / "none").string(), "--data", data.string()}),
                       doctest::Contains("no checkpoint"), cfx::Error);
  CHECK_THROWS_WITH_AS(cfx::imagenet::run({"train", "--data", (tmp.path / "missing").string()}),
                       doctest::Contains("missing"), cfx::Error);
}

TEST_CASE("conflux-imagenet: a broken training image stops the run naming it, or is skipped with --on-broken skip") {
  TempDir tmp("imagenet_broken");
  const fs::path data = tmp.path / "data";
  generate(data);
  const fs::path bad = data / "train" / "n00000001" / "n00000001_3.JPEG";
  {
    std::ofstream f(bad, std::ios::binary | std::ios::trunc);
    f << "\xFF\xD8\xFF\xE0 this is not the rest of a JPEG";
  }
  CHECK_THROWS_WITH_AS(cfx::imagenet::run(tiny_train(data, tmp.path / "stop", 1)),
                       doctest::Contains("n00000001_3.JPEG"), cfx::Error);
  auto skip = tiny_train(data, tmp.path / "skip", 2);
  skip.insert(skip.end(), {"--on-broken", "skip"});
  REQUIRE(cfx::imagenet::run(skip) == 0);  // the batch holding it trains on 6 images (Mixup needs pairs)
  int64_t train_lines = 0;
  for (const auto& r : read_jsonl(tmp.path / "skip" / "metrics.jsonl")) train_lines += str(r.at("split")) == "train";
  CHECK(train_lines == 8);
}
