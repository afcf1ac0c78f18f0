// Which instruction set the CPU kernels run with, chosen at run time (like ATen's
// CPU_CAPABILITY dispatch).
//
// The library itself is compiled for a portable baseline (x86-64-v2), so one binary runs on
// any x86-64 machine of the last ~15 years. The CPU kernels (every file of ops/cpu/) are
// compiled once more per capability, each copy in its own namespace
// (cfx::cpu::baseline, cfx::cpu::avx2, cfx::cpu::avx512) and registered into the same kernel
// table (core/dispatch.h); a call on a CPU tensor takes the best copy this CPU can run.
//
//   capability  compiled with        needs (checked with cpuid at run time)
//   baseline    -march=x86-64-v2     SSE4.2, POPCNT (x86-64-v2)
//   avx2        -march=x86-64-v3     AVX2, FMA, BMI1/2, F16C, MOVBE (x86-64-v3)
//   avx512      -march=x86-64-v4     AVX-512 F, BW, CD, DQ, VL (x86-64-v4)
//
// CONFLUX_CPU_CAPABILITY=baseline|avx2|avx512 forces one (like ATEN_CPU_CAPABILITY), e.g.
// to test a path or to compare them; asking for one this CPU cannot run is an error, never
// a silent fallback. A build configured with -DCONFLUX_NATIVE=ON compiles everything once
// for the build machine (-march=native) and reports the capability "native".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cfx {

enum class CpuCapability : int { Baseline = 0, Avx2 = 1, Avx512 = 2 };
inline constexpr int kNumCpuCapabilities = 3;

// "baseline", "avx2", "avx512", and back (nullopt for any other name).
const char* cpu_capability_name(CpuCapability capability);
std::optional<CpuCapability> parse_cpu_capability(std::string_view name);

// Whether this CPU (and OS, for the AVX register state) can run that capability's kernels.
bool cpu_supports(CpuCapability capability);

// Every capability this CPU can run, lowest first (baseline is always first).
std::vector<CpuCapability> supported_cpu_capabilities();

// The capability the CPU kernels use in this process: CONFLUX_CPU_CAPABILITY when set, else
// the best this CPU supports. Decided at the first call, then fixed. Throws cfx::Error when
// the variable names an unknown capability or one this CPU lacks.
CpuCapability cpu_capability();

// One line for logs and benchmark headers, e.g. "avx512 (supported: baseline avx2 avx512;
// CONFLUX_CPU_CAPABILITY unset)" or "native (built with -march=native)".
std::string cpu_capability_info();

// The CPU's model name from /proc/cpuinfo ("AMD EPYC", "Intel(R) Xeon(R) ..."), or "unknown":
// benchmark results name the machine they ran on.
std::string cpu_model_name();

// True when the library was configured with CONFLUX_NATIVE=ON: one -march=native copy of
// the kernels and no run-time choice.
bool cpu_native_build();

}  // namespace cfx
