// Helpers of the CUDA test room: the no-GPU guard every test case starts with, tensors made
// on the CPU and copied to the GPU (so both devices see identical inputs), and an llm.c-style
// closeness check (|got - ref| <= atol + rtol * |ref|, atol optionally scaled by max |ref|).
//
// This room builds in every configuration: without the CUDA backend (CONFLUX_WITH_CUDA
// undefined, e.g. the sanitizer build) and on machines without a GPU, every GPU test prints
// "SKIPPED: ..." and returns, so ctest passes and says why. Built with CONFLUX_CUDA_EMU=ON,
// the "GPU" is the CPU emulator of tests/cuda_emu (CONFLUX_CUDA_EMULATED), and the tests say so.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "cuda/context.h"
#include "testing.h"

namespace cfx::testing {

#if CONFLUX_WITH_CUDA
inline constexpr bool kBuiltWithCuda = true;  // real or emulated backend
#else
inline constexpr bool kBuiltWithCuda = false;
#endif

// True, after a visible SKIPPED message, when no CUDA device can run this test.
inline bool no_cuda_device() {
  if (cuda::device_count() == 0) {
    MESSAGE("SKIPPED: no CUDA device: ", cuda::unavailable_reason());
    return true;
  }
#if CONFLUX_CUDA_EMULATED  // CONFLUX_CUDA_EMU=ON: say once that no GPU was involved
  static bool told = false;
  if (!told) {
    told = true;
    MESSAGE("NOTE: the CUDA tests run on the CPU emulator of tests/cuda_emu, not on a GPU");
  }
#endif
  return false;
}

// First line of every GPU test case.
#define CFX_REQUIRE_CUDA_OR_SKIP()                 \
  do {                                             \
    if (::cfx::testing::no_cuda_device()) return;  \
  } while (0)

inline const Device kGpu = Device::cuda(0);

inline Tensor gpu(const Tensor& t) { return t.detach().to(kGpu); }

// Uniform [lo, hi) of dtype dt from a fixed seed, made on the CPU.
inline Tensor uniform(const Shape& shape, DType dt, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator gen(seed);
  return (rand(shape, {dt}, &gen) * (hi - lo) + lo).detach();
}

// The same leaf on both devices (requires_grad on both), plus the same view of each.
struct Pair {
  Tensor cpu_leaf, gpu_leaf;  // dense leaves, gradients land here
  Tensor cpu, gpu;            // view(leaf)
};
inline Pair pair_of(const Tensor& base, const std::function<Tensor(const Tensor&)>& view = {}, bool grad = true) {
  Pair p;
  p.cpu_leaf = base.detach().clone();
  p.gpu_leaf = gpu(base);
  if (grad) p.cpu_leaf.requires_grad_(), p.gpu_leaf.requires_grad_();
  p.cpu = view ? view(p.cpu_leaf) : p.cpu_leaf;
  p.gpu = view ? view(p.gpu_leaf) : p.gpu_leaf;
  return p;
}

// The transpose of the last two dims (a strided view).
inline Tensor transposed(const Tensor& t) { return t.transpose(-1, -2); }

struct Tol {
  double atol = 0, rtol = 0;
  bool scale_atol = false;  // atol *= max(1, max |ref|): for results with cancellation near 0
};
// Typical tolerances of a GPU-vs-CPU comparison: reassociated sums, device libm (~1-2 ulp).
inline Tol tol_of(DType dt, double factor = 1) {
  return dt == kFloat64 ? Tol{1e-12 * factor, 1e-11 * factor} : Tol{2e-6 * factor, 2e-5 * factor};
}
inline Tol exact() { return Tol{0, 0}; }

// Every element of got (any device) within tol of ref (CPU); on failure, names the worst one.
inline void check_close(const Tensor& got, const Tensor& ref, Tol tol, const std::string& what) {
  REQUIRE_MESSAGE(got.defined(), what, ": result undefined");
  REQUIRE_MESSAGE(ref.defined(), what, ": reference undefined");
  REQUIRE_MESSAGE(got.shape() == ref.shape(), what, ": shapes differ: ", shape_str(got.shape()), " vs ",
                  shape_str(ref.shape()));
  CHECK_MESSAGE(got.dtype() == ref.dtype(), what, ": dtypes differ: ", dtype_name(got.dtype()), " vs ",
                dtype_name(ref.dtype()));
  const auto x = to_vector<double>(got), y = to_vector<double>(ref);
  double max_ref = 0;
  for (double v : y)
    if (std::isfinite(v)) max_ref = std::max(max_ref, std::abs(v));
  const double atol = tol.scale_atol ? tol.atol * std::max(1.0, max_ref) : tol.atol;
  size_t bad = 0, worst = 0;
  double worst_ratio = -1;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i]))) continue;
    const double err = std::abs(x[i] - y[i]), allowed = atol + tol.rtol * std::abs(y[i]);
    if (err <= allowed) continue;
    ++bad;
    const double ratio = std::isfinite(err) && allowed > 0 ? err / allowed : INFINITY;
    if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
  }
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", x.size(), " elements out of tolerance (atol ", atol, ", rtol ",
                tol.rtol, "); worst at flat index ", worst, ": got ", (bad ? x[worst] : 0.0), ", expected ",
                (bad ? y[worst] : 0.0));
}

// Gradient of a leaf, or a message-bearing failure when it is missing.
inline Tensor grad_of(const Tensor& leaf, const std::string& what) {
  REQUIRE_MESSAGE(leaf.grad().defined(), what, ": no gradient");
  return leaf.grad();
}

}  // namespace cfx::testing
