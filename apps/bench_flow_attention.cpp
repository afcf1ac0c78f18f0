// conflux-bench-flow-attention: forward and forward+backward time and peak memory of the
// fused Flow-Attention op, normal and causal, beside softmax attention, for H=8, D=M=64 and
// a range of sequence lengths. One JSON line per case (a benchmark program, not a test).
//
// CPU (the default). Memory: "peak_tensor_mb" is the high-water mark of the tensor allocator
// during the call (inputs excluded); "peak_rss_mb" is the process's resident high-water mark
// (VmHWM, reset through /proc/self/clear_refs) minus the resident size before the call, which
// also sees the kernels' own scratch vectors. The official PyTorch code is timed by
// apps/bench/flow_attention_torch.py with the same cases and output format.
//
//   ./conflux-bench-flow-attention [--lengths 256,1024,4096,16384] [--batch 1] [--reps 5]
//                                  [--softmax-max-len 4096] [--dtype float32]
//
// CUDA (--device cuda, or the --gpu-sweep preset). Inputs are drawn on the GPU; each case
// gets --warmup untimed calls, then --reps timed ones, each timed on the host clock between
// two cuda::synchronize() calls after the L2 cache was flushed (so every call reads its
// inputs from HBM, as in a real network): "ms" is the median, "min_ms" the fastest.
// Forward+backward calls y.backward(grad_y) with a fixed random grad_y (no sum() in the
// timed region). "peak_mem_mb" is the device allocator's high-water mark during the first
// call, inputs excluded. Flow-Attention lines also carry the HBM floor of the case (hbm_floor_bytes
// below): "hbm_bytes", "floor_ms" = hbm_bytes / --hbm-gbps, "floor_frac" = floor_ms / ms; and
// the compute floor (min_flops): "flops", "flop_floor_ms" = flops / --tflops, "bound_frac" =
// max(floor_ms, flop_floor_ms) / ms.
// apps/bench/flow_attention_torch.py --device cuda prints the same fields for the official
// code; apps/bench/gpu_sweep.sh runs both and joins them.
//
//   ./conflux-bench-flow-attention --device cuda [--warmup 3] [--reps 10] [--hbm-gbps 4800]
//                                  [--tflops 67] [--case-budget-s 0] [--check] [other flags as above]
//   ./conflux-bench-flow-attention --gpu-sweep      (L = 1K..64K, B=1, H=8, D=64, float32,
//                                                    --check; later flags override it)
//   ./conflux-bench-flow-attention --floor-only [--gpu-sweep ...]   (the byte model alone)
//
// --hbm-gbps: peak HBM bandwidth, GB/s (1e9 bytes): H200 4800 (default), H100 SXM 3350,
// H100 PCIe 2000, A100 80GB SXM 2039. A measured device-to-device copy gives the practical
// ceiling (about 4300 on an H200 here), so floor_frac near 0.9 is already the best possible.
// --tflops: peak float32 rate without tensor cores (Conflux's cuBLAS calls and the torch script
// keep TF32 off): H100 SXM and H200 67, H100 PCIe 51, A100 19.5.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/allocator.h"
#include "core/cpu_capability.h"
#include "core/parallel.h"
#include "cuda/context.h"
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
  // CUDA only.
  bool cuda = false;
  int warmup = 3;
  double hbm_gbps = 4800;      // H200; H100 SXM 3350
  double tflops = 67;          // float32 without tensor cores: H100 SXM and H200 67, H100 PCIe 51
  double case_budget_s = 0;    // > 0: stop timing a case after this many seconds (>= 3 reps)
  bool check = false;          // compare GPU results with the CPU's once, at the first length
  bool floor_only = false;     // print the HBM floor of each case, run nothing
};

// ---- HBM floor ------------------------------------------------------------------------------

// The fewest bytes one Flow-Attention call must move through device memory (HBM), however
// well fused: each tensor the op reads is read once, each it writes is written once.
//   forward (inference) .... read q, k, v; write y. Nothing is saved.
//   forward + backward ..... the forward, plus writing the state saved for the backward;
//                            the backward reads grad_y, q, k, v and that state, and writes
//                            dq, dk, dv.
// q, k, v are counted again in the backward: in training the rest of the network runs in
// between, and at these sizes they do not stay in the 50-60 MB L2 (the timing loop flushes
// it for the same reason). The saved state is what cuda/flow_attention.cuh's CudaFlowState
// keeps, per (b,h): I, A, O, O_hat, C (one number per row each) and, non-causal, k_sum,
// q_sum, a, b (D each) and KV (D x M); causal keeps D_prefix (per row) instead of the vectors.
// At D = M = 64 it is about 2% of the total, so another choice of state barely moves the floor.
// The official code and the kernels compute the same function, so one floor serves both.
int64_t hbm_floor_bytes(int64_t B, int64_t H, int64_t L, int64_t D, int64_t M, bool causal, bool with_backward,
                        int64_t elem_bytes) {
  const int64_t BH = B * H;
  const int64_t qk = BH * L * D;  // elements of q, and of k (S == L here)
  const int64_t vy = BH * L * M;  // elements of v, and of y
  const int64_t forward = 2 * qk + vy + vy;                           // read q, k, v; write y
  if (!with_backward) return forward * elem_bytes;
  const int64_t state = causal ? BH * 6 * L : BH * (5 * L + 4 * D + D * M);
  const int64_t backward = vy + (2 * qk + vy) + (2 * qk + vy);        // read grad_y, q, k, v; write dq, dk, dv
  return (forward + state + backward + state) * elem_bytes;           // state written once, read once
}

// The fewest floating-point operations, for the compute floor beside the HBM one: the
// products of an [L,D] by a [D,M] shape that any Flow-Attention does per (b,h), 2 flops a
// multiply-add. Forward: KV = k~^T (C v) and y = q~ KV (4 L D M); backward: gKV, dv, and the
// dk and dq products (8 L D M more). The O(L D) normalisers are left out (under 4% at
// D = M = 64). Causal counts the same: a running state needs the same products, and chunked
// kernels add 2 Tc (D + M) per row for the in-chunk scores on top. Forward, a row of q, k, v,
// y is 16 D bytes (float32) against 4 D M flops: M/4 = 16 flop/byte at M = 64, about the
// H200's float32 ridge (67 TFLOP/s / 4.8 TB/s = 14), so the compute floor can be the larger.
int64_t min_flops(int64_t B, int64_t H, int64_t L, int64_t D, int64_t M, bool with_backward) {
  return (with_backward ? 12 : 4) * B * H * L * D * M;
}

double floor_ms(int64_t bytes, double gbps) { return static_cast<double>(bytes) / (gbps * 1e9) * 1e3; }

// ---- CPU ---------------------------------------------------------------------------------------

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

void report(const Config& c, const char* impl, bool causal, int64_t L, const char* pass, const Measurement& m) {
  std::printf("{\"bench\":\"attention\",\"impl\":\"%s\",\"causal\":%s,\"pass\":\"%s\",\"B\":%ld,\"H\":%ld,\"L\":%ld,"
              "\"D\":%ld,\"dtype\":\"%s\",\"threads\":%d,\"ms\":%.3f,\"peak_tensor_mb\":%.1f,\"peak_rss_mb\":%.1f}\n",
              impl, causal ? "true" : "false", pass, static_cast<long>(c.batch), static_cast<long>(c.heads),
              static_cast<long>(L), static_cast<long>(c.dim), std::string(dtype_name(c.dtype)).c_str(), num_threads(),
              m.ms, m.peak_tensor_mb, m.peak_rss_mb);
  std::fflush(stdout);
}

void run_cpu(const Config& c) {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("{\"config\":\"bench_flow_attention\",\"cpu\":\"%s\",\"cpu_capability\":\"%s\","
              "\"cpu_capability_info\":\"%s\",\"threads\":%d,\"OPENBLAS_CORETYPE\":\"%s\",\"reps\":%d}\n",
              cpu_model_name().c_str(), cpu_native_build() ? "native" : cpu_capability_name(cpu_capability()),
              cpu_capability_info().c_str(), num_threads(), coretype ? coretype : "(unset)", c.reps);
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
}

// ---- CUDA --------------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct GpuMeasurement {
  int iters = 0;
  double ms = 0, min_ms = 0;  // median and fastest of the timed calls
  double peak_mem_mb = 0;
};

// Writing a buffer twice the size of the largest L2 (H100 50 MB, H200 60 MB) evicts the
// previous call's tensors, so small cases are not timed from the cache.
constexpr int64_t kL2FlushBytes = 256LL << 20;

template <class F>
GpuMeasurement measure_cuda(F&& fn, const Config& c, Tensor& l2_flush) {
  const double budget_ms = c.case_budget_s * 1e3;
  GpuMeasurement m;
  // Warm-up: the first calls load modules, create the cuBLAS handle and fill the caching
  // allocator; one slow call is warm-up enough under a budget. The first call also gives the
  // peak memory: the allocator's peak counts bytes held by tensors, not its cache, so it is
  // the same for every call.
  cuda::synchronize();
  cuda::reset_peak_memory();
  const int64_t base = cuda::memory_stats().allocated;
  for (int i = 0; i < std::max(c.warmup, 1); ++i) {
    const auto t0 = Clock::now();
    fn();
    cuda::synchronize();
    if (i == 0) m.peak_mem_mb = static_cast<double>(cuda::memory_stats().peak_allocated - base) / (1 << 20);
    if (budget_ms > 0 && i >= 1 && ms_since(t0) > budget_ms / 4) break;
  }
  std::vector<double> times;
  double spent = 0;
  for (int i = 0; i < c.reps; ++i) {
    l2_flush.zero_();
    cuda::synchronize();
    const auto t0 = Clock::now();
    fn();
    cuda::synchronize();
    times.push_back(ms_since(t0));
    spent += times.back();
    if (budget_ms > 0 && spent > budget_ms && times.size() >= 3) break;
  }
  std::sort(times.begin(), times.end());
  m.iters = static_cast<int>(times.size());
  m.ms = times[times.size() / 2];
  m.min_ms = times.front();
  return m;
}

// The fields every CUDA line starts with (the torch script writes the same).
std::string case_fields(const Config& c, const char* impl, bool causal, int64_t L, const char* pass) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "\"bench\":\"attention\",\"device\":\"cuda\",\"impl\":\"%s\",\"causal\":%s,\"pass\":\"%s\",\"B\":%ld,"
                "\"H\":%ld,\"L\":%ld,\"D\":%ld,\"dtype\":\"%s\"",
                impl, causal ? "true" : "false", pass, static_cast<long>(c.batch), static_cast<long>(c.heads),
                static_cast<long>(L), static_cast<long>(c.dim), std::string(dtype_name(c.dtype)).c_str());
  return buf;
}

// The floor fields of a Flow-Attention case; measured_ms <= 0: the floors alone.
//   floor_ms, floor_frac ........ the HBM floor and floor_ms / measured ms;
//   flop_floor_ms, bound_frac ... the compute floor (min_flops / --tflops) and
//                                 max(floor_ms, flop_floor_ms) / measured ms.
std::string floor_fields(const Config& c, bool causal, int64_t L, bool backward, double measured_ms) {
  const int64_t bytes = hbm_floor_bytes(c.batch, c.heads, L, c.dim, c.dim, causal, backward,
                                        static_cast<int64_t>(itemsize(c.dtype)));
  const int64_t flops = min_flops(c.batch, c.heads, L, c.dim, c.dim, backward);
  const double f = floor_ms(bytes, c.hbm_gbps), fc = static_cast<double>(flops) / (c.tflops * 1e12) * 1e3;
  char buf[320];
  int n = std::snprintf(buf, sizeof buf,
                        ",\"hbm_bytes\":%ld,\"hbm_gbps\":%.0f,\"floor_ms\":%.5f,\"flops\":%ld,\"tflops\":%.0f,"
                        "\"flop_floor_ms\":%.5f",
                        static_cast<long>(bytes), c.hbm_gbps, f, static_cast<long>(flops), c.tflops, fc);
  if (measured_ms > 0)
    std::snprintf(buf + n, sizeof buf - n, ",\"floor_frac\":%.4g,\"bound_frac\":%.4g", f / measured_ms,
                  std::max(f, fc) / measured_ms);
  return buf;
}

void report_cuda(const Config& c, const char* impl, bool causal, int64_t L, const char* pass, bool with_floor,
                 const GpuMeasurement& m) {
  std::printf("{%s,\"iters\":%d,\"ms\":%.4f,\"min_ms\":%.4f,\"peak_mem_mb\":%.1f%s}\n",
              case_fields(c, impl, causal, L, pass).c_str(), m.iters, m.ms, m.min_ms, m.peak_mem_mb,
              with_floor ? floor_fields(c, causal, L, std::string(pass) != "forward", m.ms).c_str() : "");
  std::fflush(stdout);
}

// An error message as a JSON string body (quotes, backslashes and newlines blanked).
std::string json_safe(std::string msg) {
  for (char& ch : msg)
    if (ch == '"' || ch == '\\' || ch == '\n') ch = ' ';
  return msg;
}

// Times one case; an error (out of memory, a kernel fault) becomes a JSON line and the sweep
// goes on (a sticky fault will then fail the remaining cases the same way).
template <class F>
void run_case(const Config& c, const char* impl, bool causal, int64_t L, const char* pass, bool with_floor,
              Tensor& l2_flush, F&& fn) {
  try {
    report_cuda(c, impl, causal, L, pass, with_floor, measure_cuda(fn, c, l2_flush));
  } catch (const std::exception& e) {
    std::printf("{%s,\"error\":\"%s\"}\n", case_fields(c, impl, causal, L, pass).c_str(),
                json_safe(e.what()).c_str());
    std::fflush(stdout);
    try { cuda::empty_cache(); } catch (const std::exception&) {}
  }
}

double rel_err(const Tensor& got_cuda, const Tensor& ref_cpu) {
  const Tensor d = got_cuda.cpu() - ref_cpu;
  return std::sqrt(sum(d * d).item<double>() / sum(ref_cpu * ref_cpu).item<double>());
}

// The kernels have not been run on a GPU before: before timing them, check that forward and
// gradients match the CPU op on the same inputs (float32 differs by summation order only).
void check_against_cpu(const Config& c, int64_t L) {
  Generator gen(L + 1);
  const TensorOptions o{c.dtype};
  const Shape shape{c.batch, c.heads, L, c.dim};
  const Tensor q = randn(shape, o, &gen), k = randn(shape, o, &gen), v = randn(shape, o, &gen),
               gy = randn(shape, o, &gen);
  for (bool causal : {false, true}) {
    const FlowAttentionOptions opts = causal ? FlowAttentionOptions::nlp() : FlowAttentionOptions::core();
    auto run = [&](Device dev, Tensor grads[4]) {
      // detach() first: the copies must be leaves (for .grad()) and q, k, v stay untouched.
      Tensor qg = q.detach().to(dev).requires_grad_(), kg = k.detach().to(dev).requires_grad_(),
             vg = v.detach().to(dev).requires_grad_();
      grads[0] = flow_attention(qg, kg, vg, opts);
      grads[0].backward(gy.to(dev));
      grads[1] = qg.grad(), grads[2] = kg.grad(), grads[3] = vg.grad();
    };
    Tensor ref[4], got[4];
    run(Device::cpu(), ref);
    run(Device::cuda(0), got);
    double worst = 0;
    std::printf("{\"check\":\"cuda_vs_cpu\",\"causal\":%s,\"L\":%ld", causal ? "true" : "false",
                static_cast<long>(L));
    const char* names[4] = {"y", "dq", "dk", "dv"};
    for (int i = 0; i < 4; ++i) {
      const double e = rel_err(got[i], ref[i]);
      worst = std::max(worst, std::isnan(e) ? INFINITY : e);
      std::printf(",\"rel_err_%s\":%.2e", names[i], e);
    }
    // float32 lands near 1e-6; 1e-4 leaves room for long sums and still catches a wrong kernel.
    std::printf(",\"ok\":%s}\n", worst < (c.dtype == kFloat64 ? 1e-10 : 1e-4) ? "true" : "false");
    std::fflush(stdout);
  }
}

void run_cuda(const Config& c) {
  std::printf("{\"config\":\"bench_flow_attention\",\"device\":\"cuda\",\"warmup\":%d,\"reps\":%d,"
              "\"case_budget_s\":%g,\"hbm_gbps\":%.0f,\"tflops\":%.0f,\"l2_flush_mb\":%ld,\"timer\":\"host clock "
              "between cuda::synchronize\"}\n",
              c.warmup, c.reps, c.case_budget_s, c.hbm_gbps, c.tflops, static_cast<long>(kL2FlushBytes >> 20));
  std::fflush(stdout);
  if (c.check && !c.lengths.empty()) {
    try {
      check_against_cpu(c, c.lengths.front());
    } catch (const std::exception& e) {  // a fault here will likely fail the timings too; they say so
      std::printf("\n{\"check\":\"cuda_vs_cpu\",\"error\":\"%s\"}\n", json_safe(e.what()).c_str());
      std::fflush(stdout);
    }
  }
  Tensor l2_flush = empty({kL2FlushBytes / 4}, {kFloat32, Device::cuda(0)});
  for (int64_t L : c.lengths) {
    Generator gen(L);
    const TensorOptions o{c.dtype, Device::cuda(0)};
    const Shape shape{c.batch, c.heads, L, c.dim};
    Tensor q = randn(shape, o, &gen), k = randn(shape, o, &gen), v = randn(shape, o, &gen),
           gy = randn(shape, o, &gen);
    auto fwd_bwd = [&](auto&& op) {
      return [&, op] {
        Tensor qg = q.detach().requires_grad_(), kg = k.detach().requires_grad_(), vg = v.detach().requires_grad_();
        op(qg, kg, vg).backward(gy);
      };
    };
    for (bool causal : {false, true}) {
      const FlowAttentionOptions opts = causal ? FlowAttentionOptions::nlp() : FlowAttentionOptions::core();
      auto flow = [&opts](const Tensor& a, const Tensor& b, const Tensor& d) { return flow_attention(a, b, d, opts); };
      run_case(c, "conflux_flow", causal, L, "forward", true, l2_flush, [&] {
        NoGradGuard no_grad;
        flow(q, k, v);
      });
      run_case(c, "conflux_flow", causal, L, "forward_backward", true, l2_flush, fwd_bwd(flow));
      if (L > c.softmax_max_len) continue;
      auto softmax = [causal](const Tensor& a, const Tensor& b, const Tensor& d) {
        return scaled_dot_product_attention(a, b, d, causal);
      };
      run_case(c, "conflux_softmax", causal, L, "forward", false, l2_flush, [&] {
        NoGradGuard no_grad;
        softmax(q, k, v);
      });
      run_case(c, "conflux_softmax", causal, L, "forward_backward", false, l2_flush, fwd_bwd(softmax));
    }
  }
}

// --floor-only: the byte model of every Flow-Attention case, without running anything.
void print_floors(const Config& c) {
  for (int64_t L : c.lengths)
    for (bool causal : {false, true})
      for (const char* pass : {"forward", "forward_backward"})
        std::printf("{%s%s}\n", case_fields(c, "floor", causal, L, pass).c_str(),
                    floor_fields(c, causal, L, std::string(pass) != "forward", 0).c_str());
}

// ---- command line ------------------------------------------------------------------------------

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoll(item));
  return out;
}

// The GPU sweep: L = 1K..64K, B=1, H=8, D=64, float32. The case budget keeps the
// whole sweep near a minute on an H100 (the causal 64K cases take tenths of a second a call).
void apply_gpu_sweep(Config& c) {
  c.cuda = true;
  c.lengths = {1024, 2048, 4096, 8192, 16384, 32768, 65536};
  c.batch = 1, c.heads = 8, c.dim = 64;
  c.dtype = kFloat32;
  c.warmup = 3, c.reps = 10;
  c.case_budget_s = 3;
  c.softmax_max_len = 4096;
  c.check = true;
}

Config parse(int argc, char** argv) {
  Config c;
  // The preset first, wherever it stands, so that the other flags refine it.
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--gpu-sweep") apply_gpu_sweep(c);
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
    else if (a == "--device") {
      const std::string d = next();
      CFX_CHECK(d == "cpu" || d == "cuda", "bench_flow_attention: --device takes cpu or cuda, got ", d);
      c.cuda = d == "cuda";
    }
    else if (a == "--warmup") c.warmup = std::stoi(next());
    else if (a == "--hbm-gbps") c.hbm_gbps = std::stod(next());
    else if (a == "--tflops") c.tflops = std::stod(next());
    else if (a == "--case-budget-s") c.case_budget_s = std::stod(next());
    else if (a == "--check") c.check = true;
    else if (a == "--no-check") c.check = false;
    else if (a == "--floor-only") c.floor_only = true;
    else if (a == "--gpu-sweep") continue;  // applied above
    else CFX_FAIL("bench_flow_attention: unknown flag ", a, " (see the header of apps/bench_flow_attention.cpp)");
  }
  CFX_CHECK(c.reps >= 1 && c.hbm_gbps > 0 && c.tflops > 0,
            "bench_flow_attention: --reps, --hbm-gbps and --tflops must be positive");
  return c;
}

}  // namespace

int main(int argc, char** argv) try {
  const Config c = parse(argc, argv);
  if (c.floor_only) {
    print_floors(c);
    return 0;
  }
  if (!c.cuda) {
    run_cpu(c);
    return 0;
  }
  if (!cuda::is_available()) {
    std::fprintf(stderr, "error: --device cuda: %s\n", cuda::unavailable_reason().c_str());
    return 2;
  }
  run_cuda(c);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
