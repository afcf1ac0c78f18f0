// Anomaly mode (autograd/grad_mode.h, autograd/anomaly.h): the forward check on recorded ops,
// the backward check in the engine, creation sites, the guard and CONFLUX_DETECT_ANOMALY.
// This suite is linked with ENABLE_EXPORTS (-rdynamic), so the helpers below, which have
// external linkage on purpose, appear by name in creation sites.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <thread>

#include "testing.h"

using namespace cfx;
using cfx::autograd::anomaly_mode_enabled;
using cfx::autograd::DetectAnomalyGuard;

namespace anomaly_test {

// The model: a Linear layer, then log of its output (some of it negative), then a loss.
[[gnu::noinline]] Tensor log_of_linear_loss(const nn::Linear& layer, const Tensor& x) {
  Tensor y = log(layer.forward(x));
  return y.mean();
}

// sqrt is finite at 0 but its gradient 1 / (2 sqrt(x)) is not: only the backward is anomalous.
[[gnu::noinline]] Tensor sqrt_at_zero_loss(const Tensor& x) {
  Tensor y = sqrt(x);
  return y.sum();
}

}  // namespace anomaly_test

namespace {

// Sets CONFLUX_DETECT_ANOMALY for a scope and re-reads it; restores the old value after.
class ScopedAnomalyEnv {
 public:
  explicit ScopedAnomalyEnv(const char* value) {
    if (const char* old = std::getenv("CONFLUX_DETECT_ANOMALY")) old_ = old;
    ::setenv("CONFLUX_DETECT_ANOMALY", value, 1);
  }
  ~ScopedAnomalyEnv() {
    if (old_) ::setenv("CONFLUX_DETECT_ANOMALY", old_->c_str(), 1);
    else ::unsetenv("CONFLUX_DETECT_ANOMALY");
    autograd::reset_anomaly_mode_from_environment();
  }

 private:
  std::optional<std::string> old_;
};

nn::Linear small_linear() {
  manual_seed(0);
  return nn::Linear(3, 4);
}

bool off_by_environment() { return !autograd::anomaly_mode_from_environment(); }

}  // namespace

TEST_CASE("anomaly mode: the forward of log on a Linear's negative outputs throws naming log and its input") {
  nn::Linear layer = small_linear();
  Tensor x = randn({5, 3});
  REQUIRE(amin(layer.forward(x), {0, 1}).item<double>() < 0);  // so log makes NaN
  DetectAnomalyGuard anomaly;
  std::string message;
  try {
    anomaly_test::log_of_linear_loss(layer, x);
  } catch (const cfx::Error& e) {
    message = e.what();
  }
  MESSAGE(message);
  CHECK(message.find("the forward of 'log' produced NaN in its output [5, 4] float32") != std::string::npos);
  CHECK(message.find("inputs: #0 [5, 4] float32 (finite)") != std::string::npos);
  CHECK(message.find("This op was created at:") != std::string::npos);
  CHECK(message.find("anomaly_test::log_of_linear_loss") != std::string::npos);
  CHECK(message.find("cfx::autograd::") == std::string::npos);  // autograd's own frames are left out
}

TEST_CASE("anomaly mode: a backward-only Inf (sqrt at 0) throws naming sqrt and where it was created") {
  Tensor x = tensor(std::vector<double>{0, 1, 4}, {3}, true);
  std::string message;
  {
    DetectAnomalyGuard anomaly;
    Tensor loss = anomaly_test::sqrt_at_zero_loss(x);  // the forward is finite: no throw here
    try {
      loss.backward();
    } catch (const cfx::Error& e) {
      message = e.what();
    }
  }
  MESSAGE(message);
  CHECK(message.find("the backward of 'sqrt' returned Inf in the gradient for its input #0 [3] float64 "
                     "(0 NaN, 1 Inf of 3 values, the first at [0])") != std::string::npos);
  CHECK(message.find("the op's inputs: #0 [3]; its output [3]") != std::string::npos);
  CHECK(message.find("the gradient coming in from its output was finite") != std::string::npos);
  CHECK(message.find("anomaly_test::sqrt_at_zero_loss") != std::string::npos);
  CHECK_FALSE(x.grad().defined());  // the throw came before the leaf got anything

  // A graph built with anomaly mode off, checked in a backward with it on: no site to show.
  Tensor loss = [&] {
    DetectAnomalyGuard off(false);
    return anomaly_test::sqrt_at_zero_loss(x);
  }();
  DetectAnomalyGuard anomaly;
  CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("anomaly mode was off when its forward ran"), cfx::Error);
}

TEST_CASE("anomaly mode is off by default: the same code runs and gives NaN / Inf") {
  if (!off_by_environment()) {
    MESSAGE("skipped: CONFLUX_DETECT_ANOMALY turns anomaly mode on for this run");
    return;
  }
  CHECK_FALSE(anomaly_mode_enabled());
  nn::Linear layer = small_linear();
  Tensor x = randn({5, 3});
  Tensor loss = anomaly_test::log_of_linear_loss(layer, x);
  CHECK(std::isnan(loss.item<double>()));
  loss.backward();  // NaN gradients, no error

  Tensor z = tensor(std::vector<double>{0, 1, 4}, {3}, true);
  anomaly_test::sqrt_at_zero_loss(z).backward();
  const auto g = to_vector<double>(z.grad());
  CHECK(std::isinf(g[0]));
  CHECK(g[1] == doctest::Approx(0.5));
}

TEST_CASE("DetectAnomalyGuard nests and restores the previous state, also when unwinding") {
  DetectAnomalyGuard outer_off(false);  // whatever the environment says
  CHECK_FALSE(anomaly_mode_enabled());
  {
    DetectAnomalyGuard on;
    CHECK(anomaly_mode_enabled());
    {
      DetectAnomalyGuard off(false);
      CHECK_FALSE(anomaly_mode_enabled());
      {
        DetectAnomalyGuard on_again;
        CHECK(anomaly_mode_enabled());
      }
      CHECK_FALSE(anomaly_mode_enabled());
    }
    CHECK(anomaly_mode_enabled());
    try {
      DetectAnomalyGuard off(false);
      throw std::runtime_error("unwind");
    } catch (const std::runtime_error&) {
    }
    CHECK(anomaly_mode_enabled());
    // Thread-local: another thread is not affected by this thread's guard.
    bool other_thread = true;
    std::thread([&] { other_thread = anomaly_mode_enabled(); }).join();
    CHECK(other_thread == !off_by_environment());
  }
  CHECK_FALSE(anomaly_mode_enabled());
}

TEST_CASE("CONFLUX_DETECT_ANOMALY=1 turns anomaly mode on for every thread; other values are errors") {
  {
    ScopedAnomalyEnv env("1");
    autograd::reset_anomaly_mode_from_environment();
    CHECK(anomaly_mode_enabled());
    bool other_thread = false;
    std::thread([&] { other_thread = anomaly_mode_enabled(); }).join();
    CHECK(other_thread);
    Tensor x = tensor(std::vector<double>{-1, 1}, {2}, true);
    CHECK_THROWS_WITH_AS(log(x), doctest::Contains("the forward of 'log' produced NaN"), cfx::Error);
    {
      DetectAnomalyGuard off(false);  // a guard still wins inside its scope
      CHECK_NOTHROW(log(x));
    }
  }
  {
    ScopedAnomalyEnv env("0");
    autograd::reset_anomaly_mode_from_environment();
    CHECK_FALSE(anomaly_mode_enabled());
  }
  {
    ScopedAnomalyEnv env("yes");
    CHECK_THROWS_WITH_AS(autograd::reset_anomaly_mode_from_environment(),
                         doctest::Contains("CONFLUX_DETECT_ANOMALY: expected 1 (anomaly mode on) or 0 (off), got \"yes\""),
                         cfx::Error);
  }
  CHECK(anomaly_mode_enabled() == !off_by_environment());  // back to what the run started with
}

TEST_CASE("anomaly mode: Inf from a -inf mask is data, Inf an op makes is an anomaly, NaN from a leaf is named") {
  DetectAnomalyGuard anomaly;
  Tensor scores = tensor(std::vector<double>{1, 2, 3, 4}, {2, 2}, true);
  Tensor mask = tensor(std::vector<uint8_t>{0, 1, 0, 0}, {2, 2}).to(kBool);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  Tensor p;
  CHECK_NOTHROW(p = softmax(masked_fill(scores, mask, neg_inf).transpose(0, 1), 0));  // -inf flows, p finite
  CHECK_NOTHROW(p.sum().backward());

  Tensor big = tensor(std::vector<double>{1, 800}, {2}, true);
  CHECK_THROWS_WITH_AS(exp(big), doctest::Contains("the forward of 'exp' produced Inf in its output [2] float64 "
                                                   "(0 NaN, 1 Inf of 2 values, the first at [1])"),
                       cfx::Error);

  Tensor leaf = tensor(std::vector<double>{1, std::nan("")}, {2}, true);
  CHECK_THROWS_WITH_AS(leaf * 2.0, doctest::Contains("The NaN came in with input #0"), cfx::Error);
  Tensor no_grad_nan = tensor(std::vector<double>{std::nan("")}, {1});
  CHECK_NOTHROW(no_grad_nan * 2.0);  // no node recorded: not checked (as in torch)
}
