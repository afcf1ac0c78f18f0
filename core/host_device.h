// CFX_HOST_DEVICE marks a function that the CPU code and the CUDA kernels share (compiled by
// g++ for the host and by nvcc for both), so that both backends compute the same bits.
#pragma once

#if defined(__CUDACC__)
#define CFX_HOST_DEVICE __host__ __device__
#else
#define CFX_HOST_DEVICE
#endif
