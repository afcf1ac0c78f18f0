// The doctest main shared by every test executable.
//
// It prints which CPU kernels run (core/cpu_capability.h). A suite run with
// CONFLUX_CPU_CAPABILITY forced to a capability this CPU lacks is skipped, with the reason,
// through exit code 77 (ctest's SKIP_RETURN_CODE); an unknown name fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>

#include "core/cpu_capability.h"
#include "core/error.h"

int main(int argc, char** argv) {
  if (const char* forced = std::getenv("CONFLUX_CPU_CAPABILITY"); forced && !cfx::cpu_native_build()) {
    const auto c = cfx::parse_cpu_capability(forced);
    if (c && !cfx::cpu_supports(*c)) {
      std::cout << "SKIPPED: CONFLUX_CPU_CAPABILITY=" << forced << " but this CPU cannot run those kernels\n";
      return 77;
    }
  }
  try {
    std::cout << "CPU kernels: " << cfx::cpu_capability_info() << "\n";
  } catch (const cfx::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return doctest::Context(argc, argv).run();
}
