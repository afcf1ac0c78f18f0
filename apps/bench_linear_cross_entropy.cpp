// conflux-bench-linear-cross-entropy: the language model's output layer, fused
// (linear_cross_entropy over vocabulary chunks) against the unfused pair
// cross_entropy(linear(x, W)), forward + backward: time (median of --reps) and the peak of
// bytes held by live tensors (the caching allocator's peak_allocated, minus what the inputs
// hold), one JSON line per case. A benchmark program, not a test: it asserts nothing, but
// prints the largest difference between the two losses and gradients so a fast wrong
// answer cannot pass unnoticed.
//
//   conflux-bench-linear-cross-entropy                       # N 2048, D 512, V 33,280 (WikiText-2's)
//   conflux-bench-linear-cross-entropy --vocab 267744 --reps 1   # WikiText-103's vocabulary
//   conflux-bench-linear-cross-entropy --chunk 4096           # vocabulary columns per chunk (0 = auto)
// No PyTorch twin here: PyTorch has no chunked fused loss of its own (the twin would be the
// same unfused pair, measured by the LM step benchmark of issue 13).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apps/bench_machine.h"
#include "core/allocator.h"
#include "core/cpu_capability.h"
#include "core/parallel.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/linear_cross_entropy.h"
#include "ops/nn_ops.h"
#include "ops/reduce.h"

using namespace cfx;

namespace {

struct Run {
  double ms = 0;
  double peak_mb = 0;
  Tensor loss, gx, gw;
};

// One forward + backward of `impl` on fresh leaves; the peak is over this call only.
template <class Impl>
Run run_once(const Tensor& x0, const Tensor& w0, const Tensor& t, Impl impl) {
  Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_();
  reset_peak_cpu_memory();
  const int64_t before = cpu_memory_stats().allocated;
  const auto start = std::chrono::steady_clock::now();
  Tensor loss = impl(x, w, t);
  loss.backward();
  Run r;
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  r.peak_mb = static_cast<double>(cpu_memory_stats().peak_allocated - before) / 1e6;
  r.loss = loss.detach(), r.gx = x.grad(), r.gw = w.grad();
  return r;
}

template <class Impl>
Run median_run(const Tensor& x, const Tensor& w, const Tensor& t, int reps, Impl impl) {
  std::vector<Run> runs;
  for (int i = 0; i < reps; ++i) runs.push_back(run_once(x, w, t, impl));
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.ms < b.ms; });
  Run r = runs[runs.size() / 2];
  for (const Run& other : runs) r.peak_mb = std::max(r.peak_mb, other.peak_mb);
  return r;
}

double max_diff(const Tensor& a, const Tensor& b) { return cfx::max(cfx::abs(a - b)).item<double>(); }

}  // namespace

int main(int argc, char** argv) {
  int64_t N = 2048, D = 512, V = 33280, chunk = 0;
  int reps = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) std::fprintf(stderr, "%s needs a value\n", a.c_str()), std::exit(2);
      return std::atoll(argv[++i]);
    };
    if (a == "--tokens") N = value();
    else if (a == "--dim") D = value();
    else if (a == "--vocab") V = value();
    else if (a == "--chunk") chunk = value();
    else if (a == "--reps") reps = static_cast<int>(value());
    else {
      std::fprintf(stderr, "usage: %s [--tokens N] [--dim D] [--vocab V] [--chunk C] [--reps R]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("{\"config\":{\"bench\":\"linear_cross_entropy\",\"cpu\":\"%s\",\"cpu_capability\":\"%s\","
              "\"threads\":%d,\"OPENBLAS_CORETYPE\":\"%s\",\"tokens\":%lld,\"dim\":%lld,\"vocab\":%lld,"
              "\"chunk\":%lld,\"reps\":%d,\"dtype\":\"float32\",\"loadavg_1min\":%.2f}}\n",
              cpu_model_name().c_str(), cpu_capability_name(cpu_capability()), num_threads(),
              coretype ? coretype : "(unset)", static_cast<long long>(N), static_cast<long long>(D),
              static_cast<long long>(V), static_cast<long long>(chunk), reps, bench::load_average());
  std::fflush(stdout);

  Generator gen(1);
  const Tensor x = randn({N, D}, {kFloat32}, &gen);
  const Tensor w = randn({V, D}, {kFloat32}, &gen) * (1.0 / std::sqrt(static_cast<double>(D)));
  const Tensor t = randint(0, V, {N}, {kInt64}, &gen);
  // fwd (x W^T), bwd (dx, dW): 3 GEMMs of 2 N V D; the fused op recomputes the logits once more.
  const double gemm_gflop = 2.0 * static_cast<double>(N) * static_cast<double>(V) * static_cast<double>(D) / 1e9;

  const Run unfused = median_run(x, w, t, reps, [](const Tensor& xx, const Tensor& ww, const Tensor& tt) {
    return cross_entropy(linear(xx, ww), tt);
  });
  const Run fused = median_run(x, w, t, reps, [&](const Tensor& xx, const Tensor& ww, const Tensor& tt) {
    return linear_cross_entropy(xx, ww, Tensor(), tt, {.chunk = chunk});
  });
  for (const auto& [name, r, gemms] : {std::tuple{"unfused", &unfused, 3.0}, std::tuple{"fused", &fused, 4.0}})
    std::printf("{\"impl\":\"%s\",\"tokens\":%lld,\"dim\":%lld,\"vocab\":%lld,\"fwd_bwd_ms\":%.1f,"
                "\"gemm_gflops\":%.1f,\"peak_mb\":%.1f,\"logits_mb\":%.1f,\"loss\":%.6f}\n",
                name, static_cast<long long>(N), static_cast<long long>(D), static_cast<long long>(V), r->ms,
                gemms * gemm_gflop / (r->ms / 1e3), r->peak_mb, 4.0 * static_cast<double>(N * V) / 1e6,
                r->loss.item<double>());
  std::printf("{\"check\":\"fused vs unfused\",\"loss_diff\":%.3g,\"grad_x_max_diff\":%.3g,\"grad_w_max_diff\":%.3g,"
              "\"time_ratio\":%.3f,\"peak_ratio\":%.4f}\n",
              std::abs(fused.loss.item<double>() - unfused.loss.item<double>()), max_diff(fused.gx, unfused.gx),
              max_diff(fused.gw, unfused.gw), fused.ms / unfused.ms, fused.peak_mb / unfused.peak_mb);
  return 0;
}
