// conflux-uea end to end (apps/uea/uea.h), called as its main() calls it: a generated set,
// the evaluation schedule and best.h5, resume, learning, eval of the best model, the real
// UEA files (.ts and per-dimension ARFF) when ../shared/data is there, and flag errors.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "app_testing.h"
#include "apps/common/cli.h"
#include "apps/common/run_state.h"
#include "apps/uea/data.h"
#include "apps/uea/uea.h"
#include "core/error.h"
#include "nn/checkpoint.h"
#include "ops/creation.h"

namespace fs = std::filesystem;
using cfx::app::JsonValue;
using cfx::testing::num;
using cfx::testing::read_jsonl;
using cfx::testing::str;
using cfx::testing::TempDir;

namespace {

void generate(const fs::path& data, const std::string& name = "Synthetic") {
  REQUIRE(cfx::uea::run({"generate", "--out", data.string(), "--dataset", name, "--train", "40", "--test", "20",
                         "--channels", "3", "--classes", "3", "--min-len", "12", "--max-len", "20"}) == 0);
}

// A small model on the generated set: 40 series / batch 8 = 5 steps per epoch.
std::vector<std::string> small_train(const fs::path& data, const fs::path& out, int epochs) {
  return {"train", "--dataset", "Synthetic", "--data", data.string(), "--out", out.string(), "--epochs",
          std::to_string(epochs), "--batch-size", "8", "--d-model", "16", "--heads", "2", "--d-ff", "32",
          "--eval-every", "2", "--checkpoint-every", "1", "--log-every", "1000"};
}

}  // namespace

TEST_CASE("conflux-uea: generate -> train: the paper's evaluation schedule, best.h5, eval of the best model") {
  TempDir tmp("uea_train");
  const fs::path data = tmp.path / "data", out = tmp.path / "run";
  generate(data);
  REQUIRE(cfx::uea::run(small_train(data, out, 5)) == 0);
  for (const char* f : {"config.json", "state.json", "metrics.jsonl", "best.h5", "ckpt_000025.h5"})
    CHECK_MESSAGE(fs::exists(out / f), "missing ", f);
  // evaluations at epochs 0 (before training), 1, 2, 4 and, final, 5: steps 0, 5, 10, 20, 25
  std::vector<int64_t> eval_steps;
  double best = -1;
  for (const auto& r : read_jsonl(out / "metrics.jsonl")) {
    if (str(r.at("split")) != "test") continue;
    eval_steps.push_back(static_cast<int64_t>(num(r.at("step"))));
    best = std::max(best, num(r.at("acc")));
    CHECK(num(r.at("examples")) == 20);
  }
  CHECK(eval_steps == std::vector<int64_t>{0, 5, 10, 20, 25});
  const auto state = cfx::app::read_run_state(out);
  REQUIRE(state->best.has_value());
  CHECK(*state->best == best);  // the best of all evaluations, kept with its model
  cfx::uea::UeaConfig cfg = cfx::uea::parse_config("eval", {"--out", out.string()});
  CHECK(cfg.d_model == 16);  // from the run's config.json
  CHECK(cfx::uea::evaluate_checkpoint(cfg).acc == doctest::Approx(best).epsilon(1e-12));
}

TEST_CASE("conflux-uea: a run stopped after 2 epochs and resumed ends as the uninterrupted one") {
  TempDir tmp("uea_resume");
  const fs::path data = tmp.path / "data", a = tmp.path / "a", b = tmp.path / "b";
  generate(data);
  REQUIRE(cfx::uea::run(small_train(data, a, 4)) == 0);
  REQUIRE(cfx::uea::run(small_train(data, b, 2)) == 0);
  auto resume = small_train(data, b, 4);
  resume.push_back("--resume");
  REQUIRE(cfx::uea::run(resume) == 0);
  const auto pa = cfx::nn::load_tensors(a / "ckpt_000020.h5"), pb = cfx::nn::load_tensors(b / "ckpt_000020.h5");
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(cfx::to_vector<double>(pa[i].second.to(cfx::kFloat64)) == cfx::to_vector<double>(pb[i].second.to(cfx::kFloat64)));
  }
  auto train_losses = [](const fs::path& f) {
    std::vector<double> out;
    for (const auto& r : read_jsonl(f))
      if (str(r.at("split")) == "train") out.push_back(num(r.at("loss")));
    return out;
  };
  CHECK(train_losses(a / "metrics.jsonl") == train_losses(b / "metrics.jsonl"));
  CHECK(cfx::app::read_run_state(a)->best == cfx::app::read_run_state(b)->best);
}

TEST_CASE("conflux-uea: learns the generated set (well above chance)") {
  TempDir tmp("uea_learn");
  const fs::path data = tmp.path / "data", out = tmp.path / "run";
  generate(data);
  auto args = small_train(data, out, 20);
  args.insert(args.end(), {"--d-model", "32", "--heads", "4", "--d-ff", "64", "--eval-every", "5"});
  REQUIRE(cfx::uea::run(args) == 0);
  CHECK(*cfx::app::read_run_state(out)->best >= 0.9);  // 3 classes: chance is 1/3
}

TEST_CASE("conflux-uea on the real UEA files: BasicMotions learns; SelfRegulationSCP1 from per-dimension ARFF") {
  const fs::path uea = fs::path(CONFLUX_SHARED_DATA_DIR) / "uea";
  if (!fs::exists(uea)) {
    MESSAGE("SKIPPED: ", uea.string(), " not found (real data samples are only in the workplace checkout / CI)");
    return;
  }
  TempDir tmp("uea_real");
  REQUIRE(cfx::uea::run({"train", "--dataset", "BasicMotions", "--data", uea.string(), "--out", (tmp.path / "bm").string(),
                         "--epochs", "10", "--d-model", "64", "--heads", "4", "--d-ff", "128", "--eval-every", "5",
                         "--log-every", "1000"}) == 0);
  CHECK(*cfx::app::read_run_state(tmp.path / "bm")->best > 0.6);  // 4 classes: chance is 1/4

  cfx::uea::UeaConfig cfg = cfx::uea::preset("SelfRegulationSCP1");
  cfg.data_dir = uea.string();
  const cfx::uea::UeaData d = cfx::uea::load_uea(cfg);
  CHECK(d.source.find("Dimension{1..6}") != std::string::npos);
  CHECK(d.train.channels == 6);
  CHECK(d.max_len == 896);
  CHECK(d.classes == std::vector<std::string>{"negativity", "positivity"});
  CHECK(d.train_targets.size() == 268);
  CHECK(d.test_targets.size() == 293);
}

TEST_CASE("conflux-uea --seeds: one run per seed, their mean and spread in summary.json") {
  TempDir tmp("uea_seeds");
  const fs::path data = tmp.path / "data", out = tmp.path / "runs";
  generate(data);
  auto args = small_train(data, out, 2);
  args.insert(args.end(), {"--seeds", "2", "--seed", "7"});
  REQUIRE(cfx::uea::run(args) == 0);
  const double best7 = *cfx::app::read_run_state(out / "seed_7")->best, best8 = *cfx::app::read_run_state(out / "seed_8")->best;
  const auto summary = cfx::app::parse_json_object(cfx::app::read_file(out / "summary.json"));
  CHECK(num(summary.at("seeds")) == 2);
  CHECK(num(summary.at("best_acc_mean")) == doctest::Approx((best7 + best8) / 2));
  CHECK(num(summary.at("best_acc_std")) == doctest::Approx(std::abs(best7 - best8) / std::sqrt(2.0)));
  CHECK(num(summary.at("best_acc_seed_8")) == best8);
}

TEST_CASE("conflux-uea: presets follow the paper's table; errors are clear") {
  double sum = 0;
  for (const auto& p : cfx::uea::uea_presets()) sum += p.paper_accuracy;
  CHECK(cfx::uea::uea_presets().size() == 10);
  CHECK(sum / 10 == doctest::Approx(72.95));  // the paper's average, 73.0
  CHECK(cfx::uea::preset("PEMS-SF").epochs == 400);
  CHECK(cfx::uea::preset("SpokenArabicDigits").optimizer == "adam");
  CHECK(cfx::uea::preset("Heartbeat").optimizer == "radam");
  CHECK(cfx::uea::preset("Heartbeat").seed == 666);

  TempDir tmp("uea_errors");
  auto message_of = [](const std::vector<std::string>& args) {
    try {
      cfx::uea::run(args);
    } catch (const cfx::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(message_of({"train", "--dataset", "Nope", "--data", tmp.path.string()}).find("Nope_TRAIN.ts") != std::string::npos);
  CHECK(message_of({"train", "--data", tmp.path.string(), "--optimizer", "sgd"}).find("radam or adam") != std::string::npos);
  CHECK(message_of({"train", "--dataset", "X"}).find("--data is required") != std::string::npos);
  CHECK(message_of({"eval", "--out", (tmp.path / "none").string(), "--data", tmp.path.string()}).find("no checkpoint") !=
        std::string::npos);
  CHECK(message_of({"frobnicate"}).find("unknown command") != std::string::npos);
}
