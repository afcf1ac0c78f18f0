// Datasets, collate and the DataLoader: shapes, padding, drop_last, seeded order, prefetch
// threads (same batches as without, errors rethrown in order, clean shutdown).
#include <set>

#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::row;

namespace {

// Example i: tokens 1..(i % 5 + 1) shifted by 10*i, label i.
std::shared_ptr<InMemoryDataset> counting_dataset(int64_t n) {
  auto ds = std::make_shared<InMemoryDataset>();
  for (int64_t i = 0; i < n; ++i) {
    Example e;
    for (int64_t t = 0; t <= i % 5; ++t) e.tokens.push_back(static_cast<int32_t>(10 * i + t + 1));
    e.label = i;
    ds->add(std::move(e));
  }
  return ds;
}

// get(bad) throws, like a corrupt record read lazily.
struct FailingDataset : Dataset {
  int64_t n, bad;
  FailingDataset(int64_t n_, int64_t bad_) : n(n_), bad(bad_) {}
  int64_t size() const override { return n; }
  Example get(int64_t i) const override {
    CFX_CHECK(i != bad, "FailingDataset: record ", i, " is corrupt");
    return Example{{static_cast<int32_t>(i + 1)}, {}, i};
  }
};

std::vector<std::vector<int64_t>> epoch_indices(DataLoader& dl) {
  std::vector<std::vector<int64_t>> out;
  dl.reset();
  while (auto b = dl.next_batch()) out.push_back(b->indices);
  return out;
}

// Everything a batch holds, flattened, to compare two loaders.
std::vector<int64_t> flatten(const Batch& b) {
  std::vector<int64_t> v = to_vector<int64_t>(b.inputs);
  for (auto x : to_vector<int64_t>(b.targets)) v.push_back(x);
  for (auto x : to_vector<int64_t>(b.lengths)) v.push_back(x);
  for (auto x : to_vector<int64_t>(b.mask)) v.push_back(x);
  v.insert(v.end(), b.indices.begin(), b.indices.end());
  v.push_back(b.inputs.size(1));
  return v;
}

}  // namespace

TEST_CASE("collate pads with 0, records lengths, mask, targets and indices") {
  std::vector<Example> ex = {{{5, 6, 7}, {}, 1}, {{8}, {}, 0}, {{}, {}, 9}};
  const std::vector<int64_t> idx = {4, 2, 7};
  Batch b = collate(ex, {}, idx);
  CHECK(b.size() == 3);
  CHECK(b.inputs.shape() == Shape{3, 3});
  CHECK(b.inputs.dtype() == kInt64);
  CHECK(b.mask.dtype() == kBool);
  CHECK(to_vector<int64_t>(b.inputs) == std::vector<int64_t>{5, 6, 7, 8, 0, 0, 0, 0, 0});
  CHECK(to_vector<int64_t>(b.mask) == std::vector<int64_t>{1, 1, 1, 1, 0, 0, 0, 0, 0});
  CHECK(to_vector<int64_t>(b.lengths) == std::vector<int64_t>{3, 1, 0});
  CHECK(to_vector<int64_t>(b.targets) == std::vector<int64_t>{1, 0, 9});
  CHECK(b.indices == idx);
  CHECK_FALSE(b.inputs2.defined());

  Batch fixed = collate(ex, {.pad_to = 5});
  CHECK(fixed.inputs.shape() == Shape{3, 5});
  CHECK(row(fixed.inputs, 0) == std::vector<int64_t>{5, 6, 7, 0, 0});
  check_error([&] { collate(ex, {.pad_to = 2}); }, {"collate", "length 3", "pad_to 2"});
  check_error([&] { collate(std::vector<Example>{}); }, {"collate", "empty"});
}

TEST_CASE("collate builds the second sequence of paired examples") {
  std::vector<Example> ex = {{{1, 2}, {3}, 1}, {{4}, {5, 6, 7}, 0}};
  Batch b = collate(ex, {.paired = true});
  CHECK(b.inputs.shape() == Shape{2, 2});
  CHECK(b.inputs2.shape() == Shape{2, 3});
  CHECK(to_vector<int64_t>(b.inputs2) == std::vector<int64_t>{3, 0, 0, 5, 6, 7});
  CHECK(to_vector<int64_t>(b.lengths2) == std::vector<int64_t>{1, 3});
  CHECK(to_vector<int64_t>(b.mask2) == std::vector<int64_t>{1, 0, 0, 1, 1, 1});
}

TEST_CASE("PackedDataset stores bytes, adds id_offset, slices; SubsetDataset views") {
  PackedDataset ds(/*id_offset=*/1);
  const std::vector<uint8_t> a = {0, 255, 7}, b = {9};
  ds.add(a, 1);
  ds.add(b, 0);
  CHECK(ds.size() == 2);
  CHECK(ds.get(0).tokens == std::vector<int32_t>{1, 256, 8});
  CHECK(ds.get(1).label == 0);
  auto tail = ds.slice(1, 2);
  CHECK(tail->size() == 1);
  CHECK(tail->get(0).tokens == std::vector<int32_t>{10});
  check_error([&] { ds.get(2); }, {"PackedDataset::get", "index 2"});
  check_error([&] { ds.add_pair(a, b, 0); }, {"not paired"});

  auto pairs = std::make_shared<PackedDataset>(0, true);
  pairs->add_pair(a, b, 1);
  CHECK(pairs->paired());
  CHECK(pairs->get(0).tokens2 == std::vector<int32_t>{9});
  CHECK(pairs->slice(0, 1)->get(0).tokens == std::vector<int32_t>{0, 255, 7});

  SubsetDataset sub(counting_dataset(10), {7, 3});
  CHECK(sub.size() == 2);
  CHECK(sub.get(0).label == 7);
  CHECK(sub.get(1).label == 3);
  check_error([&] { SubsetDataset(counting_dataset(3), {3}); }, {"SubsetDataset", "indices[0] = 3"});
}

TEST_CASE("DataLoader batch shapes, last partial batch and drop_last") {
  auto ds = counting_dataset(10);
  DataLoader dl(ds, {.batch_size = 4});
  CHECK(dl.num_batches() == 3);
  std::vector<int64_t> sizes, seen;
  while (auto b = dl.next_batch()) {  // next_batch() before reset() starts epoch 0
    sizes.push_back(b->size());
    CHECK(b->inputs.shape() == Shape{b->size(), b->inputs.size(1)});
    CHECK(b->targets.shape() == Shape{b->size()});
    CHECK(b->mask.shape() == b->inputs.shape());
    for (auto t : to_vector<int64_t>(b->targets)) seen.push_back(t);
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // no shuffle: dataset order
  CHECK_FALSE(dl.next_batch().has_value());                         // stays finished until reset()

  DataLoader dropped(ds, {.batch_size = 4, .drop_last = true});
  CHECK(dropped.num_batches() == 2);
  int64_t count = 0;
  for (Batch& b : dropped) {
    CHECK(b.size() == 4);
    ++count;
  }
  CHECK(count == 2);

  DataLoader fixed(ds, {.batch_size = 3, .pad_to = 8});
  for (Batch& b : fixed) CHECK(b.inputs.size(1) == 8);
  // Example 4 has 5 tokens 41..45; batch 1 of size 3 holds examples 3, 4, 5.
  fixed.reset();
  fixed.next_batch();
  Batch b1 = *fixed.next_batch();
  CHECK(row(b1.inputs, 1) == std::vector<int64_t>{41, 42, 43, 44, 45, 0, 0, 0});
  CHECK(row(b1.mask, 1) == std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0});
}

TEST_CASE("DataLoader shuffling: same seed same order, new epoch new order, a permutation each time") {
  auto ds = counting_dataset(50);
  DataLoader a(ds, {.batch_size = 8, .shuffle = true, .seed = 42});
  DataLoader b(ds, {.batch_size = 8, .shuffle = true, .seed = 42});
  DataLoader c(ds, {.batch_size = 8, .shuffle = true, .seed = 43});
  const auto a0 = epoch_indices(a), a1 = epoch_indices(a), a2 = epoch_indices(a);
  const auto b0 = epoch_indices(b), b1 = epoch_indices(b);
  CHECK(a0 == b0);
  CHECK(a1 == b1);
  CHECK(a0 != a1);
  CHECK(a1 != a2);
  CHECK(epoch_indices(c) != a0);
  CHECK(a.epoch() == 2);
  for (const auto& epoch : {a0, a1, a2}) {
    std::multiset<int64_t> all;
    for (const auto& batch : epoch) all.insert(batch.begin(), batch.end());
    CHECK(all.size() == 50);
    CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 50);
  }
  // A caller-owned Generator drives the same stream as the seed.
  Generator gen(42);
  DataLoader g(ds, {.batch_size = 8, .shuffle = true, .generator = &gen});
  CHECK(epoch_indices(g) == a0);
}

TEST_CASE("DataLoader prefetch threads give the same batches as none") {
  auto ds = counting_dataset(37);
  for (int workers : {1, 3}) {
    for (int prefetch : {1, 4}) {
      DataLoader plain(ds, {.batch_size = 5, .shuffle = true, .seed = 7});
      DataLoader threaded(ds, {.batch_size = 5, .shuffle = true, .seed = 7, .num_workers = workers, .prefetch = prefetch});
      for (int epoch = 0; epoch < 3; ++epoch) {
        plain.reset();
        threaded.reset();
        int64_t n = 0;
        while (auto p = plain.next_batch()) {
          auto t = threaded.next_batch();
          REQUIRE(t.has_value());
          CHECK(flatten(*p) == flatten(*t));
          ++n;
        }
        CHECK(n == 8);
        CHECK_FALSE(threaded.next_batch().has_value());
      }
    }
  }
}

TEST_CASE("DataLoader reset mid-epoch and destruction with busy workers shut down cleanly") {
  auto ds = counting_dataset(200);
  {
    DataLoader dl(ds, {.batch_size = 2, .shuffle = true, .num_workers = 4, .prefetch = 3});
    dl.reset();
    dl.next_batch();
    dl.reset();  // abandons epoch 0 with workers mid-flight
    int64_t n = 0;
    while (dl.next_batch()) ++n;
    CHECK(n == 100);
    dl.reset();
    dl.next_batch();
  }  // destructor joins workers of an unfinished epoch
  DataLoader never_used(ds, {.num_workers = 2});
  CHECK(never_used.epoch() == -1);
}

TEST_CASE("DataLoader rethrows a worker's exception at the failing batch, in order") {
  auto ds = std::make_shared<FailingDataset>(20, 13);  // batch 3 of size 4 holds 12..15
  for (int workers : {0, 1, 4}) {
    CAPTURE(workers);
    DataLoader dl(ds, {.batch_size = 4, .num_workers = workers, .prefetch = 3});
    dl.reset();
    for (int k = 0; k < 3; ++k) CHECK(dl.next_batch().has_value());
    check_error([&] { dl.next_batch(); }, {"FailingDataset: record 13 is corrupt"});
    CHECK_FALSE(dl.next_batch().has_value());  // the epoch ended with the error
    dl.reset();                                 // a new epoch runs again up to the bad record
    for (int k = 0; k < 3; ++k) CHECK(dl.next_batch().has_value());
    check_error([&] { dl.next_batch(); }, {"record 13"});
  }
}

TEST_CASE("DataLoader on a paired dataset and option checks") {
  auto pairs = std::make_shared<InMemoryDataset>(true);
  for (int i = 0; i < 5; ++i) pairs->add(Example{{i + 1}, {i + 1, i + 2}, i % 2});
  DataLoader dl(pairs, {.batch_size = 2, .num_workers = 2});
  for (Batch& b : dl) {
    CHECK(b.inputs2.defined());
    CHECK(b.inputs2.size(1) == 2);
  }
  check_error([&] { DataLoader(pairs, {.batch_size = 0}); }, {"batch_size"});
  check_error([&] { DataLoader(pairs, {.prefetch = 0}); }, {"prefetch"});
  check_error([&] { DataLoader(nullptr); }, {"dataset is null"});
  InMemoryDataset single;
  check_error([&] { single.add(Example{{1}, {2}, 0}); }, {"not paired"});
}
