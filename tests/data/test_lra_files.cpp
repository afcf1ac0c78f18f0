// LRA readers on small files written here (every task, both ListOps column orders) and every
// malformed-input case: each must be a cfx::Error naming the file and the line or record.
#include "data_helpers.h"
#include "data/detail/png.h"  // defines: write_gray_png (to make test PNGs)

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::TempDir;
using cfx::testing::write_file;

TEST_CASE("ListOps reader: Source/Target in either order, extra columns, truncation") {
  TempDir tmp;
  write_file(tmp / "a.tsv", "Source\tTarget\n( ( ( [MAX 2 ) 9 ) ] )\t9\n( ( [SM 4 ) ] )\t4\n\n");
  write_file(tmp / "b.tsv", "Target\tId\tSource\r\n9\tx\t( ( ( [MAX 2 ) 9 ) ] )\r\n");
  auto a = load_listops_tsv(tmp / "a.tsv");
  auto b = load_listops_tsv(tmp / "b.tsv");
  REQUIRE(a->size() == 2);
  REQUIRE(b->size() == 1);
  CHECK(a->get(0).tokens == std::vector<int32_t>{12, 3, 10, 15});  // [MAX 2 9 X
  CHECK(a->get(0).label == 9);
  CHECK(b->get(0).tokens == a->get(0).tokens);
  CHECK(a->get(1).tokens == std::vector<int32_t>{14, 5, 15});
  CHECK(load_listops_tsv(tmp / "a.tsv", 2)->get(0).tokens == std::vector<int32_t>{12, 3});
  // Unknown symbols map to the OOV id.
  write_file(tmp / "oov.tsv", "Source\tTarget\n( ( [FIRST 3 ) ] )\t3\n");
  CHECK(load_listops_tsv(tmp / "oov.tsv")->get(0).tokens == std::vector<int32_t>{kListOpsOovId, 4, 15});
  // lra_listops picks basic_<split>.tsv.
  write_file(tmp / "basic_val.tsv", "Source\tTarget\n7\t7\n");
  CHECK(lra_listops(tmp.path(), Split::kVal)->get(0).tokens == std::vector<int32_t>{8});
}

TEST_CASE("ListOps reader errors name the file and line") {
  TempDir tmp;
  auto err = [&](const std::string& name, const std::string& content, std::initializer_list<std::string> pieces) {
    write_file(tmp / name, content);
    check_error([&] { load_listops_tsv(tmp / name); }, pieces);
  };
  err("no_target.tsv", "Source\tLabel\n7\t7\n", {"no_target.tsv:1:", "'Target'"});
  err("no_header.tsv", "", {"no_header.tsv:1:", "empty file"});
  err("fields.tsv", "Source\tTarget\n7\t7\n7\t7\t7\n", {"fields.tsv:3:", "expected 2", "got 3"});
  err("one_field.tsv", "Source\tTarget\n7\t7\n8\n", {"one_field.tsv:3:", "got 1"});
  err("nonint.tsv", "Source\tTarget\n7\tseven\n", {"nonint.tsv:2:", "'seven'", "not an integer"});
  err("float.tsv", "Source\tTarget\n7\t7.5\n", {"float.tsv:2:", "not an integer"});
  err("range.tsv", "Source\tTarget\n7\t7\n( [MAX 1 ] )\t12\n", {"range.tsv:3:", "12", "outside 0..9"});
  err("empty_src.tsv", "Source\tTarget\n( )\t3\n", {"empty_src.tsv:2:", "Source is empty"});
  check_error([&] { load_listops_tsv(tmp / "nope.tsv"); }, {"missing file", "nope.tsv", "HINT"});
  check_error([&] { lra_listops(tmp.path(), Split::kTest); }, {"missing file", "basic_test.tsv"});
}

TEST_CASE("Text reader on a small aclImdb tree, and its errors") {
  TempDir tmp;
  const auto root = tmp / "aclImdb";
  write_file(root / "train" / "neg" / "10_2.txt", " \tbad\n\n");  // stripped, like TFDS
  write_file(root / "train" / "neg" / "9_1.txt", "worse!");
  write_file(root / "train" / "pos" / "3_10.txt", std::string("\xff\x00ok", 4));
  write_file(root / "train" / "urls_pos.txt", "ignored");
  auto ds = lra_text(root, Split::kTrain, /*max_len=*/4);
  REQUIRE(ds->size() == 3);
  CHECK(ds->get(0).tokens == byte_encode("worse!", 4));  // neg 9 before neg 10 (numeric order)
  CHECK(ds->get(0).tokens == std::vector<int32_t>{'w' + 1, 'o' + 1, 'r' + 1, 's' + 1});
  CHECK(ds->get(1).tokens == std::vector<int32_t>{'b' + 1, 'a' + 1, 'd' + 1});
  CHECK(ds->get(2).tokens == std::vector<int32_t>{256, 1, 'o' + 1, 'k' + 1});
  CHECK(ds->get(2).label == 1);

  check_error([&] { lra_text(root, Split::kTest); }, {"lra_text", "missing directory", "test"});
  write_file(root / "train" / "pos" / "notes.txt", "x");
  check_error([&] { lra_text(root, Split::kTrain); }, {"notes.txt", "<id>_<rating>.txt"});
}

TEST_CASE("Retrieval reader: five fields, float labels, both texts cut, and its errors") {
  TempDir tmp;
  write_file(tmp / "new_aan_pairs.train.tsv",
             "1.0\tP1\tP2\tabcdef\txy\n"
             "0\tP3\tP4\t\tlonger text\n");
  auto ds = lra_retrieval(tmp.path(), Split::kTrain, /*max_len=*/3);
  REQUIRE(ds->size() == 2);
  CHECK(ds->paired());
  CHECK(ds->get(0).label == 1);
  CHECK(ds->get(0).tokens == std::vector<int32_t>{'a' + 1, 'b' + 1, 'c' + 1});
  CHECK(ds->get(0).tokens2 == std::vector<int32_t>{'x' + 1, 'y' + 1});
  CHECK(ds->get(1).tokens.empty());
  CHECK(ds->get(1).label == 0);
  Batch b = collate(std::vector<Example>{ds->get(0), ds->get(1)}, {.pad_to = 3, .paired = true});
  CHECK(to_vector<int64_t>(b.inputs2) == std::vector<int64_t>{'x' + 1, 'y' + 1, 0, 'l' + 1, 'o' + 1, 'n' + 1});

  auto err = [&](const std::string& name, const std::string& content, std::initializer_list<std::string> pieces) {
    write_file(tmp / name, content);
    check_error([&] { load_aan_tsv(tmp / name); }, pieces);
  };
  err("four.tsv", "1\ta\tb\tc\td\n0\ta\tb\tc\n", {"four.tsv:2:", "expected 5", "got 4"});
  err("label.tsv", "yes\ta\tb\tc\td\n", {"label.tsv:1:", "'yes'", "not a number"});
  err("label2.tsv", "1\ta\tb\tc\td\n2\ta\tb\tc\td\n", {"label2.tsv:2:", "not 0 or 1"});
  check_error([&] { lra_retrieval(tmp.path(), Split::kVal); }, {"missing file", "new_aan_pairs.eval.tsv"});
}

namespace {
// One CIFAR record: label, then every pixel (r, g, b).
std::string cifar_record(uint8_t label, uint8_t r, uint8_t g, uint8_t b) {
  std::string rec(1, static_cast<char>(label));
  rec += std::string(1024, static_cast<char>(r)) + std::string(1024, static_cast<char>(g)) +
         std::string(1024, static_cast<char>(b));
  return rec;
}
}  // namespace

TEST_CASE("Image reader: TF grayscale by hand, 90/10 train/val split, test batch, errors") {
  // Hand values of trunc((0.2989 R + 0.5870 G + 0.1140 B) / 255 * 255.5):
  CHECK(tf_rgb_to_gray(0, 0, 0) == 0);
  CHECK(tf_rgb_to_gray(255, 255, 255) == 255);  // 0.9999 * 255.5 = 255.47
  CHECK(tf_rgb_to_gray(255, 0, 0) == 76);       // 76.37
  CHECK(tf_rgb_to_gray(0, 255, 0) == 149);      // 149.98
  CHECK(tf_rgb_to_gray(0, 0, 255) == 29);       // 29.13
  CHECK(tf_rgb_to_gray(100, 150, 200) == 141);  // 141.02
  // Every input against plain float32 steps (volatile: no fused multiply-add) = TF's CPU kernels.
  int64_t mismatches = 0;
  for (int r = 0; r < 256; ++r)
    for (int g = 0; g < 256; ++g)
      for (int b = 0; b < 256; ++b) {
        const float s = static_cast<float>(1.0 / 255.0);
        volatile float rf = static_cast<float>(r) * s, gf = static_cast<float>(g) * s, bf = static_cast<float>(b) * s;
        volatile float pr = rf * 0.2989f, pg = gf * 0.5870f, pb = bf * 0.1140f;
        volatile float sum = pr + pg;
        volatile float gray = sum + pb;
        volatile float scaled = gray * 255.5f;
        mismatches += tf_rgb_to_gray(static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)) !=
                      static_cast<uint8_t>(scaled);
      }
  CHECK(mismatches == 0);

  TempDir tmp;
  // 10 train records, two per batch file k: (label 2k-2, gray level 40(k-1)), (label 2k-1, pure red).
  for (int k = 1; k <= 5; ++k) {
    const auto level = static_cast<uint8_t>(40 * k - 40);
    write_file(tmp / ("data_batch_" + std::to_string(k) + ".bin"),
               cifar_record(static_cast<uint8_t>(2 * k - 2), level, level, level) +
                   cifar_record(static_cast<uint8_t>(2 * k - 1), 255, 0, 0));
  }
  write_file(tmp / "test_batch.bin", cifar_record(3, 0, 255, 0) + cifar_record(4, 0, 0, 255));
  auto train = lra_image(tmp.path(), Split::kTrain), val = lra_image(tmp.path(), Split::kVal);
  auto test = lra_image(tmp.path(), Split::kTest);
  REQUIRE(train->size() == 9);
  REQUIRE(val->size() == 1);
  REQUIRE(test->size() == 2);
  CHECK(train->get(0).label == 0);
  CHECK(train->get(2).tokens == std::vector<int32_t>(1024, tf_rgb_to_gray(40, 40, 40)));
  CHECK(train->get(8).label == 8);
  CHECK(val->get(0).label == 9);
  CHECK(val->get(0).tokens == std::vector<int32_t>(1024, 76));
  CHECK(test->get(0).tokens == std::vector<int32_t>(1024, 149));
  CHECK(test->get(1).tokens[1023] == 29);

  write_file(tmp / "bad_label.bin", cifar_record(1, 0, 0, 0) + cifar_record(10, 0, 0, 0));
  check_error([&] { load_cifar10_bin({tmp / "bad_label.bin"}); }, {"bad_label.bin", "record 1", "label 10"});
  write_file(tmp / "short.bin", cifar_record(1, 0, 0, 0) + "xyz");
  check_error([&] { load_cifar10_bin({tmp / "short.bin"}); }, {"short.bin", "record 1", "truncated"});
  write_file(tmp / "empty.bin", "");
  check_error([&] { load_cifar10_bin({tmp / "empty.bin"}); }, {"empty.bin", "empty"});
  std::filesystem::remove(tmp / "data_batch_4.bin");
  check_error([&] { lra_image(tmp.path(), Split::kTrain); }, {"missing file", "data_batch_4.bin"});
}

namespace {
std::vector<uint8_t> ramp(int64_t size, int seed) {
  std::vector<uint8_t> px(static_cast<size_t>(size * size));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 7 + static_cast<size_t>(seed) * 31) % 256);
  return px;
}
}  // namespace

TEST_CASE("Pathfinder reader: metadata order, 80/10/10 split, PNG pixels, empty PNGs skipped") {
  TempDir tmp;
  const auto root = tmp.path();
  // 20 images over metadata/0.npy (10 lines), 2.npy (6) and 10.npy (4), read in numeric
  // order 0, 2, 10 (by name "10" would come before "2").
  const int per[] = {10, 6, 4};
  const char* names[] = {"0", "2", "10"};
  int img = 0;
  for (int f = 0; f < 3; ++f) {
    std::string meta;
    for (int j = 0; j < per[f]; ++j, ++img) {
      const std::string sub = std::string("imgs/") + names[f], file = "sample_" + std::to_string(j) + ".png";
      std::filesystem::create_directories(root / sub);
      data::detail::write_gray_png(root / sub / file, ramp(32, img).data(), 32, 32);
      meta += sub + " " + file + " " + std::to_string(j) + " " + std::to_string(img % 2) + " 1.0 14 4 2 0.5 1 1\n";
    }
    write_file(root / "metadata" / (std::string(names[f]) + ".npy"), meta);
  }
  auto train = lra_pathfinder(root, Split::kTrain);
  auto val = lra_pathfinder(root, Split::kVal), test = lra_pathfinder(root, Split::kTest);
  REQUIRE(train->size() == 16);
  REQUIRE(val->size() == 2);
  REQUIRE(test->size() == 2);
  for (int64_t i = 0; i < 16; ++i) {
    const auto px = ramp(32, static_cast<int>(i));
    CHECK(train->get(i).tokens == std::vector<int32_t>(px.begin(), px.end()));
    CHECK(train->get(i).label == i % 2);
  }
  CHECK(test->get(1).tokens[5] == ramp(32, 19)[5]);
  // An empty PNG is dropped, as the official pipeline drops empty images.
  write_file(root / "imgs" / "10" / "sample_3.png", "");
  CHECK(lra_pathfinder(root, Split::kTest)->size() == 1);
}

TEST_CASE("Pathfinder reader errors name the metadata line or the PNG") {
  TempDir tmp;
  const auto root = tmp.path();
  check_error([&] { lra_pathfinder(root, Split::kTrain); }, {"lra_pathfinder", "missing directory", "metadata"});
  std::filesystem::create_directories(root / "imgs" / "0");
  data::detail::write_gray_png(root / "imgs/0/sample_0.png", ramp(32, 0).data(), 32, 32);
  auto meta = [&](const std::string& content) { write_file(root / "metadata" / "0.npy", content); };
  const std::string good = "imgs/0 sample_0.png 0 1 1.0 14\n";

  meta(good + "imgs/0 sample_1.png 1\n");
  check_error([&] { lra_pathfinder(root, Split::kTrain); }, {"0.npy:2:", "at least 4"});
  meta(good + good + "imgs/0 sample_0.png 2 maybe\n");
  check_error([&] { lra_pathfinder(root, Split::kTrain); }, {"0.npy:3:", "'maybe'", "not 0 or 1"});
  meta(good + "imgs/0 sample_9.png 1 0\n");
  check_error([&] { lra_pathfinder(root, Split::kTest); }, {"missing file", "sample_9.png", "0.npy:2"});

  const std::string png = cfx::testing::read_bytes(root / "imgs/0/sample_0.png");
  write_file(root / "imgs/0/junk.png", "this is not a png at all");
  meta("imgs/0 junk.png 0 1\n");  // one image: it falls in the test split
  check_error([&] { lra_pathfinder(root, Split::kTest); }, {"junk.png", "not a valid PNG"});
  write_file(root / "imgs/0/cut.png", png.substr(0, png.size() / 2));
  meta("imgs/0 cut.png 0 1\n");
  check_error([&] { lra_pathfinder(root, Split::kTest); }, {"cut.png", "PNG"});
  data::detail::write_gray_png(root / "imgs/0/small.png", ramp(16, 0).data(), 16, 16);
  meta("imgs/0 small.png 0 1\n");
  check_error([&] { lra_pathfinder(root, Split::kTest); }, {"small.png", "expected 32x32", "16x16"});
  std::filesystem::remove(root / "metadata" / "0.npy");
  check_error([&] { lra_pathfinder(root, Split::kTrain); }, {"no metadata/*.npy"});
}
