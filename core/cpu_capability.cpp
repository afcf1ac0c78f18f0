// Run-time choice of the CPU kernels' instruction set (core/cpu_capability.h).
#include "core/cpu_capability.h"

#include <cstdlib>
#include <fstream>
#include <string_view>

#include "core/error.h"

namespace cfx {
namespace {

constexpr const char* kVariable = "CONFLUX_CPU_CAPABILITY";

std::string supported_names() {
  std::string out;
  for (CpuCapability c : supported_cpu_capabilities()) out += std::string(out.empty() ? "" : " ") + cpu_capability_name(c);
  return out;
}

CpuCapability choose() {
  const char* forced = std::getenv(kVariable);
  if (cpu_native_build()) {
    CFX_CHECK(!forced || !*forced || std::string_view(forced) == "native", kVariable, "=", forced,
              ": this build compiled its CPU kernels once, with -march=native, so there is no other "
              "capability to choose (configure with -DCONFLUX_NATIVE=OFF for run-time dispatch)");
    return CpuCapability::Baseline;  // the one copy of the kernels sits in the baseline slot
  }
  if (!forced || !*forced) {
    CpuCapability best = CpuCapability::Baseline;
    for (CpuCapability c : supported_cpu_capabilities()) best = c;
    return best;
  }
  const std::optional<CpuCapability> c = parse_cpu_capability(forced);
  CFX_CHECK(c.has_value(), kVariable, ": expected baseline, avx2 or avx512, got \"", forced, "\"");
  CFX_CHECK(cpu_supports(*c), kVariable, "=", forced, ": this CPU cannot run the ", forced,
            " kernels; it supports: ", supported_names());
  return *c;
}

}  // namespace

const char* cpu_capability_name(CpuCapability capability) {
  switch (capability) {
    case CpuCapability::Baseline: return "baseline";
    case CpuCapability::Avx2: return "avx2";
    case CpuCapability::Avx512: return "avx512";
  }
  return "?";
}

std::optional<CpuCapability> parse_cpu_capability(std::string_view name) {
  for (int i = 0; i < kNumCpuCapabilities; ++i)
    if (name == cpu_capability_name(static_cast<CpuCapability>(i))) return static_cast<CpuCapability>(i);
  return std::nullopt;
}

bool cpu_supports(CpuCapability capability) {
  // libgcc's cpuid probe also checks (XGETBV) that the OS saves the AVX / AVX-512 registers.
#if defined(__clang__) && __clang_major__ < 16
  // Clang before 16 (Debian 12 has 14, used by fuzz/) knows no x86-64-vN level names: the
  // levels' distinguishing features that it can name, spelled out.
  const auto all = [](auto... has) { return (... && has); };
  switch (capability) {
    case CpuCapability::Baseline:
      return all(__builtin_cpu_supports("sse3"), __builtin_cpu_supports("ssse3"), __builtin_cpu_supports("sse4.1"),
                 __builtin_cpu_supports("sse4.2"), __builtin_cpu_supports("popcnt"));
    case CpuCapability::Avx2:
      return cpu_supports(CpuCapability::Baseline) &&
             all(__builtin_cpu_supports("avx"), __builtin_cpu_supports("avx2"), __builtin_cpu_supports("fma"),
                 __builtin_cpu_supports("bmi"), __builtin_cpu_supports("bmi2"));
    case CpuCapability::Avx512:
      return cpu_supports(CpuCapability::Avx2) &&
             all(__builtin_cpu_supports("avx512f"), __builtin_cpu_supports("avx512bw"),
                 __builtin_cpu_supports("avx512cd"), __builtin_cpu_supports("avx512dq"),
                 __builtin_cpu_supports("avx512vl"));
  }
#else
  switch (capability) {
    case CpuCapability::Baseline: return __builtin_cpu_supports("x86-64-v2");
    case CpuCapability::Avx2: return __builtin_cpu_supports("x86-64-v3");
    case CpuCapability::Avx512: return __builtin_cpu_supports("x86-64-v4");
  }
#endif
  return false;
}

std::vector<CpuCapability> supported_cpu_capabilities() {
  std::vector<CpuCapability> out;
  for (int i = 0; i < kNumCpuCapabilities; ++i)
    if (cpu_supports(static_cast<CpuCapability>(i))) out.push_back(static_cast<CpuCapability>(i));
  return out;
}

CpuCapability cpu_capability() {
  static const CpuCapability chosen = choose();  // a throw leaves it unset: the next call throws too
  return chosen;
}

std::string cpu_capability_info() {
  if (cpu_native_build()) return "native (built with -march=native)";
  const char* forced = std::getenv(kVariable);
  std::string how = forced && *forced ? std::string(kVariable) + "=" + forced : std::string(kVariable) + " unset";
  return std::string(cpu_capability_name(cpu_capability())) + " (supported: " + supported_names() + "; " + how + ")";
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
  }
  return "unknown";
}

bool cpu_native_build() {
#ifdef CONFLUX_CPU_NATIVE_BUILD
  return true;
#else
  return false;
#endif
}

}  // namespace cfx
