// Run-time CPU capability dispatch (core/cpu_capability.h, core/dispatch.h) and the
// allocation poisoning every suite runs under (core/allocator.cpp).
#include <cmath>
#include <cstdlib>
#include <set>
#include <string_view>

#include "core/allocator.h"
#include "core/cpu_capability.h"
#include "core/kernels.h"
#include "testing.h"

using namespace cfx;

TEST_CASE("cpu capability: baseline always supported, the one in use is supported and as forced") {
  const auto supported = supported_cpu_capabilities();
  REQUIRE_FALSE(supported.empty());
  CHECK(supported.front() == CpuCapability::Baseline);  // the library itself needs x86-64-v2
  for (size_t i = 1; i < supported.size(); ++i) CHECK(supported[i - 1] < supported[i]);
  CHECK(cpu_supports(cpu_capability()));
  MESSAGE("CPU kernels: ", cpu_capability_info());
  if (cpu_native_build()) return;
  const char* forced = std::getenv("CONFLUX_CPU_CAPABILITY");
  if (forced && *forced)
    CHECK(std::string_view(cpu_capability_name(cpu_capability())) == forced);
  else
    CHECK(cpu_capability() == supported.back());  // the best this CPU runs
}

TEST_CASE("cpu capability: every CPU kernel is compiled once per capability, each copy distinct") {
  if (cpu_native_build()) return;
  auto check_kernel = [](const auto& kernel, const char* name) {
    INFO(name);
    std::set<const void*> copies;
    for (int c = 0; c < kNumCpuCapabilities; ++c) {
      const auto fn = kernel.cpu_slot(static_cast<CpuCapability>(c));
      CHECK(static_cast<bool>(fn));
      copies.insert(reinterpret_cast<const void*>(fn));
    }
    CHECK(copies.size() == static_cast<size_t>(kNumCpuCapabilities));
    CHECK(kernel.has(Device::cpu()));
  };
  check_kernel(flow_attention_kernel, "flow_attention_kernel");
  check_kernel(flow_attention_backward_kernel, "flow_attention_backward_kernel");
  check_kernel(unary_kernel, "unary_kernel");
  check_kernel(binary_kernel, "binary_kernel");
  check_kernel(reduce_kernel, "reduce_kernel");
  check_kernel(softmax_kernel, "softmax_kernel");
  check_kernel(layer_norm_kernel, "layer_norm_kernel");
  check_kernel(adam_step_kernel, "adam_step_kernel");
  check_kernel(bmm_kernel, "bmm_kernel");
}

TEST_CASE("CONFLUX_POISON_ALLOCATIONS: fresh CPU blocks read as NaN (ctest sets it)") {
  const char* poison = std::getenv("CONFLUX_POISON_ALLOCATIONS");
  if (!poison || std::string_view(poison) == "0") return;
  for (int round = 0; round < 2; ++round) {  // the second round gets the first's cached block back
    Tensor t = empty({1000}, {kFloat32});
    for (float x : to_vector<float>(t)) REQUIRE(std::isnan(x));
    t.fill_(1.0);
  }
  CpuBuffer<double> scratch(100);  // kernels' scratch: uninitialised, so poisoned too
  for (double x : scratch) REQUIRE(std::isnan(x));
}
