// conflux-bench-anomaly: what anomaly mode (autograd/grad_mode.h) costs, off and on, on two
// training-like steps; one JSON line per case after a config line.
//   mlp:       4 x (Linear + GELU) on [32, 128] then a mean-square loss, forward + backward
//   small_ops: 200 elementwise ops on a [16] tensor, forward + backward (per-op overhead only)
// Off, the cost must be one predictable branch per recorded op, i.e. lost in the noise; on,
// every recorded output and every gradient is scanned and each node keeps a backtrace.
// A benchmark program, not a test: it asserts nothing. Options: --quick (shorter timing);
// --steps N: only N small_ops steps with anomaly mode off, untimed, for counting instructions
// (valgrind --tool=callgrind, two values of N: the difference / the extra steps is one step's).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

#include "apps/bench_machine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/cpu_capability.h"
#include "core/generator.h"
#include "core/parallel.h"
#include "nn/layers.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

using namespace cfx;

namespace {

double time_ms(auto&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Medians of the step with anomaly mode off and on, timed in alternating blocks so that load
// from other processes on these shared cores hits both alike. The first step of each block is
// not counted: after a block with anomaly mode on (backtraces, host copies) caches are cold,
// which would bill "off" for what "on" did.
std::pair<double, double> off_on_ms(auto&& step, double budget_s) {
  constexpr int kBlock = 8;
  std::vector<double> off, on;
  double total = 0;
  auto block = [&](bool enabled, std::vector<double>& into) {
    autograd::DetectAnomalyGuard guard(enabled);
    for (int i = 0; i < kBlock; ++i) {
      const double ms = time_ms(step);
      total += ms;
      if (i > 0) into.push_back(ms);
    }
  };
  for (int i = 0; i < 2; ++i) block(false, off), block(true, on);  // warm-up: allocator cache, pages
  off.clear(), on.clear(), total = 0;
  while (off.size() < 7 * kBlock || (total < budget_s * 1e3 && off.size() < 4000)) {
    block(false, off);
    block(true, on);
  }
  return {median(off), median(on)};
}

// The nodes a backward from `root` walks.
int64_t count_nodes(const Tensor& root) {
  std::unordered_set<const autograd::Node*> seen;
  std::vector<const autograd::Node*> stack{root.grad_fn().get()};
  while (!stack.empty()) {
    const autograd::Node* n = stack.back();
    stack.pop_back();
    if (!n || !seen.insert(n).second) continue;
    for (const autograd::Edge& e : n->next_edges()) stack.push_back(e.node.get());
  }
  return static_cast<int64_t>(seen.size());
}

void print_case(const char* name, int64_t nodes, std::pair<double, double> ms) {
  const auto [off, on] = ms;
  std::printf("{\"bench\":\"anomaly\",\"case\":\"%s\",\"nodes_per_step\":%lld,\"off_ms\":%.4f,\"on_ms\":%.4f,"
              "\"off_ns_per_node\":%.1f,\"on_over_off\":%.2f}\n",
              name, static_cast<long long>(nodes), off, on, off * 1e6 / static_cast<double>(nodes), on / off);
  std::fflush(stdout);
}

}  // namespace

// Two recorded ops per iteration, so a backward walks kOps + 1 nodes (with the sum).
constexpr int kOps = 200;
Tensor small_ops_loss(const Tensor& leaf) {
  Tensor y = leaf;
  for (int i = 0; i < kOps / 2; ++i) y = tanh(y * 1.01);
  return y.sum();
}

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--steps") == 0) {
    manual_seed(0);
    const Tensor leaf = randn({16}).requires_grad_();
    for (int s = std::atoi(argv[2]); s > 0; --s) small_ops_loss(leaf).backward();
    return 0;
  }
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const double budget_s = quick ? 0.3 : 3.0;
  std::printf("{\"config\":{\"cpu\":\"%s\",\"cpu_capability\":\"%s\",\"threads\":%d,\"build_type\":\"%s\","
              "\"loadavg_1min\":%.2f}}\n",
              cpu_model_name().c_str(), cpu_native_build() ? "native" : cpu_capability_name(cpu_capability()),
              num_threads(), CONFLUX_BUILD_TYPE, bench::load_average());

  manual_seed(0);
  std::vector<std::unique_ptr<nn::Linear>> layers;  // modules do not move
  for (int i = 0; i < 4; ++i) layers.push_back(std::make_unique<nn::Linear>(128, 128));
  const Tensor x = randn({32, 128});
  auto mlp_loss = [&] {
    Tensor h = x;
    for (const auto& layer : layers) h = gelu(layer->forward(h));
    return (h * h).mean();
  };
  print_case("mlp", count_nodes(mlp_loss()), off_on_ms([&] { mlp_loss().backward(); }, budget_s));

  const Tensor leaf = randn({16}).requires_grad_();
  print_case("small_ops", count_nodes(small_ops_loss(leaf)),
             off_on_ms([&] { small_ops_loss(leaf).backward(); }, budget_s));
  return 0;
}
