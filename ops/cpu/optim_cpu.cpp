// CPU kernels for the fused optimiser updates (core/kernels.h: sgd_step_kernel,
// adam_step_kernel), called by nn/optim.cpp. One pass over the raw data, split over threads
// in chunks of kGrain elements; every element computes in double and rounds once into its
// own storage type. CUDA twin: cuda/optim.cu (same formulas, line by line).
#include <cmath>

#include "core/parallel.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per thread chunk

void sgd_step_cpu(Tensor& p, const Tensor& g, Tensor& momentum_buffer, const SgdStep& a) {
  const double lr = a.lr, wd = a.weight_decay, mu = a.momentum, tau = a.dampening;
  const bool first = a.first, nesterov = a.nesterov;
  visit_floating(p.dtype(), "SGD", [&]<class T>() {
    T* pd = p.data_ptr<T>();
    const T* gd = g.data_ptr<T>();
    T* bd = momentum_buffer.defined() ? momentum_buffer.data_ptr<T>() : nullptr;
    parallel_for(0, p.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t j = lo; j < hi; ++j) {
        double d = static_cast<double>(gd[j]) + wd * static_cast<double>(pd[j]);
        if (bd) {
          const double b = first ? d : mu * static_cast<double>(bd[j]) + (1 - tau) * d;
          bd[j] = static_cast<T>(b);
          d = nesterov ? d + mu * b : b;
        }
        pd[j] = static_cast<T>(static_cast<double>(pd[j]) - lr * d);
      }
    });
  });
}

void adam_step_cpu(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& a) {
  const double step_size = a.step_size, inv_sqrt_bc2 = a.inv_sqrt_bc2, b1 = a.beta1, b2 = a.beta2, eps = a.eps,
               l2 = a.l2, shrink = a.shrink;
  visit_floating(p.dtype(), "Adam", [&]<class T>() {
    T* pd = p.data_ptr<T>();
    const T* gd = g.data_ptr<T>();
    T* md = m.data_ptr<T>();
    T* vd = v.data_ptr<T>();
    parallel_for(0, p.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t j = lo; j < hi; ++j) {
        const double pj = static_cast<double>(pd[j]) * shrink;
        const double gj = static_cast<double>(gd[j]) + l2 * static_cast<double>(pd[j]);
        const double mj = b1 * static_cast<double>(md[j]) + (1 - b1) * gj;
        const double vj = b2 * static_cast<double>(vd[j]) + (1 - b2) * gj * gj;
        md[j] = static_cast<T>(mj);
        vd[j] = static_cast<T>(vj);
        pd[j] = static_cast<T>(pj - step_size * mj / (std::sqrt(vj) * inv_sqrt_bc2 + eps));
      }
    });
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(sgd_step_kernel, sgd_step_cpu);
CFX_REGISTER_CPU_KERNEL(adam_step_kernel, adam_step_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
