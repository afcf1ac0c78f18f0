// Shared internals of the CUDA emulator (not part of the emulated API).
#pragma once

#include <cstddef>
#include <mutex>

#include "cuda_runtime.h"

// A stream is only an id: all work runs synchronously, so a stream needs no queue.
struct CUstream_st {
  int device;
  unsigned int flags;
};

namespace emu::detail {

// Prints "conflux cuda emulator: <message>" and aborts: for what a GPU reports as a sticky
// fault (illegal address, deadlock) and the emulator can name precisely instead.
[[noreturn]] void fatal(const char* format, ...) __attribute__((format(printf, 1, 2)));

// The last-error slot of the calling host thread; record() stores an error and returns it.
cudaError_t record(cudaError_t error);

// Every entry point that touches emulator state holds this lock (one launch at a time).
std::recursive_mutex& api_mutex();

int device_count();
int current_device();
bool valid_stream(cudaStream_t stream);  // nullptr (legacy default) or created and not destroyed
int stream_device(cudaStream_t stream);  // the device of a valid stream

// ---- device memory (memory.cpp) ------------------------------------------------------------
cudaError_t device_malloc(void** ptr, size_t bytes, int device);
cudaError_t device_free(void* ptr);
bool in_arena(const void* p);  // anywhere in the device address range, allocated or not
struct Allocation {
  const char* base = nullptr;
  size_t size = 0;  // as requested from cudaMalloc (not rounded up)
  int device = -1;
};
// The live allocation that contains p (p == its end included); false when there is none.
bool find_allocation(const void* p, Allocation* out);
// True when [p, p + bytes) lies inside one live allocation.
bool device_range(const void* p, size_t bytes, Allocation* out = nullptr);

// Device memory is readable and writable only while one of these exists: kernels, copies
// and cuBLAS calls hold one; host code in between does not, so it faults on device memory.
class DeviceAccess {
 public:
  DeviceAccess();
  ~DeviceAccess();
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;
};

// Makes sure the emulator's SIGSEGV handler (which names faults on device memory and on
// kernel stacks, then hands over to the previous handler) is installed. Cheap to repeat:
// test frameworks replace signal handlers per test case.
void ensure_fault_handler();

// ---- scheduler (scheduler.cpp) ---------------------------------------------------------------
bool address_in_kernel_stack_guard(const void* p);

}  // namespace emu::detail
