// conflux-lm end to end (apps/lm/lm.h): training blocks and eval-lm windows by hand, the
// window evaluation against a hand-written loop over full logits, prepare -> train -> resume
// (bit-identical to an uninterrupted run) -> eval -> generate, and the errors of missing or
// mismatched files.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app_testing.h"
#include "apps/lm/lm.h"
#include "core/error.h"
#include "data/lm/blocks.h"
#include "ops/creation.h"
#include "ops/reduce.h"

namespace fs = std::filesystem;
using namespace cfx;
using cfx::data::lm::Dictionary;
using cfx::testing::num;
using cfx::testing::read_jsonl;
using cfx::testing::str;
using cfx::testing::TempDir;

namespace {

void write(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

std::vector<int64_t> ids_of(const Tensor& t) { return to_vector<int64_t>(t); }

// A corpus a tiny model learns quickly: a few sentence patterns with varying nouns.
std::string corpus(int lines, int seed) {
  const char* nouns[] = {"cat", "dog", "bird", "fish"};
  const char* places[] = {"mat", "rug", "bed", "box"};
  std::string text;
  for (int i = 0; i < lines; ++i)
    text += std::string(" the ") + nouns[(i * 3 + seed) % 4] + " sat on the " + places[(i + seed) % 4] + " .\n";
  return text;
}

std::vector<std::string> train_args(const fs::path& data, const fs::path& out, int updates) {
  return {"train", "--preset", "small", "--data", data.string(), "--out", out.string(), "--layers", "1",
          "--d-model", "16", "--heads", "2", "--d-ff", "32", "--tokens-per-sample", "16", "--max-tokens", "64",
          "--context-window", "8", "--max-update", std::to_string(updates), "--warmup-updates", "5",
          "--eval-every", "4", "--checkpoint-every", "3", "--log-every", "1000", "--lr", "0.01"};
}

}  // namespace

TEST_CASE("conflux-lm data: training blocks (source shifted right, </s> first) and eval-lm windows by hand") {
  TempDir tmp("lm_blocks");
  write(tmp.path / "t.txt", "a b c\nd e\n");
  const Dictionary dict = data::lm::build_dictionary({tmp.path / "t.txt"});
  data::lm::binarize(tmp.path / "t.txt", dict, tmp.path / "t.tok");
  auto ids = std::make_shared<const data::lm::TokenFile>(tmp.path / "t.tok", dict.size());
  const int64_t a = dict.index("a"), b = dict.index("b"), c = dict.index("c"), d = dict.index("d"), e = dict.index("e");
  const int64_t eos = Dictionary::kEos, pad = Dictionary::kPad;
  REQUIRE(ids->slice(0, 7) == std::vector<int32_t>{int32_t(a), int32_t(b), int32_t(c), 2, int32_t(d), int32_t(e), 2});

  const data::lm::LmBlocks blocks(ids, 3);  // stream [a b c </s> d e </s>]
  REQUIRE(blocks.size() == 3);
  CHECK(ids_of(blocks.get(0).at("tokens")) == std::vector<int64_t>{eos, a, b});
  CHECK(ids_of(blocks.get(0).at("target")) == std::vector<int64_t>{a, b, c});
  CHECK(ids_of(blocks.get(1).at("tokens")) == std::vector<int64_t>{c, eos, d});
  CHECK(ids_of(blocks.get(1).at("target")) == std::vector<int64_t>{eos, d, e});
  CHECK(ids_of(blocks.get(2).at("tokens")) == std::vector<int64_t>{e});
  CHECK(ids_of(blocks.get(2).at("target")) == std::vector<int64_t>{eos});

  const data::lm::LmBlocks windows(ids, 4, 2);  // windows of 4 scoring 2 after up to 2 of context
  REQUIRE(windows.size() == 4);
  CHECK(ids_of(windows.get(0).at("tokens")) == std::vector<int64_t>{eos, a});
  CHECK(ids_of(windows.get(0).at("target")) == std::vector<int64_t>{a, b});
  CHECK(ids_of(windows.get(1).at("tokens")) == std::vector<int64_t>{eos, a, b, c});
  CHECK(ids_of(windows.get(1).at("target")) == std::vector<int64_t>{pad, pad, c, eos});
  CHECK(ids_of(windows.get(2).at("tokens")) == std::vector<int64_t>{b, c, eos, d});
  CHECK(ids_of(windows.get(2).at("target")) == std::vector<int64_t>{pad, pad, d, e});
  CHECK(ids_of(windows.get(3).at("tokens")) == std::vector<int64_t>{eos, d, e});
  CHECK(ids_of(windows.get(3).at("target")) == std::vector<int64_t>{pad, pad, eos});

  const std::vector<data::TensorDict> two = {blocks.get(1), blocks.get(2)};
  const data::TensorDict batch = data::lm::stack_blocks(two);
  CHECK(ids_of(batch.at("target")) == std::vector<int64_t>{eos, d, e, eos, pad, pad});
  CHECK_THROWS_AS(data::lm::LmBlocks(ids, 4, 4), Error);
}

TEST_CASE("conflux-lm evaluate: windows with context == NLL summed by hand over each window's full logits") {
  TempDir tmp("lm_eval");
  write(tmp.path / "t.txt", corpus(6, 0));
  const Dictionary dict = data::lm::build_dictionary({tmp.path / "t.txt"});
  data::lm::binarize(tmp.path / "t.txt", dict, tmp.path / "t.tok");
  auto ids = std::make_shared<const data::lm::TokenFile>(tmp.path / "t.tok", dict.size());
  lm::LmConfig cfg = lm::preset("small");
  cfg.layers = 1, cfg.d_model = 8, cfg.heads = 2, cfg.d_ff = 16, cfg.tokens_per_sample = 12;
  Generator gen(3);
  nn::FlowformerLM model(lm::model_config(cfg, dict.size()), &gen);
  model.eval();
  const int64_t context = 5;
  const app::EvalResult r = lm::evaluate(model, ids, "valid", 12, context, 3, Device::cpu());

  const data::lm::LmBlocks windows(ids, 12, context);
  double nll = 0;
  int64_t scored = 0;
  for (int64_t j = 0; j < windows.size(); ++j) {
    const data::TensorDict w = windows.get(j);
    const int64_t n = w.at("tokens").size(0);
    const Tensor logp = log_softmax(model.forward(w.at("tokens").view({1, n})).to(kFloat64), -1);  // [1, n, V]
    const std::vector<int64_t> t = ids_of(w.at("target"));
    for (int64_t i = 0; i < n; ++i) {
      if (t[i] == Dictionary::kPad) continue;
      nll -= logp.select(0, 0).select(0, i).select(0, t[i]).item<double>();
      ++scored;
    }
  }
  CHECK(scored == ids->size());
  CHECK(r.examples == scored);
  CHECK(r.loss == doctest::Approx(nll / static_cast<double>(scored)).epsilon(1e-5));
  REQUIRE(r.extra.size() == 2);
  CHECK(r.extra[0].first == "ppl");
  CHECK(r.extra[0].second == doctest::Approx(std::exp(r.loss)));
}

TEST_CASE("conflux-lm: prepare -> train learns; stopped and resumed it ends bit-identical; eval; generate") {
  TempDir tmp("lm_app");
  const fs::path text = tmp.path / "text", data = tmp.path / "data";
  fs::create_directories(text);
  write(text / "wiki.train.tokens", corpus(80, 0));
  write(text / "wiki.valid.tokens", corpus(12, 1));
  write(text / "wiki.test.tokens", corpus(12, 2));
  REQUIRE(lm::run({"prepare", "--text", text.string(), "--out", data.string()}) == 0);
  for (const char* f : {"dict.txt", "train.tok", "valid.tok", "test.tok"}) CHECK_MESSAGE(fs::exists(data / f), f);

  const fs::path full = tmp.path / "full", parts = tmp.path / "parts";
  REQUIRE(lm::run(train_args(data, full, 12)) == 0);
  std::vector<double> valid_loss;
  for (const auto& line : read_jsonl(full / "metrics.jsonl")) {
    CHECK_FALSE(line.count("acc"));  // a language model reports loss and perplexity
    if (str(line.at("split")) == "valid") valid_loss.push_back(num(line.at("loss")));
  }
  REQUIRE(valid_loss.size() >= 3);
  CHECK(valid_loss.back() < valid_loss.front() - 0.5);  // it learns the patterns
  CHECK(fs::exists(full / "best.h5"));

  std::vector<std::string> first = train_args(data, parts, 12);
  first.insert(first.end(), {"--max-update", "6"});
  REQUIRE(lm::run(first) == 0);
  std::vector<std::string> second = train_args(data, parts, 12);
  second.push_back("--resume");
  REQUIRE(lm::run(second) == 0);
  auto steps = [](const fs::path& log) {
    std::vector<std::string> out;
    for (const auto& line : read_jsonl(log)) {
      if (str(line.at("split")) == "train")
        out.push_back(std::to_string(num(line.at("step"))) + " " + std::to_string(num(line.at("loss"))));
      else if (line.count("final") && std::get<bool>(line.at("final")))
        out.push_back(str(line.at("split")) + " " + std::to_string(num(line.at("loss"))));
    }
    return out;
  };
  CHECK(steps(parts / "metrics.jsonl") == steps(full / "metrics.jsonl"));

  REQUIRE(lm::run({"eval", "--data", data.string(), "--out", full.string(), "--split", "valid"}) == 0);
  lm::LmConfig g = lm::preset("small");
  g.data_dir = data.string(), g.out_dir = full.string();
  g.layers = 1, g.d_model = 16, g.heads = 2, g.d_ff = 32, g.tokens_per_sample = 16;
  g.prompt = "the cat sat", g.gen_tokens = 5, g.temperature = 0;
  const std::string greedy = lm::generate(g);
  CHECK(greedy.rfind("the cat sat [", 0) == 0);
  CHECK(lm::generate(g) == greedy);  // greedy is deterministic
  // 30 tokens: past the 16-token training blocks, so positions beyond tokens_per_sample work.
  g.gen_tokens = 30;
  const std::string stepped = lm::generate(g);
  g.decode = "rerun";
  CHECK(lm::generate(g) == stepped);  // the running state == the whole prefix every token
  g.temperature = 1.0, g.top_k = 3, g.top_p = 0.9, g.seed = 5;
  const std::string sampled = lm::generate(g);
  CHECK(lm::generate(g) == sampled);  // sampling is seeded
  g.decode = "state";
  CHECK(lm::generate(g) == sampled);
}

TEST_CASE("conflux-lm errors: a missing split, an empty text, splits of another dictionary") {
  TempDir tmp("lm_errors");
  const fs::path text = tmp.path / "text", data = tmp.path / "data";
  fs::create_directories(text);
  write(text / "wiki.train.tokens", corpus(10, 0));
  write(text / "wiki.valid.tokens", corpus(3, 1));
  write(text / "wiki.test.tokens", "");
  CHECK_THROWS_WITH_AS(lm::run({"prepare", "--text", text.string(), "--out", data.string()}),
                       doctest::Contains("wiki.test.tokens is empty"), Error);
  write(text / "wiki.test.tokens", corpus(3, 2));
  REQUIRE(lm::run({"prepare", "--text", text.string(), "--out", data.string()}) == 0);
  fs::remove(data / "valid.tok");
  CHECK_THROWS_WITH_AS(lm::load_data(data.string()), doctest::Contains("the valid split is missing"), Error);
  write(text / "other.txt", corpus(10, 0) + " zebra quagga okapi tapir gnu yak eland ibex\n");
  REQUIRE(lm::run({"prepare", "--train", (text / "other.txt").string(), "--valid", (text / "other.txt").string(),
                   "--test", (text / "other.txt").string(), "--out", (tmp.path / "other").string()}) == 0);
  fs::copy_file(tmp.path / "other" / "valid.tok", data / "valid.tok");
  CHECK_THROWS_WITH_AS(lm::load_data(data.string()), doctest::Contains("prepare the splits again"), Error);
  CHECK_THROWS_WITH_AS(lm::run({"train", "--data", (tmp.path / "nowhere").string()}), doctest::Contains("dict.txt"), Error);
}
