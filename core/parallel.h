// A small fixed thread pool and parallel_for, the only source of CPU threads in Conflux
// (OpenBLAS keeps its own). Size: CONFLUX_NUM_THREADS, else the hardware concurrency.
#pragma once

#include <cstdint>
#include <functional>

namespace cfx {

// Number of threads parallel_for may use (>= 1).
int num_threads();
// Resizes the pool; n <= 0 restores the default. Not thread-safe against running work.
void set_num_threads(int n);

// Calls fn(chunk_begin, chunk_end) over disjoint chunks covering [begin, end). Chunks hold
// at least `grain` indices, so tiny loops run inline on the calling thread. Exceptions
// thrown by fn are rethrown on the calling thread. Nested calls run serially.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

}  // namespace cfx
