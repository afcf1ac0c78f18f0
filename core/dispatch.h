// The one place a backend is picked: each kernel is a table with one slot per device type,
// and on the CPU one slot per instruction-set capability (core/cpu_capability.h).
//
//   // core/kernels.h, the kernel surface every backend implements:
//   CFX_DECLARE_KERNEL(unary_kernel, void(UnaryOp, const Tensor& x, Tensor& out));
//   // ops/cpu/pointwise_cpu.cpp, compiled once per CPU capability:
//   CFX_REGISTER_CPU_KERNEL(unary_kernel, unary_cpu);
//   // cuda/pointwise.cu:
//   CFX_REGISTER_KERNEL(unary_kernel, DeviceType::CUDA, unary_cuda);
//   // ops/elementwise.cpp:
//   unary_kernel(x.device(), op, x, out);
//
// A CPU call takes the copy of cpu_capability(), or the best lower one registered.
// The tables are constant-initialised, so registration from static initialisers in other
// translation units is safe. (Conflux is a shared library so no registration is dropped.)
#pragma once

#include <utility>
#include <vector>

#include "core/cpu_capability.h"
#include "core/detail/static_tls.h"
#include "core/device.h"
#include "core/error.h"
#include "core/profiler.h"

namespace cfx {

namespace detail {
// For tests (tests/op_table.h): while non-null, every kernel called on this thread appends its
// name here, so a test can see which kernels an op's forward and backward reach. Off, the cost
// of a call is this one thread-local read. Defined in core/kernels.cpp.
CFX_STATIC_TLS extern thread_local constinit std::vector<const char*>* kernel_call_log;
}  // namespace detail

template <class Signature>
class Kernel;

template <class R, class... Args>
class Kernel<R(Args...)> {
 public:
  using Fn = R (*)(Args...);
  constexpr explicit Kernel(const char* name) : name_(name) {}

  bool set(DeviceType type, Fn fn) {
    CFX_CHECK(type != DeviceType::CPU, name_, ": CPU kernels register per capability (CFX_REGISTER_CPU_KERNEL)");
    slots_[static_cast<int>(type)] = fn;
    return true;
  }
  bool set_cpu(CpuCapability capability, Fn fn) {
    cpu_slots_[static_cast<int>(capability)] = fn;
    return true;
  }
  bool has(Device device) const { return find(device) != nullptr; }
  // The CPU copy compiled for exactly this capability (null when that file was not built for it).
  Fn cpu_slot(CpuCapability capability) const { return cpu_slots_[static_cast<int>(capability)]; }

  template <class... CallArgs>
  R operator()(Device device, CallArgs&&... args) const {
    const profiler::Range range(name_, profiler::RangeKind::kernel);
    Fn fn = find(device);
    if (detail::kernel_call_log) [[unlikely]] detail::kernel_call_log->push_back(name_);
    CFX_CHECK(fn, name_, ": no kernel for device ", device,
              " (the backend is not compiled in, or this op is CPU-only)");
    return fn(std::forward<CallArgs>(args)...);
  }

 private:
  Fn find(Device device) const {
    if (device.type != DeviceType::CPU) return slots_[static_cast<int>(device.type)];
    for (int c = static_cast<int>(cpu_capability()); c >= 0; --c)
      if (cpu_slots_[c]) return cpu_slots_[c];
    return nullptr;
  }

  const char* name_;
  Fn slots_[kNumDeviceTypes] = {};  // the CPU entry stays empty: cpu_slots_ holds it
  Fn cpu_slots_[kNumCpuCapabilities] = {};
};

}  // namespace cfx

#define CFX_DECLARE_KERNEL(name, ...) extern ::cfx::Kernel<__VA_ARGS__> name
#define CFX_DEFINE_KERNEL(name, ...) ::cfx::Kernel<__VA_ARGS__> name(#name)
#define CFX_REGISTER_KERNEL(name, device_type, fn) \
  [[maybe_unused]] static const bool cfx_registered_##name##_##fn = name.set(device_type, fn)
// In ops/cpu/ only: CFX_CPU_CAPABILITY (baseline, avx2, avx512) is set by the build for
// each of the file's copies (CMakeLists.txt), CFX_CPU_CAPABILITY_ID to its CpuCapability.
#define CFX_REGISTER_CPU_KERNEL(name, fn)                             \
  [[maybe_unused]] static const bool cfx_registered_##name##_##fn = \
      name.set_cpu(static_cast<::cfx::CpuCapability>(CFX_CPU_CAPABILITY_ID), fn)
