// conflux-bench-ops: times matmul and a few elementwise ops and prints one JSON line per
// case, against the roof (peak FMA rate for GEMM, STREAM bandwidth for elementwise) and,
// for GEMM, against raw cblas_sgemm on the same buffers, so the cost of Conflux's layer
// (checks, allocation, views, dispatch) over OpenBLAS is visible.
//
// A benchmark program, not a test: it asserts nothing. Roofs come from
// ../shared/MACHINE-PERF.md: 2 cores, FMA peak 217 GFLOP/s on 2 threads with AVX2 kernels
// (OPENBLAS_CORETYPE=Haswell, the environment's default) and 434 with AVX-512 ones
// (variable unset); STREAM triad ~46 GB/s on 2 threads. OpenBLAS picks its kernels when it
// loads, so compare the two settings by running the program twice:
//   OPENBLAS_CORETYPE=Haswell ./conflux-bench-ops
//   env -u OPENBLAS_CORETYPE ./conflux-bench-ops
// Options: --quick (fewer, smaller cases), --only matmul|elementwise.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apps/bench_machine.h"
#include "core/cpu_capability.h"
#include "core/parallel.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"

using namespace cfx;

namespace {

constexpr double kStreamGBs = 46.0;         // STREAM triad, 2 threads (MACHINE-PERF.md)
constexpr double kAvx2PeakPerThread = 108.5;   // 217 GFLOP/s on 2 threads
constexpr double kAvx512PeakPerThread = 217.0; // 434 GFLOP/s on 2 threads

struct Options {
  bool quick = false;
  std::string only;  // "", "matmul" or "elementwise"
};

// Median wall time of fn in ms, after warm-up calls (which also fill the caching allocator
// and fault in fresh pages, very slow on these VMs). Repeats until min_reps and ~0.5 s.
template <class F>
double median_ms(F&& fn, int warmup = 2, int min_reps = 5, double budget_s = 0.5) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  double total = 0;
  while (static_cast<int>(times.size()) < min_reps || (total < budget_s && times.size() < 200)) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    times.push_back(s * 1e3);
    total += s;
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

// Medians of two functions timed in alternation (a, b, a, b, ...), so that load from other
// processes on these shared cores hits both alike and their ratio stays meaningful.
template <class A, class B>
std::pair<double, double> median_pair_ms(A&& fa, B&& fb, int min_reps = 5, double budget_s = 1.0) {
  for (int i = 0; i < 2; ++i) {
    fa();
    fb();
  }
  std::vector<double> ta, tb;
  double total = 0;
  auto time_ms = [](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  while (static_cast<int>(ta.size()) < min_reps || (total < budget_s * 1e3 && ta.size() < 200)) {
    ta.push_back(time_ms(fa));
    tb.push_back(time_ms(fb));
    total += ta.back() + tb.back();
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  return {median(ta), median(tb)};
}

// AVX-512 kernels are in use when OpenBLAS reports a Skylake-X-class core.
double peak_gflops(int threads) {
  const std::string core = openblas_get_corename();
  const bool avx512 = core.find("kylakex") != std::string::npos || core.find("ooperlake") != std::string::npos ||
                      core.find("apphire") != std::string::npos;
  return (avx512 ? kAvx512PeakPerThread : kAvx2PeakPerThread) * threads;
}

// The 1-minute load average: other processes on these 2 cores make every figure lower.
void print_config() {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("{\"config\":{\"cpu\":\"%s\",\"cpu_capability\":\"%s\",\"cpu_capability_info\":\"%s\","
              "\"threads\":%d,\"openblas_threads\":%d,\"OPENBLAS_CORETYPE\":\"%s\","
              "\"openblas_corename\":\"%s\",\"build_type\":\"%s\",\"peak_gflops\":%.0f,\"stream_gb_per_s\":%.0f,"
              "\"loadavg_1min\":%.2f}}\n",
              cpu_model_name().c_str(), cpu_native_build() ? "native" : cpu_capability_name(cpu_capability()),
              cpu_capability_info().c_str(), num_threads(), openblas_get_num_threads(), coretype ? coretype : "(unset)", openblas_get_corename(),
              CONFLUX_BUILD_TYPE, peak_gflops(openblas_get_num_threads()), kStreamGBs, bench::load_average());
}

void print_matmul(const char* impl, const char* layout, int64_t batch, int64_t m, int64_t n, int64_t k, double ms,
                  double raw_ms) {
  const int threads = openblas_get_num_threads();
  const double gflops = 2.0 * static_cast<double>(batch * m * n * k) / (ms * 1e6);
  const double peak = peak_gflops(threads);
  std::printf("{\"bench\":\"matmul\",\"impl\":\"%s\",\"layout\":\"%s\",\"batch\":%lld,\"m\":%lld,\"n\":%lld,"
              "\"k\":%lld,\"dtype\":\"float32\",\"threads\":%d,\"ms\":%.4f,\"gflops\":%.1f,\"peak_gflops\":%.0f,"
              "\"pct_peak\":%.1f",
              impl, layout, static_cast<long long>(batch), static_cast<long long>(m), static_cast<long long>(n),
              static_cast<long long>(k), threads, ms, gflops, peak, 100.0 * gflops / peak);
  if (raw_ms > 0) std::printf(",\"overhead_vs_raw_pct\":%.1f", 100.0 * (ms - raw_ms) / raw_ms);
  std::printf("}\n");
  std::fflush(stdout);
}

// One GEMM case: ours (cfx::matmul, allocating its output like user code does) and raw
// cblas_sgemm into a preallocated C, on the same inputs. Ours also writes a fresh (cached,
// but not cache-hot) output, worth a few us at 256-512 (about size / memory bandwidth).
// trans_a: a is the transposed view of a contiguous [K, M] tensor (BLAS reads it as
// CblasTrans, nothing is copied).
void bench_matmul(const char* layout, int64_t batch, int64_t m, int64_t n, int64_t k, bool trans_a) {
  Generator gen(7);
  const Shape a_store = trans_a ? Shape{batch, k, m} : Shape{batch, m, k};
  Tensor a_mem = randn(a_store, {kFloat32}, &gen), b = randn({batch, k, n}, {kFloat32}, &gen);
  Tensor a = trans_a ? a_mem.transpose(1, 2) : a_mem;
  if (batch == 1) {
    a = a.squeeze(0);
    b = b.squeeze(0);
  }
  Tensor c = empty({batch, m, n}, {kFloat32});
  const float* pa = a_mem.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* pc = c.data_ptr<float>();
  const auto [raw, ours] = median_pair_ms(
      [&] {
        for (int64_t i = 0; i < batch; ++i)
          cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, static_cast<int>(m),
                      static_cast<int>(n), static_cast<int>(k), 1.0f, pa + i * m * k,
                      static_cast<int>(trans_a ? m : k), pb + i * k * n, static_cast<int>(n), 0.0f, pc + i * m * n,
                      static_cast<int>(n));
      },
      [&] { Tensor out = matmul(a, b); });
  print_matmul("openblas_raw", layout, batch, m, n, k, raw, 0);
  print_matmul("conflux", layout, batch, m, n, k, ours, raw);
}

void print_elementwise(const char* name, int64_t numel, double bytes, double ms) {
  const double gbs = bytes / (ms * 1e6);
  std::printf("{\"bench\":\"%s\",\"numel\":%lld,\"dtype\":\"float32\",\"threads\":%d,\"ms\":%.4f,"
              "\"gb_per_s\":%.1f,\"stream_gb_per_s\":%.0f,\"pct_stream\":%.1f}\n",
              name, static_cast<long long>(numel), num_threads(), ms, gbs, kStreamGBs, 100.0 * gbs / kStreamGBs);
  std::fflush(stdout);
}

// Bytes counted: every input element read once and every output element written once
// (a broadcast operand counts once; write-allocate traffic is not counted).
void bench_elementwise(int64_t numel) {
  Generator gen(11);
  const int64_t cols = 1024, rows = numel / cols;
  Tensor x = randn({rows, cols}, {kFloat32}, &gen), y = randn({rows, cols}, {kFloat32}, &gen);
  Tensor row = randn({cols}, {kFloat32}, &gen);
  const double f = sizeof(float), n = static_cast<double>(numel);
  print_elementwise("add", numel, 3 * n * f, median_ms([&] { Tensor o = add(x, y); }));
  print_elementwise("mul_broadcast", numel, 2 * n * f, median_ms([&] { Tensor o = mul(x, row); }));
  print_elementwise("exp", numel, 2 * n * f, median_ms([&] { Tensor o = exp(x); }));
  print_elementwise("gelu", numel, 2 * n * f, median_ms([&] { Tensor o = gelu(x); }));
  print_elementwise("gelu_tanh", numel, 2 * n * f, median_ms([&] { Tensor o = gelu(x, "tanh"); }));
  print_elementwise("tanh", numel, 2 * n * f, median_ms([&] { Tensor o = tanh(x); }));
  // dropout's draws: uniform floats from the Philox stream (written only)
  print_elementwise("rand", numel, n * f, median_ms([&] { Tensor o = rand({rows, cols}, {kFloat32}, &gen); }));
  // sum_rows: each row of x [rows, 1024] to one value; sum_cols: over dim 0 (a bias gradient).
  print_elementwise("sum_rows", numel, n * f, median_ms([&] { Tensor o = sum(x, {1}); }));
  print_elementwise("sum_cols", numel, n * f, median_ms([&] { Tensor o = sum(x, {0}); }));
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) o.quick = true;
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) o.only = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--only matmul|elementwise]\n", argv[0]);
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  print_config();
  // Elementwise first: OpenBLAS worker threads keep spinning for a while after a GEMM and
  // would steal the cores from Conflux's own pool.
  if (opt.only.empty() || opt.only == "elementwise") {
    for (int64_t numel : opt.quick ? std::vector<int64_t>{1 << 20} : std::vector<int64_t>{1 << 20, 1 << 24})
      bench_elementwise(numel);
  }
  if (opt.only.empty() || opt.only == "matmul") {
    for (int64_t s : opt.quick ? std::vector<int64_t>{256, 512} : std::vector<int64_t>{256, 512, 1024, 2048})
      bench_matmul("square", 1, s, s, s, false);
    bench_matmul("a_transposed_view", 1, 1024, 1024, 1024, true);
    bench_matmul("batched", 64, 128, 128, 64, false);
    // Tiny matrices: each GEMM is below OpenBLAS's threading threshold, so bmm_kernel splits
    // the batch over Conflux's threads instead (the raw loop stays on one thread).
    bench_matmul("batched_small", 4096, 32, 32, 32, false);
  }
  return 0;
}
