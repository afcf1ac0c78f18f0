// conflux-bench-flow-attention: forward and forward+backward time and peak memory of the
// fused Flow-Attention op, normal and causal, beside softmax attention, for H=8, D=M=64 and
// a range of sequence lengths. One JSON line per case (a benchmark program, not a test).
//
// Memory: "peak_tensor_mb" is the high-water mark of the tensor allocator during the call
// (inputs excluded); "peak_rss_mb" is the process's resident high-water mark (VmHWM,
// reset through /proc/self/clear_refs) minus the resident size before the call, which also
// sees the kernels' own scratch vectors. The official PyTorch code is timed by
// apps/bench/flow_attention_torch.py with the same cases and output format.
//
//   ./conflux-bench-flow-attention [--lengths 256,1024,4096,16384] [--batch 1] [--reps 5]
//                                  [--softmax-max-len 4096] [--dtype float32]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/allocator.h"
#include "core/parallel.h"
#include "ops/creation.h"
#include "ops/flow_attention.h"
#include "ops/reduce.h"

using namespace cfx;

namespace {

struct Config {
  std::vector<int64_t> lengths = {256, 1024, 4096, 16384};
  int64_t batch = 1, heads = 8, dim = 64;
  int reps = 5;
  int64_t softmax_max_len = 4096;  // beyond this the L x L scores take tens of GB
  DType dtype = kFloat32;
};

int64_t read_status_kb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::string(field).size()));
  return -1;
}

struct Measurement {
  double ms = 0;
  double peak_tensor_mb = 0;
  double peak_rss_mb = 0;
};

template <class F>
Measurement measure(F&& fn, int reps) {
  fn();  // warm-up: faults pages in and fills the caching allocator
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  Measurement m;
  m.ms = times[times.size() / 2];
  // Memory of one more call, from a clean cache.
  empty_cpu_cache();
  reset_peak_cpu_memory();
  const int64_t tensor_base = cpu_memory_stats().allocated;
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const int64_t rss_base = read_status_kb("VmRSS:");
  fn();
  m.peak_tensor_mb = static_cast<double>(cpu_memory_stats().peak_allocated - tensor_base) / (1 << 20);
  m.peak_rss_mb = static_cast<double>(read_status_kb("VmHWM:") - rss_base) / 1024.0;
  return m;
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoll(item));
  return out;
}

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      CFX_CHECK(i + 1 < argc, "bench_flow_attention: flag ", a, " needs a value");
      return argv[++i];
    };
    if (a == "--lengths") c.lengths = parse_list(next());
    else if (a == "--batch") c.batch = std::stoll(next());
    else if (a == "--reps") c.reps = std::stoi(next());
    else if (a == "--softmax-max-len") c.softmax_max_len = std::stoll(next());
    else if (a == "--dtype") c.dtype = next() == "float64" ? kFloat64 : kFloat32;
    else CFX_FAIL("bench_flow_attention: unknown flag ", a, " (see the header of apps/bench_flow_attention.cpp)");
  }
  return c;
}

void report(const Config& c, const char* impl, bool causal, int64_t L, const char* pass, const Measurement& m) {
  std::printf("{\"bench\":\"attention\",\"impl\":\"%s\",\"causal\":%s,\"pass\":\"%s\",\"B\":%ld,\"H\":%ld,\"L\":%ld,"
              "\"D\":%ld,\"dtype\":\"%s\",\"threads\":%d,\"ms\":%.3f,\"peak_tensor_mb\":%.1f,\"peak_rss_mb\":%.1f}\n",
              impl, causal ? "true" : "false", pass, static_cast<long>(c.batch), static_cast<long>(c.heads),
              static_cast<long>(L), static_cast<long>(c.dim), std::string(dtype_name(c.dtype)).c_str(), num_threads(),
              m.ms, m.peak_tensor_mb, m.peak_rss_mb);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  const Config c = parse(argc, argv);
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("{\"config\":\"bench_flow_attention\",\"threads\":%d,\"OPENBLAS_CORETYPE\":\"%s\",\"reps\":%d}\n",
              num_threads(), coretype ? coretype : "(unset)", c.reps);
  for (int64_t L : c.lengths) {
    Generator gen(L);
    const TensorOptions o{c.dtype};
    Tensor q = randn({c.batch, c.heads, L, c.dim}, o, &gen), k = randn({c.batch, c.heads, L, c.dim}, o, &gen),
           v = randn({c.batch, c.heads, L, c.dim}, o, &gen);
    for (bool causal : {false, true}) {
      FlowAttentionOptions opts = causal ? FlowAttentionOptions::nlp() : FlowAttentionOptions::core();
      report(c, "conflux_flow", causal, L, "forward", measure([&] {
               NoGradGuard no_grad;
               flow_attention(q, k, v, opts);
             }, c.reps));
      report(c, "conflux_flow", causal, L, "forward_backward", measure([&] {
               Tensor qg = q.detach().requires_grad_(), kg = k.detach().requires_grad_(),
                      vg = v.detach().requires_grad_();
               sum(flow_attention(qg, kg, vg, opts)).backward();
             }, c.reps));
      if (L > c.softmax_max_len) continue;
      report(c, "conflux_softmax", causal, L, "forward", measure([&] {
               NoGradGuard no_grad;
               scaled_dot_product_attention(q, k, v, causal);
             }, c.reps));
      report(c, "conflux_softmax", causal, L, "forward_backward", measure([&] {
               Tensor qg = q.detach().requires_grad_(), kg = k.detach().requires_grad_(),
                      vg = v.detach().requires_grad_();
               sum(scaled_dot_product_attention(qg, kg, vg, causal)).backward();
             }, c.reps));
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
