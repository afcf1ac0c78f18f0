// CPU emulation of the CUDA runtime API, the part the CUDA backend in cuda/ uses
// (tests/cuda_emu/README.md). Put first on the include path of the emulated build, so that
// cuda/runtime.h's #include <cuda_runtime.h> finds it instead of the real one.
//
// One to CONFLUX_CUDA_EMU_DEVICES (default 1) devices. Device memory is a separate arena the
// host cannot read or write except through cudaMemcpy*; kernels and copies run synchronously
// on the calling thread. Functions have C++ linkage: nothing here can be mistaken for the
// real libcudart.
#pragma once

#include <cstddef>

#include "cuda_emu/device.h"
#include "cuda_emu/launch.h"
#include "cuda_emu/types.h"

const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);
cudaError_t cudaGetLastError();  // and reset it to cudaSuccess
cudaError_t cudaPeekAtLastError();

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

cudaError_t cudaMalloc(void** ptr, size_t bytes);
template <class T>
cudaError_t cudaMalloc(T** ptr, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFree(void* ptr);

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t stream = nullptr);
