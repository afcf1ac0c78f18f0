// The shared training loop (apps/common/trainer.h) on a toy task: a linear classifier of
// 4-d points into 3 classes, batches drawn in a seeded order. Gradient accumulation equals
// the big batch, clipping bounds the update, the best metric and best.h5 follow the
// evaluations, an evaluation before training when asked, and an interrupted + resumed run
// ends bit-identical to an uninterrupted one.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "apps/common/run_state.h"
#include "app_testing.h"
#include "apps/common/trainer.h"
#include "core/generator.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/nn_ops.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"

namespace fs = std::filesystem;
using namespace cfx;

namespace {

struct Dir {
  fs::path path;
  explicit Dir(const std::string& name) : path(fs::temp_directory_path() / ("conflux_trainer_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// 96 points, label = argmax of the first 3 coordinates. float32, as the checkpoints keep
// module parameters (nn/checkpoint.h), so a resumed run can be compared bit for bit.
struct Toy {
  Tensor x, y;
  Toy() {
    Generator gen(5);
    x = randn({96, 4}, {kFloat32}, &gen);
    y = argmax(x.narrow(1, 0, 3), 1).reshape({96});
  }
};

// A run of the toy task: `micro` rows per micro-batch, batches in order 0, micro, 2·micro, ...
// (epoch = 96 / micro batches), so a resumed run can seek.
struct ToyRun {
  const Toy& data;
  int64_t micro;
  Generator gen{11};  // the same initial weights in every run
  nn::Linear model{4, 3, true, &gen};
  int64_t epoch = 0, batch = 0;
  ToyRun(const Toy& d, int64_t micro_rows) : data(d), micro(micro_rows) {}
  app::TrainHooks hooks() {
    app::TrainHooks h;
    h.micro_step = [this](double scale) {
      const int64_t per_epoch = 96 / micro;
      const Tensor xb = data.x.narrow(0, batch * micro, micro), yb = data.y.narrow(0, batch * micro, micro);
      if (++batch == per_epoch) batch = 0, ++epoch;
      const Tensor logits = model.forward(xb);
      const Tensor loss = cross_entropy(logits, yb);
      (loss * scale).backward();
      return app::StepStats{loss.item<double>(), 0, micro};
    };
    h.position = [this] { return std::pair{epoch, batch}; };
    h.seek = [this](int64_t e, int64_t b) { epoch = e, batch = b; };
    h.evaluate = [this](bool) {
      const Tensor logits = model.forward(data.x);
      const std::vector<int64_t> pred = to_vector<int64_t>(argmax(logits, 1)), y = to_vector<int64_t>(data.y);
      int64_t correct = 0;
      for (size_t i = 0; i < y.size(); ++i) correct += pred[i] == y[i];
      return std::vector<app::EvalResult>{{"val", cross_entropy(logits, data.y).item<double>(),
                                           static_cast<double>(correct) / 96.0, 96}};
    };
    return h;
  }
};

app::TrainerOptions options(const fs::path& out, int64_t steps) {
  app::TrainerOptions o;
  o.out_dir = out;
  o.steps = steps;
  o.eval_every = 2;
  o.checkpoint_every = 3;
  o.log_every = 1000;
  o.best_metric = "val acc";
  return o;
}

std::vector<double> params_of(nn::Module& m) {
  std::vector<double> out;
  for (const Tensor& p : m.parameters())
    for (float v : to_vector<float>(p)) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("trainer: accumulation equals the big batch; clipping; best metric and best.h5; eval at step 0") {
  const Toy data;
  Dir a("accum_a"), b("accum_b");
  ToyRun big(data, 16), small(data, 8);
  nn::SGD opt_big(big.model.parameters(), {.lr = 0.5});
  nn::SGD opt_small(small.model.parameters(), {.lr = 0.5});
  app::TrainerOptions o = options(a.path, 5);
  app::train(big.model, opt_big, o, big.hooks());
  o.out_dir = b.path;
  o.accumulate = 2;  // two micro-batches of 8 = one batch of 16
  const app::TrainSummary s = app::train(small.model, opt_small, o, small.hooks());
  const std::vector<double> pa = params_of(big.model), pb = params_of(small.model);
  for (size_t i = 0; i < pa.size(); ++i) CHECK(pb[i] == doctest::Approx(pa[i]).epsilon(1e-5));

  // the best metric: the best of the periodic (steps 2, 4) and final (5) evaluations, in best.h5
  REQUIRE(s.best.has_value());
  CHECK(*s.best >= s.final.at(0).acc);
  CHECK(fs::exists(b.path / "best.h5"));
  CHECK(app::read_run_state(b.path)->best == s.best);
  nn::Linear reloaded(4, 3);
  nn::SGD reloaded_opt(reloaded.parameters(), {.lr = 0.5});
  nn::load(reloaded, reloaded_opt, b.path / "best.h5");

  // clipping: one step from the same start moves the parameters by at most lr * max_norm
  Dir c("clip");
  ToyRun clipped(data, 16);
  const std::vector<double> before = params_of(clipped.model);
  nn::SGD opt_c(clipped.model.parameters(), {.lr = 10.0});
  o = options(c.path, 1);
  o.clip_grad_norm = 1e-3;
  int evals_at_zero = 0;
  o.evaluate_at = [&](int64_t step) { return step == 0 && ++evals_at_zero > 0; };
  app::train(clipped.model, opt_c, o, clipped.hooks());
  double moved = 0;
  const std::vector<double> after = params_of(clipped.model);
  for (size_t i = 0; i < after.size(); ++i) moved += (after[i] - before[i]) * (after[i] - before[i]);
  CHECK(std::sqrt(moved) <= 10.0 * 1e-3 * (1 + 1e-9));
  CHECK(evals_at_zero == 1);  // evaluated once, before training
  std::ifstream log(c.path / "metrics.jsonl");
  std::string first;
  std::getline(log, first);
  const auto j = app::parse_json_object(first);
  CHECK(app::json_number(j.at("step")) == 0);
  CHECK(std::get<std::string>(j.at("split")) == "val");
}

TEST_CASE("trainer: by epochs, every metrics line carries its epoch; a per-epoch schedule holds for an epoch") {
  const Toy data;
  Dir d("epochs");
  ToyRun run(data, 32);  // 3 updates per epoch
  nn::SGD opt(run.model.parameters(), {.lr = 0.1});
  app::TrainerOptions o = options(d.path, 6);
  o.steps_per_epoch = 3;
  o.schedule = nn::schedule::per_epoch({[](int64_t e) { return 1.0 / static_cast<double>(e + 1); }}, 3);
  app::train(run.model, opt, o, run.hooks());
  std::vector<double> lrs;
  for (const auto& line : cfx::testing::read_jsonl(d.path / "metrics.jsonl")) {
    REQUIRE(line.count("epoch"));
    CHECK(cfx::testing::num(line.at("epoch")) == doctest::Approx(cfx::testing::num(line.at("step")) / 3.0));
    if (cfx::testing::str(line.at("split")) == "train") lrs.push_back(cfx::testing::num(line.at("lr")));
  }
  CHECK(lrs == std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.05});  // the lr each update used
}

TEST_CASE("trainer: stopped at a checkpoint and resumed, the run ends bit-identical") {
  const Toy data;
  Dir full("full"), parts("parts");
  ToyRun one(data, 8);
  nn::Adam opt_one(one.model.parameters(), {.lr = 0.05});
  app::train(one.model, opt_one, options(full.path, 9), one.hooks());

  {  // the same run stopped after 3 steps (its checkpoint), the process gone
    ToyRun first(data, 8);
    nn::Adam opt(first.model.parameters(), {.lr = 0.05});
    app::train(first.model, opt, options(parts.path, 3), first.hooks());
  }
  ToyRun resumed(data, 8);  // fresh objects: everything comes from the checkpoint
  nn::Adam opt(resumed.model.parameters(), {.lr = 0.05});
  app::TrainerOptions o = options(parts.path, 9);
  o.resume = true;
  const app::TrainSummary s = app::train(resumed.model, opt, o, resumed.hooks());
  CHECK(s.start_step == 3);
  CHECK(params_of(resumed.model) == params_of(one.model));  // same bits
  // elapsed_s and rates differ between the two logs; the steps and losses must not
  auto steps_of = [](const fs::path& f) {
    std::vector<std::pair<int64_t, double>> out;
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = app::parse_json_object(line);
      if (std::get<std::string>(j.at("split")) == "train")
        out.emplace_back(static_cast<int64_t>(app::json_number(j.at("step"))), app::json_number(j.at("loss")));
    }
    return out;
  };
  const auto sp = steps_of(parts.path / "metrics.jsonl"), sf = steps_of(full.path / "metrics.jsonl");
  CHECK(sp == sf);
  CHECK(app::read_run_state(parts.path)->best == app::read_run_state(full.path)->best);
}

TEST_CASE("count_correct and count_top_k: argmax, the k largest, ties at the k-th place, errors") {
  // Row 0: target 2 is the largest; row 1: target 0 is 3rd of 4; row 2: target 3 ties for 2nd.
  const Tensor logits = tensor(std::vector<float>{0.1f, 0.2f, 0.9f, 0.0f,  //
                                                  0.3f, 0.5f, 0.1f, 0.7f,  //
                                                  0.8f, 0.5f, 0.1f, 0.5f},
                               {3, 4});
  const Tensor targets = tensor(std::vector<int64_t>{2, 0, 3}, {3});
  CHECK(app::count_correct(logits, targets) == 1);
  CHECK(app::count_top_k(logits, targets, 1) == 1);
  CHECK(app::count_top_k(logits, targets, 2) == 2);  // row 2: one class scores higher
  CHECK(app::count_top_k(logits, targets, 3) == 3);
  CHECK(app::count_top_k(logits, targets, 10) == 3);
  CHECK_THROWS_WITH_AS(app::count_top_k(logits, tensor(std::vector<int64_t>{2, 0, 4}, {3}), 5),
                       doctest::Contains("count_top_k: target 4 of row 2 is out of range for 4 classes"), cfx::Error);
  CHECK_THROWS_WITH_AS(app::count_top_k(logits, targets, 0), doctest::Contains("k >= 1"), cfx::Error);
}
