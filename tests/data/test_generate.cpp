// Synthetic data: the ListOps evaluator on hand cases, the ListOps and Pathfinder generators,
// and generator -> files -> reader round trips.
#include <set>

#include "data_helpers.h"
#include "data/detail/rng.h"  // defines: Rng (to replay generate_pathfinder's draws)

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::TempDir;

TEST_CASE("listops_evaluate on hand cases (LRA semantics)") {
  CHECK(listops_evaluate("7") == 7);
  CHECK(listops_evaluate("( ( ( [MAX 2 ) 9 ) ] )") == 9);
  CHECK(listops_evaluate("( ( ( [MIN 2 ) 9 ) ] )") == 2);
  CHECK(listops_evaluate("( ( ( [SM 7 ) 8 ) ] )") == 5);              // 15 mod 10
  CHECK(listops_evaluate("( ( ( ( [MED 1 ) 5 ) 9 ) ] )") == 5);       // odd count: middle
  CHECK(listops_evaluate("( ( ( [MED 3 ) 8 ) ] )") == 5);             // int(np.median) = int(5.5)
  CHECK(listops_evaluate("( ( ( [MED 1 ) 2 ) ] )") == 1);             // int(1.5)
  CHECK(listops_evaluate("( ( ( ( ( [MED 9 ) 0 ) 4 ) 1 ) ] )") == 2);  // sorted 0 1 4 9 -> 2.5 -> 2
  // Nesting: SM(MAX(2, 9), MIN(4, 3), 8) = (9 + 3 + 8) % 10 = 0.
  CHECK(listops_evaluate("( ( ( ( [SM ( ( ( [MAX 2 ) 9 ) ] ) ) ( ( ( [MIN 4 ) 3 ) ] ) ) 8 ) ] )") == 0);
  CHECK(listops_evaluate("[MAX 2 9 X") == 9);  // the tokenised form (']' -> 'X', no parentheses)
  // The first real row of the shared sample: SM(6, 5, 9, 0) = 0.
  CHECK(listops_evaluate("( ( ( ( ( [SM 6 ) 5 ) 9 ) 0 ) ] )") == 0);

  check_error([] { listops_evaluate("( ( [MAX 2 ) 9 ) ] ) ]"); }, {"unmatched ']'"});
  check_error([] { listops_evaluate("( ( [MAX 2 ) 9 )"); }, {"1 unclosed"});
  check_error([] { listops_evaluate("( ( [MOD 2 ) ] )"); }, {"unknown token", "'[MOD'"});
  check_error([] { listops_evaluate(""); }, {"no value"});
  check_error([] { listops_evaluate("3 4"); }, {"more than one top-level value"});
  check_error([] { listops_evaluate("( [MAX ] )"); }, {"without arguments"});
  check_error([] { listops_evaluate("12"); }, {"unknown token", "'12'"});
}

TEST_CASE("ListOps generator: lengths in range, labels = evaluator, unique, seeded") {
  ListOpsOptions opts;
  opts.min_length = 10;
  opts.max_length = 60;
  opts.max_depth = 4;
  Generator g1(5), g2(5), g3(6);
  const auto a = generate_listops_examples(200, opts, g1);
  const auto b = generate_listops_examples(200, opts, g2);
  const auto c = generate_listops_examples(200, opts, g3);
  REQUIRE(a.size() == 200);
  std::set<std::string> distinct;
  std::set<int> targets;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto n = static_cast<int64_t>(listops_tokenize(a[i].source).size());
    CHECK(n > opts.min_length);
    CHECK(n < opts.max_length);
    CHECK(listops_evaluate(a[i].source) == a[i].target);
    CHECK(a[i].source == b[i].source);
    distinct.insert(a[i].source);
    targets.insert(a[i].target);
    // Written like LRA: starts with "( ", brackets and tokens separated by single spaces.
    CHECK(a[i].source.rfind("( ", 0) == 0);
    CHECK(a[i].source.find("  ") == std::string::npos);
    CHECK(a[i].source.substr(a[i].source.size() - 3) == "] )");
  }
  CHECK(distinct.size() == 200);
  CHECK(targets.size() >= 8);  // labels spread over the classes
  CHECK(a[0].source != c[0].source);

  // Depth limit: with max_depth 2 an operator's arguments are all digits.
  opts.max_depth = 2;
  opts.min_length = 3;
  opts.max_length = 100;
  Generator g4(1);
  for (const auto& e : generate_listops_examples(50, opts, g4)) {
    const auto ids = listops_tokenize(e.source);
    CHECK(std::count_if(ids.begin(), ids.end(), [](int32_t id) { return id >= 11 && id <= 14; }) == 1);
  }
  // Impossible settings give an error instead of looping forever.
  opts.min_length = 90;
  opts.max_draws = 1000;
  Generator g5(1);
  check_error([&] { generate_listops_examples(1, opts, g5); }, {"generate_listops_examples", "1000 draws"});
  opts.min_length = 10;
  opts.max_length = 11;
  check_error([&] { generate_listops_examples(1, opts, g5); }, {"no length strictly between"});
}

TEST_CASE("ListOps generator with LRA's default lengths (500 < length < 2000)") {
  Generator gen(0);
  const auto ex = generate_listops_examples(3, ListOpsOptions{}, gen);
  for (const auto& e : ex) {
    const auto n = listops_tokenize(e.source).size();
    CHECK(n > 500);
    CHECK(n < 2000);
    CHECK(listops_evaluate(e.source) == e.target);
  }
}

TEST_CASE("ListOps round trip: generate_listops -> lra_listops") {
  TempDir tmp;
  ListOpsOptions opts;
  opts.min_length = 5;
  opts.max_length = 80;
  generate_listops(tmp.path(), 30, 5, 7, opts, /*seed=*/3);
  const std::string train_text = cfx::testing::read_bytes(tmp / "basic_train.tsv");
  CHECK(train_text.rfind("Source\tTarget\n", 0) == 0);
  auto train = lra_listops(tmp.path(), Split::kTrain);
  auto val = lra_listops(tmp.path(), Split::kVal);
  auto test = lra_listops(tmp.path(), Split::kTest);
  CHECK(train->size() == 30);
  CHECK(val->size() == 5);
  CHECK(test->size() == 7);
  Generator gen(3);
  const auto ex = generate_listops_examples(42, opts, gen);  // the same stream as the files
  for (int64_t i = 0; i < 7; ++i) {
    CHECK(test->get(i).label == ex[static_cast<size_t>(35 + i)].target);
    CHECK(test->get(i).tokens == listops_tokenize(ex[static_cast<size_t>(35 + i)].source));
  }
  // Same seed, same bytes.
  TempDir again;
  generate_listops(again.path(), 30, 5, 7, opts, 3);
  CHECK(cfx::testing::read_bytes(again / "basic_train.tsv") == train_text);
}

namespace {

// Independent check of the Pathfinder rule: are the two marker pixels joined by an
// 8-connected run of pixels > 0?
bool markers_joined(const PathfinderImage& img, int64_t n) {
  std::vector<int> comp(img.pixels.size(), -1);
  int next = 0;
  for (int64_t start = 0; start < n * n; ++start) {
    if (!img.pixels[start] || comp[start] >= 0) continue;
    std::vector<int64_t> todo{start};
    comp[start] = next;
    while (!todo.empty()) {
      const int64_t p = todo.back();
      todo.pop_back();
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t x = p % n + dx, y = p / n + dy;
          if (x < 0 || y < 0 || x >= n || y >= n) continue;
          if (img.pixels[y * n + x] && comp[y * n + x] < 0) {
            comp[y * n + x] = next;
            todo.push_back(y * n + x);
          }
        }
    }
    ++next;
  }
  const int a = comp[img.marker_y[0] * n + img.marker_x[0]], b = comp[img.marker_y[1] * n + img.marker_x[1]];
  return a >= 0 && a == b;
}

}  // namespace

TEST_CASE("Pathfinder generator: markers joined iff positive, paths and distractors drawn, seeded") {
  PathfinderOptions opts;
  Generator gen(11);
  for (int i = 0; i < 40; ++i) {
    const int label = i % 2;
    const PathfinderImage img = generate_pathfinder_image(label, opts, gen);
    REQUIRE(img.pixels.size() == 32 * 32);
    CHECK(img.label == label);
    CHECK(img.pixels[img.marker_y[0] * 32 + img.marker_x[0]] > 0);
    CHECK(img.pixels[img.marker_y[1] * 32 + img.marker_x[1]] > 0);
    CHECK(markers_joined(img, 32) == (label == 1));
    const auto lit = std::count_if(img.pixels.begin(), img.pixels.end(), [](uint8_t v) { return v > 0; });
    CHECK(lit > 80);    // two 14-dash paths alone cover well over 80 pixels
    CHECK(lit < 700);
  }
  Generator a(3), b(3);
  CHECK(generate_pathfinder_image(1, opts, a).pixels == generate_pathfinder_image(1, opts, b).pixels);
  // Options that cannot fit give an error, not a hang.
  PathfinderOptions huge;
  huge.contour_length = 400;
  huge.max_attempts = 5;
  check_error([&] { generate_pathfinder_image(1, huge, a); }, {"generate_pathfinder_image", "5 attempts"});
  check_error([&] { generate_pathfinder_image(2, opts, a); }, {"label must be 0 or 1"});
}

TEST_CASE("Pathfinder round trip: generate_pathfinder -> lra_pathfinder, release layout") {
  TempDir tmp;
  PathfinderOptions opts;
  opts.images_per_dir = 8;
  generate_pathfinder(tmp.path(), 20, opts, /*seed=*/9);
  CHECK(std::filesystem::exists(tmp / "imgs/2/sample_3.png"));
  CHECK(std::filesystem::exists(tmp / "metadata/2.npy"));
  const std::string meta0 = cfx::testing::read_bytes(tmp / "metadata/0.npy");
  CHECK(meta0.rfind("imgs/0 sample_0.png 0 ", 0) == 0);
  CHECK(std::count(meta0.begin(), meta0.end(), '\n') == 8);

  auto train = lra_pathfinder(tmp.path(), Split::kTrain);
  auto val = lra_pathfinder(tmp.path(), Split::kVal);
  auto test = lra_pathfinder(tmp.path(), Split::kTest);
  CHECK(train->size() == 16);
  CHECK(val->size() == 2);
  CHECK(test->size() == 2);
  // The first images read back equal the same draws made directly (label, then image, from one
  // Generator seeded 9, as generate_pathfinder does).
  Generator gen(9);
  data::detail::Rng rng(gen);
  for (int64_t i = 0; i < 3; ++i) {
    const int label = rng.uniform() < 0.5 ? 1 : 0;
    const PathfinderImage img = generate_pathfinder_image(label, opts, gen);
    CHECK(train->get(i).label == label);
    CHECK(train->get(i).tokens == std::vector<int32_t>(img.pixels.begin(), img.pixels.end()));
  }
  int64_t positives = 0;
  for (int64_t i = 0; i < train->size(); ++i) positives += train->get(i).label;
  CHECK(positives > 0);
  CHECK(positives < 16);

  // Batches through the DataLoader are [B, 1024] ids in 0..255.
  DataLoader dl(train, {.batch_size = 4, .shuffle = true, .seed = 1, .num_workers = 2});
  for (Batch& b : dl) {
    CHECK(b.inputs.shape() == Shape{4, 1024});
    const auto v = to_vector<int64_t>(b.inputs);
    CHECK(*std::max_element(v.begin(), v.end()) <= 255);
  }
}
