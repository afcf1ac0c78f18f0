// The device-side vocabulary of CUDA C++ for a host compiler: function qualifiers, the
// built-in index variables, barriers, warp shuffles, atomics, bit casts and the min/max
// overloads of the CUDA math headers. The emulator (tests/cuda_emu/src/scheduler.cpp) runs
// every thread of a block as a fiber on the launching OS thread, blocks one after another;
// barriers and shuffles are where a thread may be suspended.
#pragma once

#include <math.h>  // expf, logf, signbit, ...: device math is the host libm

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda_emu/types.h"

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One block runs at a time and its threads share one OS thread, so a function-local static
// is exactly one block's shared memory. translate.cmake follows each such declaration with
// CFX_EMU_SHARED_ENTERED(name): the first thread of a block to get there fills the variable
// with 0xFF bytes, so a read of shared memory no thread of this block wrote shows (NaN, -1)
// instead of finding a previous block's values.
#define __shared__ static
#define CFX_EMU_SHARED_ENTERED(var)                                             \
  do {                                                                          \
    static uint64_t cfx_emu_block_seen = 0;                                     \
    ::emu::detail::shared_entered(cfx_emu_block_seen, &(var), sizeof(var));     \
  } while (0)

namespace emu::detail {
// The running thread's coordinates, set by the scheduler before it resumes a thread.
extern uint3 thread_idx, block_idx;
extern dim3 block_dim, grid_dim;

extern uint64_t block_serial;     // counts blocks run, from 1: tells one block from the next

inline void shared_entered(uint64_t& seen, void* var, size_t bytes) {
  if (seen == block_serial) return;
  seen = block_serial;
  std::memset(var, 0xFF, bytes);
}

void sync_block();                // __syncthreads
void sync_warp(unsigned mask);    // __syncwarp: the live lanes of `mask` meet
int lane_id();                    // lane of the running thread in its warp
// Warp exchange: every lane of `mask` publishes `bits` and gets the bits of lane `src`.
uint64_t shuffle(unsigned mask, uint64_t bits, int src);

template <class T>
T exchange(unsigned mask, T v, int src) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "__shfl_*_sync: up to 8-byte values");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = shuffle(mask, bits, src);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

// Threads switch only inside barriers, so a plain read-modify-write is atomic here.
template <class T, class F>
T read_modify_write(T* p, F f) {
  const T old = *p;
  *p = f(old);
  return old;
}
}  // namespace emu::detail

#define threadIdx (static_cast<const uint3&>(::emu::detail::thread_idx))
#define blockIdx (static_cast<const uint3&>(::emu::detail::block_idx))
#define blockDim (static_cast<const dim3&>(::emu::detail::block_dim))
#define gridDim (static_cast<const dim3&>(::emu::detail::grid_dim))
inline constexpr int warpSize = 32;

// ---- barriers and warp shuffles ------------------------------------------------------------
inline void __syncthreads() { ::emu::detail::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::emu::detail::sync_warp(mask); }

// Source lanes as the PTX shfl modes compute them; a source outside the caller's segment of
// `width` lanes gives the caller its own value.
template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  const int lane = ::emu::detail::lane_id();
  return ::emu::detail::exchange(mask, var, (lane & ~(width - 1)) + (src_lane & (width - 1)));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  const int lane = ::emu::detail::lane_id(), src = lane ^ lane_mask;
  return ::emu::detail::exchange(mask, var, src > (lane | (width - 1)) ? lane : src);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  const int lane = ::emu::detail::lane_id(), src = lane + static_cast<int>(delta);
  return ::emu::detail::exchange(mask, var, src > (lane | (width - 1)) ? lane : src);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  const int lane = ::emu::detail::lane_id(), src = lane - static_cast<int>(delta);
  return ::emu::detail::exchange(mask, var, src < (lane & ~(width - 1)) ? lane : src);
}

// ---- atomics -------------------------------------------------------------------------------
#define CFX_EMU_ATOMIC(name, T, expr) \
  inline T name(T* p, T v) { return ::emu::detail::read_modify_write(p, [&](T old) { return (expr); }); }
CFX_EMU_ATOMIC(atomicAdd, int, old + v)
CFX_EMU_ATOMIC(atomicAdd, unsigned int, old + v)
CFX_EMU_ATOMIC(atomicAdd, unsigned long long, old + v)
CFX_EMU_ATOMIC(atomicAdd, float, old + v)
CFX_EMU_ATOMIC(atomicAdd, double, old + v)
CFX_EMU_ATOMIC(atomicMax, int, old < v ? v : old)
CFX_EMU_ATOMIC(atomicMax, unsigned int, old < v ? v : old)
CFX_EMU_ATOMIC(atomicMax, unsigned long long, old < v ? v : old)
CFX_EMU_ATOMIC(atomicMin, int, v < old ? v : old)
CFX_EMU_ATOMIC(atomicMin, unsigned int, v < old ? v : old)
CFX_EMU_ATOMIC(atomicMin, unsigned long long, v < old ? v : old)
CFX_EMU_ATOMIC(atomicExch, int, v)
CFX_EMU_ATOMIC(atomicExch, unsigned int, v)
CFX_EMU_ATOMIC(atomicExch, unsigned long long, v)
CFX_EMU_ATOMIC(atomicExch, float, v)
#undef CFX_EMU_ATOMIC
template <class T>
T atomicCAS(T* p, T compare, T v) {
  static_assert(std::is_same_v<T, int> || std::is_same_v<T, unsigned int> || std::is_same_v<T, unsigned long long>,
                "atomicCAS: int, unsigned int or unsigned long long");
  return ::emu::detail::read_modify_write(p, [&](T old) { return old == compare ? v : old; });
}

// ---- bit casts -----------------------------------------------------------------------------
inline int __float_as_int(float x) { return std::bit_cast<int>(x); }
inline unsigned int __float_as_uint(float x) { return std::bit_cast<unsigned int>(x); }
inline float __int_as_float(int x) { return std::bit_cast<float>(x); }
inline long long __double_as_longlong(double x) { return std::bit_cast<long long>(x); }
inline double __longlong_as_double(long long x) { return std::bit_cast<double>(x); }

// ---- min / max of the CUDA math headers (global, one overload per type) ---------------------
#define CFX_EMU_MINMAX(T)                                  \
  inline T min(T a, T b) { return b < a ? b : a; }         \
  inline T max(T a, T b) { return a < b ? b : a; }
CFX_EMU_MINMAX(int)
CFX_EMU_MINMAX(unsigned int)
CFX_EMU_MINMAX(long)
CFX_EMU_MINMAX(unsigned long)
CFX_EMU_MINMAX(long long)
CFX_EMU_MINMAX(unsigned long long)
#undef CFX_EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
