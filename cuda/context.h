// The public face of the CUDA backend: is a GPU there, wait for it, how much memory it holds.
//
// Plain C++ (no CUDA header), so tests and apps compiled without nvcc can include it. In a
// build without the backend (CONFLUX_CUDA=OFF) it is answered by cuda/no_cuda/context.cpp:
// device_count() is 0, so `if (cfx::cuda::is_available())` code builds and runs either way.
//
// Not here: streams, cuBLAS handles and the CFX_CUDA_CHECK macros (cuda/runtime.h, for the
// backend's own files), kernels (cuda/*.cu), the caching allocator (cuda/allocator.cpp).
#pragma once

#include <string>

#include "core/allocator.h"  // MemoryStats

namespace cfx::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no device. Never throws.
int device_count();
bool is_available();
// Why device_count() is 0, in words ("" when a device is there): no backend in this build,
// the driver's answer (a driver older than the runtime, say), or CUDA_VISIBLE_DEVICES.
std::string unavailable_reason();

// Blocks until all work queued on `device` has finished (its Conflux stream included).
// Asynchronous kernel errors (an illegal address, say) surface here as a cfx::Error.
void synchronize(int device = 0);

// Byte counts of the caching allocator of one device (see core/allocator.h).
MemoryStats memory_stats(int device = 0);
void reset_peak_memory(int device = 0);
// Returns the cached (free) blocks of `device` to the driver with cudaFree.
void empty_cache(int device = 0);

}  // namespace cfx::cuda
