// The profiler (core/profiler.h): what a training step's table and trace say.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/profiler.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "testing.h"

using namespace cfx;
namespace fs = std::filesystem;
using profiler::OpStats;
using profiler::RangeKind;

namespace {

const OpStats* find_row(const std::vector<OpStats>& rows, const std::string& name, RangeKind kind, bool backward) {
  for (const OpStats& r : rows)
    if (r.name == name && r.kind == kind && r.backward == backward) return &r;
  return nullptr;
}

// Two Linear layers with a GELU between, a mean-square loss, backward, one Adam step.
void train_step(nn::Linear& a, nn::Linear& b, nn::Adam& opt, const Tensor& x) {
  opt.zero_grad();
  Tensor h = gelu(a.forward(x));
  Tensor y = b.forward(h);
  (y * y).mean().backward();
  opt.step();
}

}  // namespace

TEST_CASE("profiler: off, nothing is recorded") {
  profiler::reset();
  REQUIRE_FALSE(profiler::enabled());
  Tensor x = randn({4, 4}).requires_grad_();
  (exp(x) * 2.0).sum().backward();
  CHECK(profiler::key_averages().empty());
}

TEST_CASE("profiler: a training step's table names its ops, their backward and their kernels") {
  manual_seed(0);
  nn::Linear a(8, 16), b(16, 4);
  std::vector<Tensor> params = a.parameters();
  for (const Tensor& p : b.parameters()) params.push_back(p);
  nn::Adam opt(params, nn::AdamOptions{});
  const Tensor x = randn({32, 8});
  train_step(a, b, opt, x);  // warm the allocator's cache; not profiled

  std::vector<OpStats> rows;
  {
    profiler::Profile profile;
    for (int i = 0; i < 3; ++i) train_step(a, b, opt, x);
    rows = profiler::key_averages();
  }
  REQUIRE_FALSE(rows.empty());
  MESSAGE(profiler::table(rows));

  const OpStats* linear = find_row(rows, "linear", RangeKind::op, false);
  REQUIRE(linear != nullptr);
  CHECK(linear->calls == 6);  // 2 layers x 3 steps
  // Linear's output [32, 16] then [32, 4] float32, per step, at least.
  CHECK(linear->bytes >= 3 * (32 * 16 + 32 * 4) * 4);
  const OpStats* gelu_op = find_row(rows, "gelu", RangeKind::op, false);
  REQUIRE(gelu_op != nullptr);
  CHECK(gelu_op->calls == 3);
  // gelu's backward node, and the kernel it runs inside it
  const OpStats* gelu_bw = find_row(rows, "gelu", RangeKind::backward, true);
  REQUIRE(gelu_bw != nullptr);
  CHECK(gelu_bw->calls == 3);
  CHECK(find_row(rows, "unary_backward_kernel", RangeKind::kernel, true) != nullptr);
  // matmul runs inside linear (forward) and as a backward node; its kernel in both phases
  CHECK(find_row(rows, "matmul", RangeKind::op, false) != nullptr);
  CHECK(find_row(rows, "matmul", RangeKind::backward, true) != nullptr);
  CHECK(find_row(rows, "bmm_kernel", RangeKind::kernel, false) != nullptr);
  CHECK(find_row(rows, "bmm_kernel", RangeKind::kernel, true) != nullptr);
  const OpStats* step = find_row(rows, "Adam.step", RangeKind::op, false);
  REQUIRE(step != nullptr);
  CHECK(step->calls == 3);

  for (const OpStats& r : rows) {
    INFO(r.name, " ", profiler::kind_name(r.kind));
    CHECK(r.calls > 0);
    CHECK(r.self_ms >= 0);
    CHECK(r.self_ms <= r.total_ms + 1e-9);
  }
  for (size_t i = 1; i < rows.size(); ++i) CHECK(rows[i - 1].self_ms >= rows[i].self_ms);  // sorted by self time

  const std::string t = profiler::table(rows, 5);
  CHECK(t.find("self ms") != std::string::npos);
  CHECK(t.find("(5 shown)") != std::string::npos);
}

TEST_CASE("profiler: self time is total minus the nested ranges; ranges on other threads count too") {
  using namespace std::chrono_literals;
  std::vector<OpStats> rows;
  {
    profiler::Profile profile;
    {
      const profiler::Range outer("outer", RangeKind::op);
      {
        const profiler::Range inner("inner", RangeKind::kernel);
        std::this_thread::sleep_for(4ms);
      }
      std::this_thread::sleep_for(2ms);
    }
    std::thread([] { const profiler::Range other("other_thread", RangeKind::op); }).join();
    rows = profiler::key_averages();
  }
  const OpStats* outer = find_row(rows, "outer", RangeKind::op, false);
  const OpStats* inner = find_row(rows, "inner", RangeKind::kernel, false);
  REQUIRE(outer != nullptr);
  REQUIRE(inner != nullptr);
  CHECK(inner->total_ms >= 4.0);
  CHECK(outer->total_ms >= 6.0);
  CHECK(outer->self_ms == doctest::Approx(outer->total_ms - inner->total_ms).epsilon(1e-9));
  CHECK(outer->self_ms >= 2.0);
  CHECK(find_row(rows, "other_thread", RangeKind::op, false) != nullptr);
}

TEST_CASE("profiler: the Chrome trace holds one complete event per range, nested in time") {
  const fs::path path = fs::temp_directory_path() / ("conflux_profile_" + std::to_string(::getpid()) + ".json");
  int64_t ranges = 0;
  {
    profiler::Profile profile(profiler::Options{.record_trace = true});
    Tensor x = randn({16, 16}).requires_grad_();
    (tanh(x) * x).sum().backward();
    for (const OpStats& r : profiler::key_averages()) ranges += r.calls;
  }
  profiler::write_chrome_trace(path);
  std::ifstream in(path);
  const nlohmann::json trace = nlohmann::json::parse(in);
  fs::remove(path);
  const auto& events = trace.at("traceEvents");
  CHECK(static_cast<int64_t>(events.size()) == ranges);
  bool saw_backward = false;
  for (const auto& e : events) {
    CHECK(e.at("ph") == "X");
    CHECK(e.at("dur").get<double>() >= 0);
    CHECK(e.at("ts").get<double>() >= 0);
    if (e.at("cat") == "backward") saw_backward = true;
  }
  CHECK(saw_backward);

  // Recorded without the trace: writing one is an error that says how to get it.
  { profiler::Profile profile; }
  CHECK_THROWS_WITH_AS(profiler::write_chrome_trace(path), doctest::Contains("record_trace"), cfx::Error);
}
