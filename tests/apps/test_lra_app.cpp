// conflux-lra end to end on tiny generated data (generate -> train -> checkpoint -> resume ->
// eval), the retrieval dual encoder, and the shared app utilities (apps/cli.h). The app logic is
// the conflux_lra_app library, called here exactly as conflux-lra's main() calls it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "app_testing.h"
#include "apps/common/cli.h"
#include "apps/lra/lra.h"
#include "apps/lra/model.h"
#include "apps/common/run_state.h"
#include "core/error.h"
#include "core/parallel.h"
#include "data/dataset.h"
#include "nn/checkpoint.h"
#include "ops/elementwise.h"
#include "ops/nn_ops.h"
#include "ops/reduce.h"

namespace fs = std::filesystem;
using cfx::app::JsonValue;
using cfx::testing::num;
using cfx::testing::read_jsonl;
using cfx::testing::str;
using cfx::testing::TempDir;

namespace {

// Rows of one split, by step.
std::map<int64_t, std::map<std::string, JsonValue>> rows_of(const std::vector<std::map<std::string, JsonValue>>& rows,
                                                            const std::string& split, bool final = false) {
  std::map<int64_t, std::map<std::string, JsonValue>> out;
  for (const auto& r : rows) {
    if (str(r.at("split")) != split) continue;
    if (r.count("final") && std::get<bool>(r.at("final")) != final) continue;
    const auto step = static_cast<int64_t>(num(r.at("step")));
    CHECK_MESSAGE(out.count(step) == 0, "split ", split, ": step ", step, " logged twice");
    out[step] = r;
  }
  return out;
}

std::vector<std::string> tiny_train_args(const fs::path& data, const fs::path& out, int64_t steps) {
  return {"train", "--task", "listops", "--data", data.string(), "--out", out.string(), "--max-len", "40",
          "--pad-batch", "--layers", "1", "--d-model", "16", "--qkv-dim", "16", "--heads", "2", "--mlp-dim", "32",
          "--dropout", "0.1", "--batch-size", "8", "--steps", std::to_string(steps), "--lr", "0.01", "--warmup", "2",
          "--eval-every", "3", "--eval-batches", "1", "--checkpoint-every", "3", "--log-every", "1", "--seed", "3"};
}

}  // namespace

TEST_CASE("conflux-lra: generate -> train -> checkpoint -> resume -> eval") {
  TempDir tmp("lra_app");
  const fs::path data = tmp.path / "data", a = tmp.path / "a", b = tmp.path / "b";
  REQUIRE(cfx::lra::run({"generate", "--task", "listops", "--out", data.string(), "--train", "40", "--val", "12",
                         "--test", "12", "--min-len", "4", "--max-len", "40", "--seed", "5"}) == 0);
  for (const char* f : {"basic_train.tsv", "basic_val.tsv", "basic_test.tsv"}) CHECK(fs::exists(data / f));

  // An uninterrupted run of 7 steps (5 batches per epoch, so it crosses an epoch boundary).
  REQUIRE(cfx::lra::run(tiny_train_args(data, a, 7)) == 0);
  for (const char* f : {"config.json", "state.json", "metrics.jsonl", "ckpt_000007.h5", "ckpt_000006.h5"})
    CHECK_MESSAGE(fs::exists(a / f), "missing ", f);
  CHECK_FALSE(fs::exists(a / "ckpt_000003.h5"));  // only the newest 2 are kept
  const auto state = cfx::app::read_run_state(a);
  REQUIRE(state.has_value());
  CHECK(state->step == 7);
  CHECK(state->checkpoint == "ckpt_000007.h5");
  const auto log_a = read_jsonl(a / "metrics.jsonl");
  const auto train_a = rows_of(log_a, "train");
  REQUIRE(train_a.size() == 7);
  for (const auto& [step, r] : train_a) {
    for (const char* key : {"loss", "acc", "lr", "examples_per_s", "elapsed_s"}) CHECK_MESSAGE(r.count(key), key);
    CHECK(num(r.at("acc")) >= 0.0);
    CHECK(num(r.at("acc")) <= 1.0);
  }
  CHECK(num(train_a.at(1).at("lr")) == 0.0);  // flax: the first update has lr 0 (linear warmup from t = 0)
  CHECK(rows_of(log_a, "val").count(3) == 1);   // periodic evals at 3 and 6
  CHECK(rows_of(log_a, "test").count(6) == 1);
  const auto final_test = rows_of(log_a, "test", true);
  REQUIRE(final_test.count(7) == 1);

  // The same run stopped at step 3 (its last checkpoint), as if it had crashed while logging step 4.
  REQUIRE(cfx::lra::run(tiny_train_args(data, b, 3)) == 0);
  CHECK(cfx::app::read_run_state(b)->step == 3);
  std::ofstream(b / "metrics.jsonl", std::ios::app) << R"({"step": 4, "split": "train", "loss": 99.0})" << "\n";
  auto resume_args = tiny_train_args(data, b, 7);
  resume_args.push_back("--resume");
  REQUIRE(cfx::lra::run(resume_args) == 0);
  CHECK(cfx::app::read_run_state(b)->step == 7);
  const auto log_b = read_jsonl(b / "metrics.jsonl");
  const auto train_b = rows_of(log_b, "train");
  REQUIRE(train_b.size() == 7);  // steps 1..7 once each: the resumed session started at step 4
  CHECK(num(train_b.at(4).at("loss")) != 99.0);  // lines after the checkpoint were dropped
  for (int64_t step = 1; step <= 7; ++step) {
    INFO("step ", step);
    CHECK(num(train_b.at(step).at("loss")) == doctest::Approx(num(train_a.at(step).at("loss"))).epsilon(1e-6));
    CHECK(num(train_b.at(step).at("lr")) == doctest::Approx(num(train_a.at(step).at("lr"))).epsilon(1e-12));
  }
  CHECK(rows_of(log_b, "test", true).size() == 1);  // the 3-step session's final eval was dropped on resume
  CHECK(num(rows_of(log_b, "test", true).at(7).at("acc")) ==
        doctest::Approx(num(final_test.at(7).at("acc"))).epsilon(1e-9));

  // eval reloads the last checkpoint (flags from config.json) and reproduces the logged accuracy.
  cfx::lra::LraConfig cfg = cfx::lra::parse_config("eval", {"--out", a.string(), "--split", "test"});
  CHECK(cfg.d_model == 16);
  CHECK(cfg.data_dir == data.string());
  const cfx::lra::EvalReport report = cfx::lra::run_eval(cfg);
  CHECK(report.checkpoint == (a / "ckpt_000007.h5").string());
  CHECK(report.result.examples == 12);
  CHECK(report.result.acc == doctest::Approx(num(final_test.at(7).at("acc"))).epsilon(1e-9));
  CHECK(report.result.loss == doctest::Approx(num(final_test.at(7).at("loss"))).epsilon(1e-5));
  CHECK(report.baseline > 0.0);
  CHECK(report.baseline <= 1.0);
}

TEST_CASE("conflux-lra: same seed, same bits, whatever the thread count") {
  // The LRA ListOps preset's attention (relu map, heads competition: the path a miscompiled
  // select once broke on some CPUs), dropout on, sizes above the kernels' parallel grains so
  // that the thread count changes how every loop is split.
  TempDir tmp("lra_app_bits");
  const fs::path data = tmp.path / "data";
  REQUIRE(cfx::lra::run({"generate", "--task", "listops", "--out", data.string(), "--train", "48", "--val", "8",
                         "--test", "8", "--min-len", "150", "--max-len", "200", "--seed", "9"}) == 0);
  auto train = [&](int threads, const std::string& name) {
    cfx::set_num_threads(threads);
    const fs::path out = tmp.path / name;
    REQUIRE(cfx::lra::run({"train", "--task", "listops", "--data", data.string(), "--out", out.string(),
                           "--max-len", "200", "--layers", "1", "--d-model", "64", "--qkv-dim", "64", "--heads", "4",
                           "--mlp-dim", "128", "--dropout", "0.1", "--batch-size", "16", "--steps", "3", "--lr",
                           "0.01", "--warmup", "1", "--eval-every", "3", "--eval-batches", "1", "--checkpoint-every",
                           "3", "--log-every", "1", "--seed", "4"}) == 0);
    cfx::set_num_threads(0);
    return std::make_pair(read_jsonl(out / "metrics.jsonl"), cfx::nn::load_tensors(out / "ckpt_000003.h5"));
  };
  const auto [log_1, params_1] = train(1, "t1");
  for (int threads : {2, 3}) {
    INFO(threads, " threads vs 1");
    const auto [log_n, params_n] = train(threads, "t" + std::to_string(threads));
    const auto steps_1 = rows_of(log_1, "train"), steps_n = rows_of(log_n, "train");
    REQUIRE(steps_1.size() == 3);
    REQUIRE(steps_n.size() == 3);
    for (int64_t step = 1; step <= 3; ++step) CHECK(num(steps_n.at(step).at("loss")) == num(steps_1.at(step).at("loss")));
    CHECK(num(rows_of(log_n, "test", true).at(3).at("loss")) == num(rows_of(log_1, "test", true).at(3).at("loss")));
    REQUIRE(params_n.size() == params_1.size());
    for (size_t i = 0; i < params_1.size(); ++i) {
      INFO(params_1[i].first);
      CHECK(params_n[i].first == params_1[i].first);
      const cfx::Tensor a = params_1[i].second.to(cfx::kFloat64), b = params_n[i].second.to(cfx::kFloat64);
      CHECK(cfx::max(cfx::abs(a - b)).item<double>() == 0.0);  // same bits (float32 -> float64 is exact)
    }
  }
}

TEST_CASE("conflux-lra: --time-limit stops early with a checkpoint and a final evaluation") {
  TempDir tmp("lra_app_time");
  const fs::path data = tmp.path / "data", out = tmp.path / "run";
  REQUIRE(cfx::lra::run({"generate", "--task", "listops", "--out", data.string(), "--train", "16", "--val", "8",
                         "--test", "8", "--min-len", "4", "--max-len", "40"}) == 0);
  auto args = tiny_train_args(data, out, 1000);
  args.insert(args.end(), {"--time-limit", "1e-9"});
  REQUIRE(cfx::lra::run(args) == 0);
  const auto state = cfx::app::read_run_state(out);
  REQUIRE(state.has_value());
  CHECK(state->step == 1);
  CHECK(fs::exists(out / "ckpt_000001.h5"));
  CHECK(rows_of(read_jsonl(out / "metrics.jsonl"), "test", true).count(1) == 1);
}

TEST_CASE("conflux-lra: flag and usage errors are cfx::Error with a clear message") {
  TempDir tmp("lra_app_flags");
  auto throws_with = [](const std::vector<std::string>& args, const std::string& needle) {
    std::string message;
    try {
      cfx::lra::run(args);
    } catch (const cfx::Error& e) {
      message = e.what();
    }
    CHECK_MESSAGE(message.find(needle) != std::string::npos, "expected '", needle, "', got '", message, "'");
  };
  throws_with({"train", "--stpes", "3"}, "unknown flag --stpes (did you mean --steps?)");
  throws_with({"train", "--steps"}, "--steps needs a value");
  throws_with({"train", "--steps", "ten"}, "--steps expects an integer, got 'ten'");
  throws_with({"train", "--lr", "0.1x"}, "--lr expects a number");
  throws_with({"train", "--task", "sudoku"}, "unknown task 'sudoku'");
  throws_with({"train", "--attention", "linear"}, "--attention must be one of flow, softmax");
  throws_with({"train", "--heads", "3"}, "--heads 3 must divide --qkv-dim 512");
  throws_with({"train", "-steps", "3"}, "flags start with two dashes");
  throws_with({"train", "extra"}, "unexpected argument 'extra'");
  throws_with({"train", "--out", (tmp.path / "r").string()}, "--data is required");
  throws_with({"train", "--data", (tmp.path / "none").string(), "--out", (tmp.path / "r").string(), "--resume"},
              "basic_train.tsv");
  throws_with({"eval", "--out", (tmp.path / "nothing").string()}, "no checkpoint");
  throws_with({"generate", "--task", "text", "--out", (tmp.path / "g").string()}, "must be listops or pathfinder");
  throws_with({"fly"}, "unknown command 'fly'");
  CHECK(cfx::lra::run({}) == 2);
  CHECK(cfx::lra::run({"--help"}) == 0);
  CHECK(cfx::lra::run({"train", "--help"}) == 0);
}

TEST_CASE("conflux-lra: presets follow the official Flowformer table") {
  const auto l = cfx::lra::preset("listops");
  CHECK(l.layers == 1);
  CHECK(l.d_model == 512);
  CHECK(l.heads == 2);
  CHECK(l.mlp_dim == 1024);
  CHECK(l.batch_size == 32);
  CHECK(l.steps == 5000);
  CHECK(l.warmup == 1000);
  CHECK(l.eval_every == 50);
  const auto sched = cfx::lra::make_schedule(l);
  CHECK(sched(0) == 0.0);
  CHECK(l.lr * sched(1000) == doctest::Approx(0.005 / std::sqrt(1000.0)));  // peak 1.58e-4 (BENCHMARKS 1.3)
  CHECK(l.lr * sched(5000) == doctest::Approx(0.005 / std::sqrt(5000.0)));
  const auto p = cfx::lra::preset("pathfinder");
  CHECK(p.pooling == "mean");
  CHECK(p.heads == 8);
  CHECK(p.batch_size == 512);
  CHECK(cfx::lra::preset("image").positions == "learned");
  CHECK(cfx::lra::preset("retrieval").layers == 4);
  const auto m = cfx::lra::model_config(l);
  CHECK_FALSE(m.layer.attention_bias);
  CHECK(m.layer.flow.competition == cfx::FlowAttentionOptions::Competition::Heads);
}

TEST_CASE("conflux-lra: retrieval dual encoder (shared encoder, first-token pooling, MLP head)") {
  cfx::lra::LraConfig cfg = cfx::lra::preset("retrieval");
  cfg.layers = 1, cfg.d_model = 8, cfg.qkv_dim = 8, cfg.heads = 2, cfg.mlp_dim = 16, cfg.max_len = 12;
  cfx::Generator gen(1);
  cfx::lra::LraModel model(cfg, &gen);
  bool has_fc3 = false;
  for (const auto& [key, t] : model.module().state_dict()) has_fc3 = has_fc3 || key == "head_fc3.weight";
  CHECK(has_fc3);
  std::vector<cfx::data::Example> ex{{{3, 4, 5}, {6, 7}, 1}, {{8, 9}, {10, 11, 12, 13}, 0}};
  cfx::data::CollateOptions co;
  co.paired = true;
  const cfx::data::Batch batch = cfx::data::collate(ex, co);
  const cfx::Tensor logits = model.forward(batch);
  CHECK(logits.shape() == cfx::Shape({2, 2}));
  cfx::cross_entropy(logits, batch.targets).backward();
  for (const auto& p : model.module().parameters()) CHECK(p.grad().defined());
}

TEST_CASE("apps/cli: flags, JSON lines, table, progress") {
  int64_t steps = 10;
  double lr = 0.5;
  std::string name = "x";
  bool fast = true, slow = false;
  cfx::app::Flags f("prog", "does things");
  f.add("steps", &steps, "how many");
  f.add("lr", &lr, "rate");
  f.add("name", &name, "a name");
  f.add("fast", &fast, "go fast");
  f.add("slow", &slow, "go slow");
  const std::string help = f.help();
  for (const char* s : {"--steps INT", "(default: 10)", "--lr NUM", "(default: 0.5)", "--name STR", "--fast", "--slow",
                        "(default: true)", "(default: false)", "--help"})
    CHECK_MESSAGE(help.find(s) != std::string::npos, "help lacks '", s, "'");
  const auto pos = f.parse({"--steps", "3", "--lr=1e-3", "pos", "--no-fast", "--slow", "--name=a=b", "--", "--steps"});
  CHECK(steps == 3);
  CHECK(lr == 1e-3);
  CHECK(name == "a=b");
  CHECK_FALSE(fast);
  CHECK(slow);
  CHECK(pos == std::vector<std::string>{"pos", "--steps"});
  CHECK(f.was_set("steps"));
  CHECK(cfx::app::Flags::peek({"--a", "1", "--steps=7"}, "steps") == "7");
  CHECK_THROWS_AS(f.parse({"--slow=maybe"}), cfx::Error);
  CHECK_THROWS_AS(f.parse({"--no-steps"}), cfx::Error);

  const cfx::app::JsonObject obj{{"s", std::string("a\"b\n")}, {"i", int64_t{-3}}, {"d", 0.25}, {"b", true},
                                 {"n", nullptr}, {"nan", std::nan("")}};
  const std::string line = cfx::app::to_json(obj);
  CHECK(line.find('\n') == std::string::npos);
  const auto back = cfx::app::parse_json_object(line);
  CHECK(str(back.at("s")) == "a\"b\n");
  CHECK(std::get<int64_t>(back.at("i")) == -3);
  CHECK(std::get<double>(back.at("d")) == 0.25);
  CHECK(std::get<bool>(back.at("b")));
  CHECK(std::holds_alternative<std::nullptr_t>(back.at("nan")));
  CHECK_THROWS_AS(cfx::app::parse_json_object("{\"a\": }"), cfx::Error);

  cfx::app::Table t({"name", "value"});
  t.add_row({"alpha", "1"});
  t.add_row({"b", "12345"});
  CHECK(t.str() == "name   value\n------------\nalpha      1\nb      12345\n");
  CHECK_THROWS_AS(t.add_row({"only one"}), cfx::Error);

  std::FILE* file = std::tmpfile();  // not a TTY: plain lines every 2 steps and at the end
  {
    cfx::app::ProgressBar bar(5, 0, 2, file);
    for (int64_t s = 1; s <= 5; ++s) bar.update(s, {1.5, 0.25, 100.0});
    bar.finish();
  }
  std::rewind(file);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), file));
  std::fclose(file);
  CHECK(text.find("2/5 loss 1.5000 acc  25.0%") != std::string::npos);
  CHECK(text.find("5/5") != std::string::npos);
  CHECK(text.find("3/5") == std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(cfx::app::format_duration(185) == "3m05s");
}
