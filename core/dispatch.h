// The one place a backend is picked: each kernel is a table with one slot per device type.
//
//   // ops/kernels.h, the kernel surface every backend implements:
//   CFX_DECLARE_KERNEL(unary_kernel, void(UnaryOp, const Tensor& x, Tensor& out));
//   // ops/cpu/pointwise_cpu.cpp:
//   CFX_REGISTER_KERNEL(unary_kernel, DeviceType::CPU, unary_cpu);
//   // ops/elementwise.cpp:
//   unary_kernel(x.device(), op, x, out);
//
// The tables are constant-initialised, so registration from static initialisers in other
// translation units is safe. (Conflux is a shared library so no registration is dropped.)
#pragma once

#include <utility>

#include "core/device.h"
#include "core/error.h"

namespace cfx {

template <class Signature>
class Kernel;

template <class R, class... Args>
class Kernel<R(Args...)> {
 public:
  using Fn = R (*)(Args...);
  constexpr explicit Kernel(const char* name) : name_(name) {}

  bool set(DeviceType type, Fn fn) {
    slots_[static_cast<int>(type)] = fn;
    return true;
  }
  bool has(Device device) const { return slots_[static_cast<int>(device.type)] != nullptr; }

  template <class... CallArgs>
  R operator()(Device device, CallArgs&&... args) const {
    Fn fn = slots_[static_cast<int>(device.type)];
    CFX_CHECK(fn, name_, ": no kernel for device ", device,
              " (the backend is not compiled in, or this op is CPU-only)");
    return fn(std::forward<CallArgs>(args)...);
  }

 private:
  const char* name_;
  Fn slots_[kNumDeviceTypes] = {};
};

}  // namespace cfx

#define CFX_DECLARE_KERNEL(name, ...) extern ::cfx::Kernel<__VA_ARGS__> name
#define CFX_DEFINE_KERNEL(name, ...) ::cfx::Kernel<__VA_ARGS__> name(#name)
#define CFX_REGISTER_KERNEL(name, device_type, fn) \
  [[maybe_unused]] static const bool cfx_registered_##name##_##fn = name.set(device_type, fn)
