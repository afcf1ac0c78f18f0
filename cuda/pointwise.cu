// CUDA kernels for memory and pointwise ops (core/kernels.h): fill, copy (device <-> device,
// host <-> device), arange, uniform/normal, unary and its backward, binary, where.
// The CPU twins are in ops/cpu/pointwise_cpu.cpp; semantics (dtypes, casts, NaN handling)
// follow them line by line.
//
// Launch shape of every kernel here: 1-d grid-stride loop, kThreads (256) threads per block,
// blocks_for(n) blocks, one thread per output element (random fills: per Philox counter,
// i.e. per pair of elements). Strided and broadcast operands go through Indexer<N>
// (cuda/loops.cuh); outputs may be any layout.
#include <numbers>
#include <type_traits>

#include "core/int_pow.h"
#include "core/philox.h"
#include "cuda/loops.cuh"
#include "core/kernels.h"

namespace cfx::cuda {
namespace {

// ---- fill ---------------------------------------------------------------------------------

template <class T>
__global__ void fill_elements(int64_t n, Indexer<1> ix, T* out, T value) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[1];
    ix.offsets(i, off);
    out[off[0]] = value;
  }
}

void fill_cuda(Tensor& out, double value) {
  const int64_t n = out.numel();
  if (n == 0) return;
  OnDevice on(out.device());
  const auto ix = make_indexer<1>(out.shape(), {out.strides()});
  visit_dtype(out.dtype(), [&]<class T>() {
    fill_elements<T><<<blocks_for(n), kThreads, 0, on.stream()>>>(n, ix, static_cast<T*>(out.raw_data()),
                                                                  static_cast<T>(value));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// ---- copy ---------------------------------------------------------------------------------

template <class D, class S>
__global__ void copy_elements(int64_t n, Indexer<2> ix, D* dst, const S* src) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[2];
    ix.offsets(i, off);
    dst[off[0]] = static_cast<D>(src[off[1]]);
  }
}

// dst[...] = src[...] with both on the same CUDA device: any layouts, src broadcast to dst,
// dtype converted by static_cast (as the CPU kernel).
void copy_on_device(Tensor& dst, const Tensor& src) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  OnDevice on(dst.device());
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() && src.numel() == n) {
    CFX_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), n * itemsize(dst.dtype()),
                                   cudaMemcpyDeviceToDevice, on.stream()));
    return;
  }
  const auto ix = make_indexer<2>(dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())});
  visit_dtype(dst.dtype(), [&]<class D>() {
    visit_dtype(src.dtype(), [&]<class S>() {
      copy_elements<D, S><<<blocks_for(n), kThreads, 0, on.stream()>>>(n, ix, static_cast<D*>(dst.raw_data()),
                                                                        static_cast<const S*>(src.raw_data()));
      CFX_CUDA_CHECK_LAUNCH();
    });
  });
}

// True when t's elements are exactly the dense block [raw_data, raw_data + numel) in
// row-major order and it is not broadcast against `shape`.
bool dense_as(const Tensor& t, const Shape& shape) { return t.shape() == shape && t.is_contiguous(); }

// One contiguous byte copy between host and device memory, finished before returning
// (the host side may be a temporary freed right after).
void memcpy_sync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, Device device) {
  if (bytes == 0) return;
  OnDevice on(device);
  CFX_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, on.stream()));
  CFX_CUDA_CHECK(cudaStreamSynchronize(on.stream()));
}

// Host -> device. src is on the CPU (any layout, dtype, broadcast), dst on a GPU.
// Stages: (1) src as a dense CPU block of dst's shape (the CPU kernel handles strides and
// broadcast), (2) one cudaMemcpy, (3) if dst is strided or of another dtype, a device copy.
void copy_host_to_device(Tensor& dst, const Tensor& src) {
  const Tensor host = dense_as(src, dst.shape()) ? src : [&] {
    Tensor h = make_empty(dst.shape(), src.dtype(), Device::cpu());
    copy_kernel(Device::cpu(), h, src);
    return h;
  }();
  if (dst.is_contiguous() && dst.dtype() == host.dtype()) {
    memcpy_sync(dst.raw_data(), host.raw_data(), host.numel() * itemsize(host.dtype()), cudaMemcpyHostToDevice,
                dst.device());
    return;
  }
  Tensor staged = make_empty(dst.shape(), host.dtype(), dst.device());
  memcpy_sync(staged.raw_data(), host.raw_data(), host.numel() * itemsize(host.dtype()), cudaMemcpyHostToDevice,
              dst.device());
  copy_on_device(dst, staged);
}

// Device -> host: the mirror image (dense device block, one cudaMemcpy, CPU copy if needed).
void copy_device_to_host(Tensor& dst, const Tensor& src) {
  Tensor dev = src;
  if (!dense_as(src, dst.shape())) {
    dev = make_empty(dst.shape(), src.dtype(), src.device());
    copy_on_device(dev, src);
  }
  if (dst.is_contiguous() && dst.dtype() == dev.dtype()) {
    memcpy_sync(dst.raw_data(), dev.raw_data(), dev.numel() * itemsize(dev.dtype()), cudaMemcpyDeviceToHost,
                src.device());
    return;
  }
  Tensor host = make_empty(dst.shape(), dev.dtype(), Device::cpu());
  memcpy_sync(host.raw_data(), dev.raw_data(), dev.numel() * itemsize(dev.dtype()), cudaMemcpyDeviceToHost,
              src.device());
  copy_kernel(Device::cpu(), dst, host);
}

// Between two GPUs: a dense block of src on its device, a peer copy into a dense block on
// dst's device, then a device copy into dst's layout and dtype. Synchronous (simple, rare).
void copy_device_to_device(Tensor& dst, const Tensor& src) {
  Tensor from = src;
  if (!dense_as(src, dst.shape())) {
    from = make_empty(dst.shape(), src.dtype(), src.device());
    copy_on_device(from, src);
  }
  CFX_CUDA_CHECK(cudaStreamSynchronize(context(src.device().index).stream()));  // `from` is ready
  Tensor to = (dst.is_contiguous() && dst.dtype() == from.dtype())
                  ? dst
                  : make_empty(dst.shape(), from.dtype(), dst.device());
  {
    OnDevice on(dst.device());
    CFX_CUDA_CHECK(cudaMemcpyPeerAsync(to.raw_data(), dst.device().index, from.raw_data(), src.device().index,
                                       from.numel() * itemsize(from.dtype()), on.stream()));
    CFX_CUDA_CHECK(cudaStreamSynchronize(on.stream()));  // `from` may be freed after return
  }
  if (to.unsafe_impl() != dst.unsafe_impl()) copy_on_device(dst, to);
}

// The CUDA entry of copy_kernel: called when at least one side is a GPU (ops/copy.cpp).
void copy_cuda(Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  const Device d = dst.device(), s = src.device();
  if (s.is_cpu()) return copy_host_to_device(dst, src);
  if (d.is_cpu()) return copy_device_to_host(dst, src);
  if (d == s) return copy_on_device(dst, src);
  copy_device_to_device(dst, src);
}

// ---- arange -------------------------------------------------------------------------------

// o = fma(i, step, start) in double, one rounding, as ops/cpu/pointwise_cpu.cpp computes it on
// every CPU capability: the same bits on every backend.
template <class T>
__global__ void arange_elements(int64_t n, int64_t stride, T* out, double start, double step) {
  for (int64_t i = grid_start(); i < n; i += grid_step())
    out[i * stride] = static_cast<T>(fma(static_cast<double>(i), step, start));
}

void arange_cuda(Tensor& out, double start, double step) {
  const int64_t n = out.numel();
  if (n == 0) return;
  OnDevice on(out.device());
  const int64_t stride = out.dim() == 1 ? out.stride(0) : 1;
  visit_dtype(out.dtype(), [&]<class T>() {
    arange_elements<T><<<blocks_for(n), kThreads, 0, on.stream()>>>(n, stride, static_cast<T*>(out.raw_data()),
                                                                    start, step);
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// ---- random fills -------------------------------------------------------------------------
// The Philox4x32-10 of core/philox.h (shared with the host), used as the CPU random_fill
// uses it: elements 2c and 2c+1 come from counter (first + c), so a CPU and a GPU tensor
// drawn from equal generator states hold the same values.

enum class Dist { Uniform, Normal };

template <class T, Dist kDist>
__global__ void random_elements(int64_t n, Indexer<1> ix, T* out, uint64_t seed, uint64_t first, double p0,
                                double p1) {
  const int64_t pairs = (n + 1) / 2;
  for (int64_t c = grid_start(); c < pairs; c += grid_step()) {
    const PhiloxBlock r = philox4x32_10(seed, first + static_cast<uint64_t>(c));
    double a, b;
    if constexpr (kDist == Dist::Uniform) {  // p0 = lo, p1 = hi
      a = fma(p1 - p0, uniform_from_bits(r.r[0], r.r[1]), p0);
      b = fma(p1 - p0, uniform_from_bits(r.r[2], r.r[3]), p0);
      if constexpr (std::is_same_v<T, float>) {  // rounding to float can land on hi: keep [lo, hi)
        if (static_cast<float>(a) >= static_cast<float>(p1)) a = p0;
        if (static_cast<float>(b) >= static_cast<float>(p1)) b = p0;
      }
    } else {  // p0 = mean, p1 = std; Box-Muller, 1 - u avoids log(0)
      const double u1 = 1.0 - uniform_from_bits(r.r[0], r.r[1]);
      const double u2 = uniform_from_bits(r.r[2], r.r[3]);
      const double radius = sqrt(-2.0 * log(u1));
      const double angle = 2.0 * std::numbers::pi * u2;
      a = fma(p1 * radius, cos(angle), p0);
      b = fma(p1 * radius, sin(angle), p0);
    }
    int64_t off[1];
    ix.offsets(2 * c, off);
    out[off[0]] = static_cast<T>(a);
    if (2 * c + 1 < n) {
      ix.offsets(2 * c + 1, off);
      out[off[0]] = static_cast<T>(b);
    }
  }
}

template <Dist kDist>
void random_cuda(Tensor& out, double p0, double p1, Generator& gen) {
  const int64_t n = out.numel();
  // Reserve exactly as the CPU kernel does (even for n == 0), so the generator advances alike.
  const uint64_t first = gen.reserve(static_cast<uint64_t>((n + 1) / 2));
  const uint64_t seed = gen.seed();
  visit_floating(out.dtype(), "random fill", [&]<class T>() {
    if (n == 0) return;
    OnDevice on(out.device());
    const auto ix = make_indexer<1>(out.shape(), {out.strides()});
    random_elements<T, kDist><<<blocks_for((n + 1) / 2), kThreads, 0, on.stream()>>>(
        n, ix, static_cast<T*>(out.raw_data()), seed, first, p0, p1);
    CFX_CUDA_CHECK_LAUNCH();
  });
}

void uniform_cuda(Tensor& out, double lo, double hi, Generator& gen) { random_cuda<Dist::Uniform>(out, lo, hi, gen); }
void normal_cuda(Tensor& out, double mean, double std, Generator& gen) {
  random_cuda<Dist::Normal>(out, mean, std, gen);
}

// ---- unary --------------------------------------------------------------------------------

template <class T>
__device__ T gelu_tanh(T x) {
  const T c = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
  return T(0.5) * x * (T(1) + d_tanh(c * (x + T(0.044715) * x * x * x)));
}

template <class T>
__device__ T apply_unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return d_exp(x);
    case UnaryOp::Log: return d_log(x);
    case UnaryOp::Sqrt: return d_sqrt(x);
    case UnaryOp::Abs: return d_abs(x);
    case UnaryOp::Sigmoid: return d_sigmoid(x);
    case UnaryOp::Tanh: return d_tanh(x);
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::GeluErf: return T(0.5) * x * (T(1) + d_erf(x * static_cast<T>(0.7071067811865476)));
    case UnaryOp::GeluTanh: return gelu_tanh(x);
    case UnaryOp::Sign: return static_cast<T>((x > T(0)) - (x < T(0)));
  }
  return x;
}

// d op / dx at x (y = op(x) given, reused where cheaper): ops/cpu/pointwise_cpu.cpp.
template <class T>
__device__ T unary_derivative(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::Neg: return T(-1);
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return T(1) / x;
    case UnaryOp::Sqrt: return T(0.5) / y;
    case UnaryOp::Abs: return static_cast<T>((x > T(0)) - (x < T(0)));  // 0 at 0, like torch
    case UnaryOp::Sigmoid: return y * (T(1) - y);
    case UnaryOp::Tanh: return T(1) - y * y;
    case UnaryOp::Relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::GeluErf: {
      const T cdf = T(0.5) * (T(1) + d_erf(x * static_cast<T>(0.7071067811865476)));
      const T pdf = d_exp(T(-0.5) * x * x) * static_cast<T>(0.3989422804014327);
      return cdf + x * pdf;
    }
    case UnaryOp::GeluTanh: {
      const T c = static_cast<T>(0.7978845608028654);
      const T inner = c * (x + T(0.044715) * x * x * x);
      const T t = d_tanh(inner);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3 * 0.044715) * x * x);
    }
    case UnaryOp::Sign: return T(0);
  }
  return T(0);
}

template <class T>
__global__ void unary_elements(int64_t n, Indexer<2> ix, UnaryOp op, T* out, const T* x) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[2];
    ix.offsets(i, off);
    out[off[0]] = apply_unary(op, x[off[1]]);
  }
}

void unary_cuda(UnaryOp op, const Tensor& x, Tensor& out) {
  visit_floating(x.dtype(), "unary op", [&]<class T>() {
    const int64_t n = out.numel();
    if (n == 0) return;
    OnDevice on(out.device());
    const auto ix = make_indexer<2>(out.shape(), {out.strides(), broadcast_strides(x, out.shape())});
    unary_elements<T><<<blocks_for(n), kThreads, 0, on.stream()>>>(n, ix, op, static_cast<T*>(out.raw_data()),
                                                                   static_cast<const T*>(x.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

template <class T>
__global__ void unary_backward_elements(int64_t n, Indexer<4> ix, UnaryOp op, T* out, const T* x, const T* y,
                                        const T* g) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[4];
    ix.offsets(i, off);
    out[off[0]] = g[off[3]] * unary_derivative(op, x[off[1]], y[off[2]]);
  }
}

void unary_backward_cuda(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad, Tensor& out) {
  visit_floating(out.dtype(), "unary backward", [&]<class T>() {
    const int64_t n = out.numel();
    if (n == 0) return;
    OnDevice on(out.device());
    const Shape& shape = out.shape();
    const auto ix = make_indexer<4>(shape, {out.strides(), broadcast_strides(x, shape), broadcast_strides(y, shape),
                                            broadcast_strides(grad, shape)});
    unary_backward_elements<T><<<blocks_for(n), kThreads, 0, on.stream()>>>(
        n, ix, op, static_cast<T*>(out.raw_data()), static_cast<const T*>(x.raw_data()),
        static_cast<const T*>(y.raw_data()), static_cast<const T*>(grad.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// ---- binary -------------------------------------------------------------------------------

bool is_comparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::Eq: case BinaryOp::Ne: case BinaryOp::Lt: case BinaryOp::Le: case BinaryOp::Gt:
    case BinaryOp::Ge: case BinaryOp::LogicalAnd: return true;
    default: return false;
  }
}

// The arithmetic ops, result in T (bool follows C++ promotion then conversion, as the CPU
// lambdas `-> T { return x + y; }` do; integer division by zero is not trapped on the GPU).
template <class T>
__device__ T arith(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::Add: return static_cast<T>(x + y);
    case BinaryOp::Sub: return static_cast<T>(x - y);
    case BinaryOp::Mul:
      if constexpr (std::is_same_v<T, bool>) return x && y;
      else return static_cast<T>(x * y);
    case BinaryOp::Div: return static_cast<T>(x / y);
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<T>) {
        if (y == T(2)) return x * x;  // the common case, exact
        return d_pow(x, y);
      } else {
        return int_pow(x, y);  // exact, the CPU's formula (core/int_pow.h)
      }
    case BinaryOp::Maximum: return x > y ? x : y;
    case BinaryOp::Minimum: return x < y ? x : y;
    default: return T(0);  // comparisons take compare()
  }
}

template <class T>
__device__ bool compare(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::Eq: return x == y;
    case BinaryOp::Ne: return x != y;
    case BinaryOp::Lt: return x < y;
    case BinaryOp::Le: return x <= y;
    case BinaryOp::Gt: return x > y;
    case BinaryOp::Ge: return x >= y;
    case BinaryOp::LogicalAnd: return x && y;
    default: return false;
  }
}

// O = T for arithmetic ops; O = bool for comparisons (cmp) and for bool inputs, whose
// arithmetic results are bool too (the CPU's `-> T` lambdas with T = bool).
template <class T, class O>
__global__ void binary_elements(int64_t n, Indexer<3> ix, BinaryOp op, bool cmp, O* out, const T* a, const T* b) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[3];
    ix.offsets(i, off);
    const T x = a[off[1]], y = b[off[2]];
    if constexpr (std::is_same_v<O, bool>) out[off[0]] = cmp ? compare(op, x, y) : static_cast<bool>(arith(op, x, y));
    else out[off[0]] = arith(op, x, y);
  }
}

void binary_cuda(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  OnDevice on(out.device());
  const Shape& shape = out.shape();
  const auto ix = make_indexer<3>(shape, {out.strides(), broadcast_strides(a, shape), broadcast_strides(b, shape)});
  const bool cmp = is_comparison(op);
  visit_dtype(a.dtype(), [&]<class T>() {
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    if (cmp || std::is_same_v<T, bool>)
      binary_elements<T, bool><<<blocks_for(n), kThreads, 0, on.stream()>>>(
          n, ix, op, cmp, static_cast<bool*>(out.raw_data()), pa, pb);
    else
      binary_elements<T, T><<<blocks_for(n), kThreads, 0, on.stream()>>>(n, ix, op, cmp,
                                                                         static_cast<T*>(out.raw_data()), pa, pb);
    CFX_CUDA_CHECK_LAUNCH();
  });
}

// ---- where --------------------------------------------------------------------------------

template <class T>
__global__ void where_elements(int64_t n, Indexer<4> ix, T* out, const bool* cond, const T* a, const T* b) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[4];
    ix.offsets(i, off);
    out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]];
  }
}

void where_cuda(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  OnDevice on(out.device());
  const Shape& shape = out.shape();
  const auto ix = make_indexer<4>(shape, {out.strides(), broadcast_strides(cond, shape), broadcast_strides(a, shape),
                                          broadcast_strides(b, shape)});
  visit_dtype(out.dtype(), [&]<class T>() {
    where_elements<T><<<blocks_for(n), kThreads, 0, on.stream()>>>(
        n, ix, static_cast<T*>(out.raw_data()), static_cast<const bool*>(cond.raw_data()),
        static_cast<const T*>(a.raw_data()), static_cast<const T*>(b.raw_data()));
    CFX_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

CFX_REGISTER_KERNEL(fill_kernel, DeviceType::CUDA, fill_cuda);
CFX_REGISTER_KERNEL(copy_kernel, DeviceType::CUDA, copy_cuda);
CFX_REGISTER_KERNEL(arange_kernel, DeviceType::CUDA, arange_cuda);
CFX_REGISTER_KERNEL(uniform_kernel, DeviceType::CUDA, uniform_cuda);
CFX_REGISTER_KERNEL(normal_kernel, DeviceType::CUDA, normal_cuda);
CFX_REGISTER_KERNEL(unary_kernel, DeviceType::CUDA, unary_cuda);
CFX_REGISTER_KERNEL(unary_backward_kernel, DeviceType::CUDA, unary_backward_cuda);
CFX_REGISTER_KERNEL(binary_kernel, DeviceType::CUDA, binary_cuda);
CFX_REGISTER_KERNEL(where_kernel, DeviceType::CUDA, where_cuda);

}  // namespace cfx::cuda
