// conflux-lm prepare: fairseq-preprocess --only-source for the three WikiText splits: the
// dictionary of the training text (dict.txt, or a given one), then every split binarised into
// <out>/{train,valid,test}.tok (data/lm/), with a progress bar over the bytes read.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "apps/common/cli.h"
#include "apps/lm/lm.h"
#include "core/error.h"
#include "data/lm/token_file.h"

namespace cfx::lm {

namespace fs = std::filesystem;

namespace {

// A progress bar over the bytes of one pass (MB done, MB/s).
struct BytesBar {
  explicit BytesBar(std::string what_) : what(std::move(what_)) {}
  std::string what;
  std::unique_ptr<app::ProgressBar> bar;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  void operator()(int64_t done, int64_t total) {
    const int64_t mb_total = std::max<int64_t>(1, total >> 20);
    if (!bar) {
      std::cerr << what << "\n";
      bar = std::make_unique<app::ProgressBar>(mb_total, 0, std::max<int64_t>(1, mb_total / 5));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double mb = static_cast<double>(done) / double(1 << 20);
    bar->update(done >= total ? mb_total : std::min(mb_total, static_cast<int64_t>(mb)),
                {.examples_per_s = mb / std::max(s, 1e-9), .show_acc = false, .show_loss = false, .unit = "MB"});
    if (done >= total) bar->finish();
  }
};

}  // namespace

int run_prepare(const std::vector<std::string>& args) {
  std::string text_dir, train, valid, test, out, dict_file;
  app::Flags f("conflux-lm prepare",
               "Builds the fairseq dictionary of the training text and binarises the three splits "
               "(fairseq-preprocess --only-source).");
  f.add("text", &text_dir, "folder with wiki.{train,valid,test}.tokens (the WikiText release layout)");
  f.add("train", &train, "training text (instead of --text)");
  f.add("valid", &valid, "validation text");
  f.add("test", &test, "test text");
  f.add("dict", &dict_file, "use this dict.txt instead of building one from the training text");
  f.add("out", &out, "folder to write dict.txt and {train,valid,test}.tok into");
  const std::vector<std::string> positional = f.parse(args);
  if (f.help_requested()) return std::cout << f.help(), 0;
  CFX_CHECK(positional.empty(), "conflux-lm prepare: unexpected argument '", positional.empty() ? "" : positional[0], "'");
  CFX_CHECK(!out.empty(), "conflux-lm prepare: --out DIR is required");
  if (!text_dir.empty()) {
    auto pick = [&](std::string& file, const char* split) {
      if (file.empty()) file = (fs::path(text_dir) / fmt::format("wiki.{}.tokens", split)).string();
    };
    pick(train, "train"), pick(valid, "valid"), pick(test, "test");
  }
  CFX_CHECK(!train.empty() && !valid.empty() && !test.empty(), "conflux-lm prepare: give --text DIR, or --train, "
            "--valid and --test\nHINT: with only WikiText-2's valid and test at hand, train on one and test on the "
            "other: --train valid.txt --valid test.txt --test test.txt");
  fs::create_directories(out);
  const auto t0 = std::chrono::steady_clock::now();

  data::lm::Dictionary dict;
  if (dict_file.empty()) {
    BytesBar bar("dictionary of " + train);
    dict = data::lm::build_dictionary({train}, std::ref(bar));
  } else {
    dict = data::lm::Dictionary::load(dict_file);
  }
  dict.save(fs::path(out) / "dict.txt");

  app::Table table({"split", "file", "lines", "tokens", "<unk> replaced"});
  int64_t tokens = 0;
  for (const auto& [split, file] : {std::pair{"train", train}, {"valid", valid}, {"test", test}}) {
    BytesBar bar(fmt::format("binarising {} ({})", split, file));
    const data::lm::BinarizeStats s =
        data::lm::binarize(file, dict, fs::path(out) / (std::string(split) + ".tok"), std::ref(bar));
    table.add_row({split, file, std::to_string(s.lines), std::to_string(s.tokens),
                   fmt::format("{} ({:.2f}%)", s.unknown, 100.0 * static_cast<double>(s.unknown) /
                                                              static_cast<double>(std::max<int64_t>(s.tokens, 1)))});
    tokens += s.tokens;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << table.str()
            << fmt::format("dictionary: {} entries -> {}/dict.txt\n{} tokens in {} ({:.1f} M tokens/s)\n", dict.size(),
                           out, tokens, app::format_duration(seconds), static_cast<double>(tokens) / seconds / 1e6);
  return 0;
}

}  // namespace cfx::lm
