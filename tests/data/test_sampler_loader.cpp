// Samplers and Loader<Batch>: epochs as functions of (seed, epoch), sampling with
// replacement, distributed shares that add up to one process's order, per-batch seeds that
// depend only on the position, skip() that builds nothing, the endless BatchStream's seek.
#include <atomic>
#include <map>
#include <set>

#include "data/detail/rng.h"
#include "data/loader.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;

namespace {

bool is_permutation_of_range(std::vector<int64_t> v, int64_t n) {
  std::sort(v.begin(), v.end());
  for (int64_t i = 0; i < n; ++i)
    if (v[static_cast<size_t>(i)] != i) return false;
  return static_cast<int64_t>(v.size()) == n;
}

// A batch as the loader built it: its indices and its seed.
struct Built {
  std::vector<int64_t> indices;
  uint64_t seed = 0;
  bool operator==(const Built&) const = default;
};

Loader<Built>::MakeBatch recorder(std::atomic<int>* calls = nullptr) {
  return [calls](std::span<const int64_t> rows, uint64_t seed) {
    if (calls) ++*calls;
    return Built{{rows.begin(), rows.end()}, seed};
  };
}

std::vector<Built> drain(Loader<Built>& loader) {
  std::vector<Built> out;
  while (auto b = loader.next_batch()) out.push_back(*b);
  return out;
}

}  // namespace

TEST_CASE("SequentialSampler and RandomSampler: permutations, same seed same epochs, epochs differ") {
  CHECK(SequentialSampler(4).indices(7) == std::vector<int64_t>{0, 1, 2, 3});
  RandomSampler a(50, 3), b(50, 3), c(50, 4);
  for (int64_t e = 0; e < 3; ++e) {
    CHECK(is_permutation_of_range(a.indices(e), 50));
    CHECK(a.indices(e) == b.indices(e));
    CHECK(a.indices(e) != c.indices(e));
  }
  CHECK(a.indices(0) != a.indices(1));
  CHECK(RandomSampler(1, 3).indices(5) == std::vector<int64_t>{0});
  CHECK(RandomSampler(0, 3).indices(5).empty());
  check_error([&] { a.indices(-1); }, {"epoch", "-1"});
}

TEST_CASE("RandomSampler epoch e = the e-th shuffle drawn from one Generator(seed), without drawing the others") {
  // The order the DataLoader has always produced (and LRA runs were recorded with): a
  // Fisher-Yates per epoch, every epoch drawing on from the same generator.
  for (int64_t n : {2, 7, 8, 9, 100}) {
    Generator shared(11);
    for (int64_t e = 0; e < 4; ++e) {
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
      data::detail::Rng rng(shared);
      for (size_t i = order.size() - 1; i > 0; --i)
        std::swap(order[i], order[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(i)))]);
      CHECK_MESSAGE(RandomSampler(n, 11).indices(e) == order, "n ", n, " epoch ", e);
    }
  }
  // With a caller's generator, each call takes its next draws (torch's generator= behaviour).
  Generator g(11);
  RandomSampler live(9, 0, {.generator = &g});
  CHECK(live.indices(0) == RandomSampler(9, 11).indices(0));
  CHECK(live.indices(0) == RandomSampler(9, 11).indices(1));
}

TEST_CASE("RandomSampler with replacement: num_samples draws in range, every value drawn, seeded per epoch") {
  RandomSampler r(5, 9, {.replacement = true, .num_samples = 2000});
  CHECK(r.size() == 2000);
  const std::vector<int64_t> draws = r.indices(0);
  std::map<int64_t, int> counts;
  for (int64_t i : draws) ++counts[i];
  CHECK(counts.size() == 5);
  for (const auto& [value, count] : counts) {
    CHECK(value >= 0);
    CHECK(value < 5);
    CHECK(count > 300);  // 400 expected each; 300 is > 5 standard deviations below
  }
  CHECK(r.indices(0) == RandomSampler(5, 9, {.replacement = true, .num_samples = 2000}).indices(0));
  CHECK(r.indices(1) != draws);
  CHECK(RandomSampler(5, 9, {.replacement = true}).size() == 5);
  check_error([&] { RandomSampler(5, 9, {.num_samples = 7}); }, {"num_samples 7", "without replacement"});
  check_error([&] { RandomSampler(0, 9, {.replacement = true, .num_samples = 3}); }, {"empty dataset"});
}

TEST_CASE("DistributedSampler: ranks take every world_size-th index; together they cover one process's epoch") {
  auto base = std::make_shared<RandomSampler>(10, 5);
  const std::vector<int64_t> whole = base->indices(2);
  std::vector<int64_t> together;
  for (int64_t rank = 0; rank < 3; ++rank) {
    DistributedSampler d(base, rank, 3);
    CHECK(d.size() == 4);  // ceil(10 / 3); the first 2 indices are repeated to make 12
    const std::vector<int64_t> mine = d.indices(2);
    REQUIRE(mine.size() == 4);
    for (size_t i = 0; i < mine.size(); ++i) {
      const size_t global = i * 3 + static_cast<size_t>(rank);
      CHECK(mine[i] == whole[global % whole.size()]);
    }
    together.insert(together.end(), mine.begin(), mine.end());
  }
  std::sort(together.begin(), together.end());
  together.erase(std::unique(together.begin(), together.end()), together.end());
  CHECK(together.size() == 10);
  DistributedSampler cut(base, 1, 3, /*drop_last=*/true);
  CHECK(cut.size() == 3);
  CHECK(cut.indices(2) == std::vector<int64_t>{whole[1], whole[4], whole[7]});
  CHECK(DistributedSampler(base, 0, 1).indices(2) == whole);
  check_error([&] { DistributedSampler(base, 3, 3); }, {"rank 3", "world_size = 3"});
  check_error([&] { DistributedSampler(nullptr, 0, 1); }, {"null"});
}

TEST_CASE("Loader: batches follow the sampler; batch seeds depend on (seed, epoch, batch) only") {
  auto sampler = std::make_shared<RandomSampler>(23, 1);
  Loader<Built> plain(sampler, recorder(), {.batch_size = 5, .seed = 77});
  plain.set_epoch(2);
  const std::vector<Built> epoch2 = drain(plain);
  REQUIRE(epoch2.size() == 5);
  CHECK(epoch2.back().indices.size() == 3);
  const std::vector<int64_t> order = sampler->indices(2);
  for (size_t k = 0; k < epoch2.size(); ++k) {
    CHECK(epoch2[k].indices == std::vector<int64_t>(order.begin() + 5 * k, order.begin() + std::min<size_t>(23, 5 * k + 5)));
    CHECK(epoch2[k].seed == batch_seed(77, 2, static_cast<int64_t>(k)));
  }
  std::set<uint64_t> seeds;
  for (const Built& b : epoch2) seeds.insert(b.seed);
  CHECK(seeds.size() == 5);
  CHECK(batch_seed(77, 2, 0) != batch_seed(77, 3, 0));
  CHECK(batch_seed(77, 2, 0) != batch_seed(78, 2, 0));

  // The same batches with workers, and when epoch 2 is reached by reset() from the start.
  for (int workers : {1, 3}) {
    Loader<Built> threaded(sampler, recorder(), {.batch_size = 5, .seed = 77, .num_workers = workers, .prefetch = 2});
    threaded.reset();
    threaded.reset();
    threaded.reset();
    CHECK(threaded.epoch() == 2);
    CHECK(drain(threaded) == epoch2);
  }
  Loader<Built> dropped(sampler, recorder(), {.batch_size = 5, .drop_last = true});
  CHECK(dropped.num_batches() == 4);
}

TEST_CASE("Loader::skip moves ahead without building; the batches after it are the uninterrupted ones") {
  auto sampler = std::make_shared<RandomSampler>(40, 2);
  Loader<Built> reference(sampler, recorder(), {.batch_size = 4, .seed = 5});
  reference.set_epoch(1);
  const std::vector<Built> whole = drain(reference);
  for (int workers : {0, 2}) {
    std::atomic<int> calls{0};
    Loader<Built> loader(sampler, recorder(&calls), {.batch_size = 4, .seed = 5, .num_workers = workers});
    loader.set_epoch(1);
    loader.skip(6);
    CHECK(calls == 0);
    CHECK(loader.batch() == 6);
    const std::vector<Built> rest = drain(loader);
    CHECK(rest == std::vector<Built>(whole.begin() + 6, whole.end()));
    CHECK(calls == 4);
    check_error([&] { loader.skip(1); }, {"cannot skip 1", "batch 10", "epoch 1", "10"});
  }
}

TEST_CASE("Loader rethrows make_batch's error at its batch and ends the epoch") {
  for (int workers : {0, 2}) {
    Loader<Built> loader(std::make_shared<SequentialSampler>(12),
                         [](std::span<const int64_t> rows, uint64_t) {
                           CFX_CHECK(rows.front() != 8, "record 8 is corrupt");
                           return Built{{rows.begin(), rows.end()}, 0};
                         },
                         {.batch_size = 4, .num_workers = workers, .prefetch = 3});
    CHECK(loader.next_batch()->indices.front() == 0);
    CHECK(loader.next_batch()->indices.front() == 4);
    check_error([&] { loader.next_batch(); }, {"record 8 is corrupt"});
    CHECK_FALSE(loader.next_batch().has_value());
    loader.reset();
    CHECK(loader.next_batch()->indices.front() == 0);
  }
  check_error([&] { Loader<Built>(nullptr, recorder()); }, {"sampler is null"});
  check_error([&] { Loader<Built>(std::make_shared<SequentialSampler>(3), recorder(), {.batch_size = 0}); },
              {"batch_size"});
}

TEST_CASE("BatchStream: endless over epochs; seek(epoch, batch) continues exactly where the stream was") {
  auto sampler = std::make_shared<RandomSampler>(10, 4);
  Loader<Built> loader(sampler, recorder(), {.batch_size = 3, .seed = 1, .num_workers = 1});
  BatchStream<Built> stream(loader);
  std::vector<Built> taken;
  std::vector<std::pair<int64_t, int64_t>> positions;
  for (int i = 0; i < 11; ++i) {  // 4 batches per epoch: crosses two epoch boundaries
    positions.emplace_back(stream.epoch(), stream.batch());
    taken.push_back(stream.next_batch());
  }
  CHECK(positions[0] == std::pair<int64_t, int64_t>{0, 0});
  CHECK(positions[4] == std::pair<int64_t, int64_t>{0, 4});  // the epoch's end: the next batch starts epoch 1
  const std::vector<int64_t> epoch1 = sampler->indices(1);
  CHECK(taken[4].indices == std::vector<int64_t>(epoch1.begin(), epoch1.begin() + 3));
  for (size_t i = 0; i < positions.size(); ++i) {
    std::atomic<int> calls{0};
    Loader<Built> fresh(sampler, recorder(&calls), {.batch_size = 3, .seed = 1});
    BatchStream<Built> resumed(fresh);
    resumed.seek(positions[i].first, positions[i].second);
    CHECK(calls == 0);
    for (size_t j = i; j < taken.size(); ++j) CHECK_MESSAGE(resumed.next_batch() == taken[j], "seek ", i, " batch ", j);
  }
  Loader<Built> empty(std::make_shared<SequentialSampler>(2), recorder(), {.batch_size = 3, .drop_last = true});
  check_error([&] { BatchStream<Built> s(empty); }, {"BatchStream", "no batch"});
}
