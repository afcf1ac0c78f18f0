// Philox RNG reproducibility and distribution; thread pool coverage and error propagation;
// the caching allocator's accounting.
#include <atomic>
#include <cmath>

#include "testing.h"

using namespace cfx;

TEST_CASE("same seed gives the same numbers; different seeds differ") {
  Generator g1(42), g2(42), g3(43);
  auto a = to_vector<float>(rand({1000}, {}, &g1));
  auto b = to_vector<float>(rand({1000}, {}, &g2));
  auto c = to_vector<float>(rand({1000}, {}, &g3));
  CHECK(a == b);
  CHECK(a != c);
  // A generator advances: the next draw differs from the first.
  CHECK(to_vector<float>(rand({1000}, {}, &g1)) != a);

  manual_seed(7);
  auto d = to_vector<double>(randn({64}, {kFloat64}));
  manual_seed(7);
  CHECK(to_vector<double>(randn({64}, {kFloat64})) == d);
}

TEST_CASE("random draws do not depend on the thread count") {
  Generator g1(5), g2(5);
  set_num_threads(1);
  auto one = to_vector<float>(randn({100001}, {}, &g1));
  set_num_threads(2);
  auto two = to_vector<float>(randn({100001}, {}, &g2));
  set_num_threads(0);
  CHECK(one == two);
}

TEST_CASE("uniform and normal have the right moments") {
  Generator gen(1);
  auto u = to_vector<double>(rand({200000}, {kFloat64}, &gen));
  double mean = 0, var = 0, lo = 1, hi = 0;
  for (double x : u) { mean += x; lo = std::min(lo, x); hi = std::max(hi, x); }
  mean /= u.size();
  for (double x : u) var += (x - mean) * (x - mean);
  var /= u.size();
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(mean == doctest::Approx(0.5).epsilon(0.01));
  CHECK(var == doctest::Approx(1.0 / 12).epsilon(0.02));

  auto n = to_vector<double>(randn({200000}, {kFloat64}, &gen));
  mean = 0, var = 0;
  for (double x : n) mean += x;
  mean /= n.size();
  for (double x : n) var += (x - mean) * (x - mean);
  var /= n.size();
  CHECK(std::abs(mean) < 0.01);
  CHECK(var == doctest::Approx(1.0).epsilon(0.02));

  auto r = to_vector<int64_t>(randint(3, 7, {1000}, {kInt64}, &gen));
  for (int64_t x : r) { CHECK(x >= 3); CHECK(x < 7); }
}

TEST_CASE("parallel_for covers every index exactly once and rethrows errors") {
  std::vector<std::atomic<int>> hits(10007);
  parallel_for(0, 10007, 100, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) hits[i]++;
  });
  for (auto& h : hits) CHECK(h.load() == 1);
  CHECK_THROWS_WITH_AS(parallel_for(0, 1000, 1, [](int64_t lo, int64_t) {
                         if (lo > 0) CFX_FAIL("worker failed");
                       }),
                       doctest::Contains("worker failed"), cfx::Error);
  // Nested calls run serially instead of deadlocking.
  std::atomic<int64_t> total = 0;
  parallel_for(0, 4, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) parallel_for(0, 100, 1, [&](int64_t a, int64_t b) { total += b - a; });
  });
  CHECK(total.load() == 400);
}

TEST_CASE("the CPU caching allocator reuses blocks and tracks peak memory") {
  empty_cpu_cache();
  reset_peak_cpu_memory();
  const int64_t before = cpu_memory_stats().allocated;
  {
    Tensor a = empty({1 << 20});  // 4 MiB
    CHECK(cpu_memory_stats().allocated - before >= (int64_t{4} << 20));
  }
  CHECK(cpu_memory_stats().allocated == before);
  CHECK(cpu_memory_stats().cached >= (int64_t{4} << 20));
  CHECK(cpu_memory_stats().peak_allocated - before >= (int64_t{4} << 20));
  { Tensor b = empty({1 << 20}); }
  CHECK(cpu_memory_stats().cached >= (int64_t{4} << 20));
}
