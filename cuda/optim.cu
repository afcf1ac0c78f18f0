// CUDA kernels for the fused optimiser updates (core/kernels.h: sgd_step_kernel,
// adam_step_kernel), called by nn/optim.cpp. CPU twins: ops/cpu/optim_cpu.cpp; the formulas
// here follow them line by line, in double for float32 and float64 parameters alike, so a
// float32 parameter lands on the CPU's value up to the last bit of the double math (nvcc may
// contract a*b+c into an FMA) before both round to float.
//
// Launch shape: 1-d grid-stride loop, kThreads (256) threads per block, blocks_for(n) blocks,
// one thread per element. Every operand is contiguous (the optimiser checks), so element j is
// at offset j in each of them. One launch per parameter per step replaces the ~15 pointwise
// launches and temporaries of the tensor-op path.
#include "cuda/loops.cuh"
#include "core/kernels.h"

namespace cfx::cuda {
namespace {

// b == nullptr: no momentum.
template <class T>
__global__ void sgd_step_elements(int64_t n, T* p, const T* g, T* b, SgdStep a) {
  for (int64_t j = grid_start(); j < n; j += grid_step()) {
    double d = static_cast<double>(g[j]) + a.weight_decay * static_cast<double>(p[j]);
    if (b) {
      const double bj = a.first ? d : a.momentum * static_cast<double>(b[j]) + (1 - a.dampening) * d;
      b[j] = static_cast<T>(bj);
      d = a.nesterov ? d + a.momentum * bj : bj;
    }
    p[j] = static_cast<T>(static_cast<double>(p[j]) - a.lr * d);
  }
}

template <class T>
__global__ void adam_step_elements(int64_t n, T* p, const T* g, T* m, T* v, AdamStep a) {
  for (int64_t j = grid_start(); j < n; j += grid_step()) {
    const double pj = static_cast<double>(p[j]) * a.shrink;
    const double gj = static_cast<double>(g[j]) + a.l2 * static_cast<double>(p[j]);
    const double mj = a.beta1 * static_cast<double>(m[j]) + (1 - a.beta1) * gj;
    const double vj = a.beta2 * static_cast<double>(v[j]) + (1 - a.beta2) * gj * gj;
    m[j] = static_cast<T>(mj);
    v[j] = static_cast<T>(vj);
    p[j] = static_cast<T>(pj - a.step_size * mj / (d_sqrt(vj) * a.inv_sqrt_bc2 + a.eps));
  }
}

void sgd_step_cuda(Tensor& p, const Tensor& g, Tensor& momentum_buffer, const SgdStep& args) {
  const int64_t n = p.numel();
  if (n == 0) return;
  OnDevice on(p.device());
  visit_floating(p.dtype(), "SGD", [&]<class T>() {
    T* b = momentum_buffer.defined() ? static_cast<T*>(momentum_buffer.raw_data()) : nullptr;
    sgd_step_elements<T><<<blocks_for(n), kThreads, 0, on.stream()>>>(
        n, static_cast<T*>(p.raw_data()), static_cast<const T*>(g.raw_data()), b, args);
    CFX_CUDA_CHECK_LAUNCH();
  });
}

void adam_step_cuda(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& args) {
  const int64_t n = p.numel();
  if (n == 0) return;
  OnDevice on(p.device());
  visit_floating(p.dtype(), "Adam", [&]<class T>() {
    adam_step_elements<T><<<blocks_for(n), kThreads, 0, on.stream()>>>(
        n, static_cast<T*>(p.raw_data()), static_cast<const T*>(g.raw_data()), static_cast<T*>(m.raw_data()),
        static_cast<T*>(v.raw_data()), args);
    CFX_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

CFX_REGISTER_KERNEL(sgd_step_kernel, DeviceType::CUDA, sgd_step_cuda);
CFX_REGISTER_KERNEL(adam_step_kernel, DeviceType::CUDA, adam_step_cuda);

}  // namespace cfx::cuda
