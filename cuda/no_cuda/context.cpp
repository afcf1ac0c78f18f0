// cuda/context.h for a build without the CUDA backend (CONFLUX_CUDA=OFF or no nvcc): there
// are no devices, so code written for both (`if (cfx::cuda::is_available())`) runs unchanged.
#include "cuda/context.h"

#include "core/error.h"

namespace cfx::cuda {

namespace {
[[noreturn]] void no_backend(const char* what) {
  CFX_FAIL("cuda::", what, ": Conflux was built without the CUDA backend (configure with -DCONFLUX_CUDA=ON "
           "on a machine with nvcc)");
}
}  // namespace

int device_count() { return 0; }
bool is_available() { return false; }
std::string unavailable_reason() {
  return "Conflux was built without the CUDA backend (reconfigure with -DCONFLUX_CUDA=ON on a machine with nvcc)";
}
void synchronize(int) { no_backend("synchronize"); }
MemoryStats memory_stats(int) { no_backend("memory_stats"); }
void reset_peak_memory(int) { no_backend("reset_peak_memory"); }
void empty_cache(int) { no_backend("empty_cache"); }

}  // namespace cfx::cuda
