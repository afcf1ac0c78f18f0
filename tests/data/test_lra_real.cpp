// LRA readers on the real samples in ../shared/data (skipped with a message when absent):
// ListOps (a label-first TSV), IMDB review files, the first 10 CIFAR-10 records.
#include <algorithm>

#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::have_shared_data;
using cfx::testing::read_bytes;
using cfx::testing::shared_data_dir;

TEST_CASE("ListOps reader on the real label-first TSV; every label matches the evaluator") {
  if (!have_shared_data("lra_listops")) return;
  const auto file = shared_data_dir() / "lra_listops" / "test_d20s_first8000.tsv";
  auto ds = load_listops_tsv(file);
  REQUIRE(ds->size() == 8000);
  // Row 1: "0<TAB>( ( ( ( ( [SM 6 ) 5 ) 9 ) 0 ) ] )" -> [SM 6 5 9 0 X.
  const Example e0 = ds->get(0);
  CHECK(e0.label == 0);
  CHECK(e0.tokens == std::vector<int32_t>{14, 7, 6, 10, 1, 15});
  CHECK(ds->get(3).label == 9);

  // Re-read the raw rows: labels agree with the evaluator, ids with the tokenizer (cut to 2000).
  std::istringstream in(read_bytes(file));
  std::string line;
  std::getline(in, line);
  CHECK(line == "Target\tSource");
  int64_t i = 0, longest = 0, oov = 0;
  while (std::getline(in, line) && i < ds->size()) {
    const size_t tab = line.find('\t');
    const std::string source = line.substr(tab + 1);
    const Example e = ds->get(i);
    CHECK(e.label == std::stoi(line.substr(0, tab)));
    CHECK(listops_evaluate(source) == e.label);
    auto ids = listops_tokenize(source);
    longest = std::max<int64_t>(longest, static_cast<int64_t>(ids.size()));
    if (ids.size() > 2000) ids.resize(2000);
    CHECK(e.tokens == ids);
    oov += std::count(e.tokens.begin(), e.tokens.end(), kListOpsOovId);
    ++i;
  }
  CHECK(i == 8000);
  CHECK(longest > 100);
  // Cutting to max_len ids keeps the prefix.
  auto cut = load_listops_tsv(file, /*max_len=*/3);
  CHECK(cut->get(0).tokens == std::vector<int32_t>{14, 7, 6});
  CHECK(cut->get(2).tokens.size() == 3);
  CHECK(oov == 0);
}

TEST_CASE("Text reader on the real aclImdb sample: labels, order, byte ids, truncation to 1000") {
  if (!have_shared_data("lra_text_imdb")) return;
  const auto root = shared_data_dir() / "lra_text_imdb" / "aclImdb";
  auto train = lra_text(root, Split::kTrain);
  REQUIRE(train->size() == 500);
  int64_t pos = 0, max_len = 0, cut = 0;
  for (int64_t i = 0; i < train->size(); ++i) {
    const Example e = train->get(i);
    pos += e.label;
    max_len = std::max<int64_t>(max_len, static_cast<int64_t>(e.tokens.size()));
    CHECK(*std::min_element(e.tokens.begin(), e.tokens.end()) >= 1);
    cut += e.tokens.size() == 1000;
  }
  CHECK(pos == 250);
  CHECK(max_len == 1000);
  CHECK(cut > 0);
  // Negatives first, by numeric id: train/neg/0_3.txt starts "Story of a man who h".
  const Example first = train->get(0);
  CHECK(first.label == 0);
  const std::string text = read_bytes(root / "train" / "neg" / "0_3.txt");
  REQUIRE(text.size() == 655);
  CHECK(first.tokens.size() == 655);
  CHECK(std::vector<int32_t>(first.tokens.begin(), first.tokens.begin() + 5) ==
        std::vector<int32_t>{'S' + 1, 't' + 1, 'o' + 1, 'r' + 1, 'y' + 1});
  CHECK(first.tokens == byte_encode(text));
  CHECK(train->get(250).label == 1);  // pos follow: train/pos/0_9.txt
  CHECK(train->get(250).tokens == byte_encode(read_bytes(root / "train" / "pos" / "0_9.txt"), 1000));

  auto test = lra_text(root, Split::kTest);
  auto val = lra_text(root, Split::kVal);  // LRA evaluates on test
  CHECK(test->size() == 500);
  CHECK(val->get(17).tokens == test->get(17).tokens);
}

TEST_CASE("Image reader on the first 10 real CIFAR-10 records: labels and TF grayscale pixels") {
  if (!have_shared_data("lra_image_cifar10")) return;
  const auto file = shared_data_dir() / "lra_image_cifar10" / "first10_data_batch_1.bin";
  auto ds = load_cifar10_bin({file});
  REQUIRE(ds->size() == 10);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 10; ++i) labels.push_back(ds->get(i).label);
  CHECK(labels == std::vector<int64_t>{6, 9, 9, 4, 1, 1, 2, 7, 8, 3});
  // By hand from the bytes: record 0 pixel 0 is (R, G, B) = (59, 62, 63):
  // (0.2989*59 + 0.5870*62 + 0.1140*63) / 255 * 255.5 = 61.33 -> 61. Pixel 1 (43, 46, 45) -> 45.07 -> 45;
  // pixel 1023 (123, 92, 72) -> 99.17 -> 99; record 1 pixel 0 (154, 177, 187) -> 171.58 -> 171.
  const Example e0 = ds->get(0);
  REQUIRE(e0.tokens.size() == 1024);
  CHECK(e0.tokens[0] == 61);
  CHECK(e0.tokens[1] == 45);
  CHECK(e0.tokens[1023] == 99);
  CHECK(ds->get(1).tokens[0] == 171);
  // The whole record against tf_rgb_to_gray on the raw planes.
  const std::string bytes = read_bytes(file);
  for (int64_t r = 0; r < 10; ++r) {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + r * 3073 + 1;
    const Example e = ds->get(r);
    for (int i = 0; i < 1024; ++i) REQUIRE(e.tokens[i] == tf_rgb_to_gray(p[i], p[1024 + i], p[2048 + i]));
  }
  // A truncated copy of the real file names its last, partial record.
  cfx::testing::TempDir tmp;
  cfx::testing::write_file(tmp / "cut.bin", bytes.substr(0, 3 * 3073 + 100));
  check_error([&] { load_cifar10_bin({tmp / "cut.bin"}); }, {"cut.bin", "record 3", "truncated"});
}
