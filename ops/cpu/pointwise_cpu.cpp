// CPU kernels for memory and pointwise ops (core/kernels.h): fill, copy, arange, random
// fills, unary/binary math and where. All go through StridedLoop (ops/cpu/loops.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "core/int_pow.h"
#include "core/philox.h"
#include "ops/cpu/loops.h"
#include "ops/cpu/vec_math.h"
#include "core/kernels.h"

namespace cfx::cpu::CFX_CPU_CAPABILITY {  // one copy per CPU capability (core/cpu_capability.h)
namespace {

template <class T>
T* as(char* p) { return reinterpret_cast<T*>(p); }

void fill_cpu(Tensor& out, double value) {
  visit_dtype(out.dtype(), [&]<class T>() {
    const T v = static_cast<T>(value);
    StridedLoop<1>(out.shape(), {out.strides()})
        .run({static_cast<char*>(out.raw_data())}, {sizeof(T)}, [&](auto p, auto s, int64_t n) {
          T* o = as<T>(p[0]);
          if (s[0] == 1) for (int64_t i = 0; i < n; ++i) o[i] = v;
          else for (int64_t i = 0; i < n; ++i) o[i * s[0]] = v;
        });
  });
}

void copy_cpu(Tensor& dst, const Tensor& src) {
  visit_dtype(dst.dtype(), [&]<class D>() {
    visit_dtype(src.dtype(), [&]<class S>() {
      StridedLoop<2>(dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())})
          .run({static_cast<char*>(dst.raw_data()), static_cast<char*>(src.raw_data())}, {sizeof(D), sizeof(S)},
               [&](auto p, auto s, int64_t n) {
                 D* o = as<D>(p[0]);
                 const S* x = as<S>(p[1]);
                 if (s[0] == 1 && s[1] == 1) for (int64_t i = 0; i < n; ++i) o[i] = static_cast<D>(x[i]);
                 else for (int64_t i = 0; i < n; ++i) o[i * s[0]] = static_cast<D>(x[i * s[1]]);
               });
    });
  });
}

// o[i] = fma(i, step, start) in double, one rounding: the formula of every backend and CPU
// capability (cuda/pointwise.cu too), so that no FMA contraction can make them differ.
void arange_cpu(Tensor& out, double start, double step) {
  visit_dtype(out.dtype(), [&]<class T>() {
    T* o = out.data_ptr<T>();
    for (int64_t i = 0; i < out.numel(); ++i) o[i] = static_cast<T>(std::fma(static_cast<double>(i), step, start));
  });
}

// Element i of a random fill uses philox counter (first + i / 2) and half of its 128 bits,
// so the values do not depend on the thread count. The counters go through philox4x32_10
// (core/philox.h, inlined) a block at a time into arrays: straight-line 32x32->64 multiplies
// that vectorise, where one out-of-line call per counter did not (the draws were 5-8% of an
// LRA training step). Same counters, same rounds, same bits as before.
template <class Sample>
void random_fill(Tensor& out, Generator& gen, Sample sample) {
  const int64_t n = out.numel();
  const int64_t pairs = (n + 1) / 2;
  const uint64_t first = gen.reserve(static_cast<uint64_t>(pairs));
  const uint64_t seed = gen.seed();
  visit_floating(out.dtype(), "random fill", [&]<class T>() {
    T* o = out.data_ptr<T>();
    parallel_for(0, pairs, 4096, [&](int64_t lo, int64_t hi) {
      constexpr int64_t kBlock = 16;
      uint32_t r0[kBlock], r1[kBlock], r2[kBlock], r3[kBlock];
      for (int64_t c0 = lo; c0 < hi; c0 += kBlock) {
        for (int64_t j = 0; j < kBlock; ++j) {  // a whole block even at the end: counters are free
          const PhiloxBlock b = philox4x32_10(seed, first + static_cast<uint64_t>(c0 + j));
          r0[j] = b.r[0], r1[j] = b.r[1], r2[j] = b.r[2], r3[j] = b.r[3];
        }
        const int64_t m = std::min(kBlock, hi - c0);
        for (int64_t j = 0; j < m; ++j) {
          const int64_t c = c0 + j;
          const auto [a, b] = sample(std::array<uint32_t, 4>{r0[j], r1[j], r2[j], r3[j]});
          o[2 * c] = static_cast<T>(a);
          if (2 * c + 1 < n) o[2 * c + 1] = static_cast<T>(b);
        }
      }
    });
  });
}

void uniform_cpu(Tensor& out, double lo, double hi, Generator& gen) {
  random_fill(out, gen, [&](const std::array<uint32_t, 4>& r) {
    double a = lo + (hi - lo) * uniform_from_bits(r[0], r[1]);
    double b = lo + (hi - lo) * uniform_from_bits(r[2], r[3]);
    // Rounding to float can land on `hi`; keep the interval half-open.
    if (out.dtype() == kFloat32) {
      if (static_cast<float>(a) >= static_cast<float>(hi)) a = lo;
      if (static_cast<float>(b) >= static_cast<float>(hi)) b = lo;
    }
    return std::pair{a, b};
  });
}

void normal_cpu(Tensor& out, double mean, double std, Generator& gen) {
  random_fill(out, gen, [&](const std::array<uint32_t, 4>& r) {
    // Box-Muller: two independent normals from two uniforms; 1 - u avoids log(0).
    const double u1 = 1.0 - uniform_from_bits(r[0], r[1]);
    const double u2 = uniform_from_bits(r[2], r[3]);
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    return std::pair{mean + std * radius * std::cos(angle), mean + std * radius * std::sin(angle)};
  });
}

// ---- unary ------------------------------------------------------------------------------

// tanh is vec_math's (ops/cpu/vec_math.h): straight-line code that vectorises.
template <class T>
T gelu_tanh(T x) {
  const T c = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
  return T(0.5) * x * (T(1) + vec_math::tanh(c * (x + T(0.044715) * x * x * x)));
}

template <class T>
T gelu_tanh_derivative(T x) {
  const T c = static_cast<T>(0.7978845608028654);
  const T inner = c * (x + T(0.044715) * x * x * x);
  const T t = vec_math::tanh(inner);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3 * 0.044715) * x * x);
}

template <class T>
T apply_unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Abs: return std::abs(x);
    case UnaryOp::Sigmoid: return T(1) / (T(1) + std::exp(-x));
    case UnaryOp::Tanh: return vec_math::tanh(x);
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::GeluErf: return T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476)));
    case UnaryOp::GeluTanh: return gelu_tanh(x);
    case UnaryOp::Sign: return static_cast<T>((x > T(0)) - (x < T(0)));
  }
  return x;
}

// d op / dx at x (y = op(x) given, reused where cheaper).
template <class T>
T unary_derivative(UnaryOp op, T x, T y) {
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
      const T cdf = T(0.5) * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476)));
      const T pdf = std::exp(T(-0.5) * x * x) * static_cast<T>(0.3989422804014327);
      return cdf + x * pdf;
    }
    case UnaryOp::GeluTanh: return gelu_tanh_derivative(x);
    case UnaryOp::Sign: return T(0);
  }
  return T(0);
}

void unary_cpu(UnaryOp op, const Tensor& x, Tensor& out) {
  visit_floating(x.dtype(), "unary op", [&]<class T>() {
    StridedLoop<2>(out.shape(), {out.strides(), broadcast_strides(x, out.shape())})
        .run({static_cast<char*>(out.raw_data()), static_cast<char*>(x.raw_data())}, {sizeof(T), sizeof(T)},
             [&](auto p, auto s, int64_t n) {
               T* o = as<T>(p[0]);
               const T* a = as<T>(p[1]);
               // One switch per run, so each inner loop is a tight, vectorisable body.
               auto body = [&](auto f) {
                 if (s[0] == 1 && s[1] == 1) for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
                 else for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(a[i * s[1]]);
               };
               switch (op) {
                 case UnaryOp::Neg: body([](T v) { return -v; }); break;
                 case UnaryOp::Relu: body([](T v) { return v > T(0) ? v : T(0); }); break;
                 case UnaryOp::Exp: body([](T v) { return std::exp(v); }); break;
                 case UnaryOp::Sigmoid: body([](T v) { return T(1) / (T(1) + std::exp(-v)); }); break;
                 case UnaryOp::Tanh: body([](T v) { return vec_math::tanh(v); }); break;
                 case UnaryOp::GeluTanh: body([](T v) { return gelu_tanh(v); }); break;
                 default: body([op](T v) { return apply_unary(op, v); });
               }
             });
  });
}

void unary_backward_cpu(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad, Tensor& out) {
  visit_floating(out.dtype(), "unary backward", [&]<class T>() {
    const Shape& shape = out.shape();
    StridedLoop<4>(shape, {out.strides(), broadcast_strides(x, shape), broadcast_strides(y, shape),
                           broadcast_strides(grad, shape)})
        .run({static_cast<char*>(out.raw_data()), static_cast<char*>(x.raw_data()),
              static_cast<char*>(y.raw_data()), static_cast<char*>(grad.raw_data())},
             {sizeof(T), sizeof(T), sizeof(T), sizeof(T)}, [&](auto p, auto s, int64_t n) {
               T* o = as<T>(p[0]);
               const T *xv = as<T>(p[1]), *yv = as<T>(p[2]), *g = as<T>(p[3]);
               // As in unary_cpu: one switch per run. For the common ops the loop body is
               // unary_derivative with a constant op, which folds to that op's formula and
               // vectorises; the others keep the switch inside the loop.
               auto body = [&](auto f) {
                 if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1)
                   for (int64_t i = 0; i < n; ++i) o[i] = g[i] * f(xv[i], yv[i]);
                 else
                   for (int64_t i = 0; i < n; ++i) o[i * s[0]] = g[i * s[3]] * f(xv[i * s[1]], yv[i * s[2]]);
               };
               auto fixed = [&]<UnaryOp kOp>() { body([](T x, T y) { return unary_derivative(kOp, x, y); }); };
               switch (op) {
                 case UnaryOp::Exp: fixed.template operator()<UnaryOp::Exp>(); break;
                 case UnaryOp::Sigmoid: fixed.template operator()<UnaryOp::Sigmoid>(); break;
                 case UnaryOp::Tanh: fixed.template operator()<UnaryOp::Tanh>(); break;
                 case UnaryOp::GeluTanh: fixed.template operator()<UnaryOp::GeluTanh>(); break;
                 default: body([op](T x, T y) { return unary_derivative(op, x, y); });
               }
             });
  });
}

// ---- binary -----------------------------------------------------------------------------

template <class T, class F>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  using O = std::invoke_result_t<F, T, T>;
  const Shape& shape = out.shape();
  StridedLoop<3>(shape, {out.strides(), broadcast_strides(a, shape), broadcast_strides(b, shape)})
      .run({static_cast<char*>(out.raw_data()), static_cast<char*>(a.raw_data()), static_cast<char*>(b.raw_data())},
           {sizeof(O), sizeof(T), sizeof(T)}, [&](auto p, auto s, int64_t n) {
             O* o = as<O>(p[0]);
             const T *x = as<T>(p[1]), *y = as<T>(p[2]);
             if (s[0] == 1 && s[1] == 1 && s[2] == 1) for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
             else if (s[0] == 1 && s[1] == 1 && s[2] == 0) for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[0]);
             else if (s[0] == 1 && s[1] == 0 && s[2] == 1) for (int64_t i = 0; i < n; ++i) o[i] = f(x[0], y[i]);
             else for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]], y[i * s[2]]);
           });
}

void binary_cpu(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    switch (op) {
      case BinaryOp::Add: return binary_loop<T>(a, b, out, [](T x, T y) -> T { return x + y; });
      case BinaryOp::Sub: return binary_loop<T>(a, b, out, [](T x, T y) -> T { return x - y; });
      case BinaryOp::Mul:
        if constexpr (std::is_same_v<T, bool>) return binary_loop<T>(a, b, out, [](T x, T y) -> T { return x && y; });
        else return binary_loop<T>(a, b, out, [](T x, T y) -> T { return x * y; });
      case BinaryOp::Div: return binary_loop<T>(a, b, out, [](T x, T y) -> T { return x / y; });
      case BinaryOp::Pow:
        return binary_loop<T>(a, b, out, [](T x, T y) -> T {
          if constexpr (std::is_floating_point_v<T>) {
            if (y == T(2)) return x * x;  // the common case, exact and fast
            return std::pow(x, y);
          } else {
            return int_pow(x, y);
          }
        });
      case BinaryOp::Maximum: return binary_loop<T>(a, b, out, [](T x, T y) -> T { return x > y ? x : y; });
      case BinaryOp::Minimum: return binary_loop<T>(a, b, out, [](T x, T y) -> T { return x < y ? x : y; });
      case BinaryOp::Eq: return binary_loop<T>(a, b, out, [](T x, T y) -> bool { return x == y; });
      case BinaryOp::Ne: return binary_loop<T>(a, b, out, [](T x, T y) -> bool { return x != y; });
      case BinaryOp::Lt: return binary_loop<T>(a, b, out, [](T x, T y) -> bool { return x < y; });
      case BinaryOp::Le: return binary_loop<T>(a, b, out, [](T x, T y) -> bool { return x <= y; });
      case BinaryOp::Gt: return binary_loop<T>(a, b, out, [](T x, T y) -> bool { return x > y; });
      case BinaryOp::Ge: return binary_loop<T>(a, b, out, [](T x, T y) -> bool { return x >= y; });
      case BinaryOp::LogicalAnd: return binary_loop<T>(a, b, out, [](T x, T y) -> bool { return x && y; });
    }
  });
}

void where_cpu(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_dtype(out.dtype(), [&]<class T>() {
    const Shape& shape = out.shape();
    StridedLoop<4>(shape, {out.strides(), broadcast_strides(cond, shape), broadcast_strides(a, shape),
                           broadcast_strides(b, shape)})
        .run({static_cast<char*>(out.raw_data()), static_cast<char*>(cond.raw_data()),
              static_cast<char*>(a.raw_data()), static_cast<char*>(b.raw_data())},
             {sizeof(T), 1, sizeof(T), sizeof(T)}, [&](auto p, auto s, int64_t n) {
               T* o = as<T>(p[0]);
               const bool* c = as<bool>(p[1]);
               const T *x = as<T>(p[2]), *y = as<T>(p[3]);
               for (int64_t i = 0; i < n; ++i) o[i * s[0]] = c[i * s[1]] ? x[i * s[2]] : y[i * s[3]];
             });
  });
}

}  // namespace

CFX_REGISTER_CPU_KERNEL(fill_kernel, fill_cpu);
CFX_REGISTER_CPU_KERNEL(copy_kernel, copy_cpu);
CFX_REGISTER_CPU_KERNEL(arange_kernel, arange_cpu);
CFX_REGISTER_CPU_KERNEL(uniform_kernel, uniform_cpu);
CFX_REGISTER_CPU_KERNEL(normal_kernel, normal_cpu);
CFX_REGISTER_CPU_KERNEL(unary_kernel, unary_cpu);
CFX_REGISTER_CPU_KERNEL(unary_backward_kernel, unary_backward_cpu);
CFX_REGISTER_CPU_KERNEL(binary_kernel, binary_cpu);
CFX_REGISTER_CPU_KERNEL(where_kernel, where_cpu);

}  // namespace cfx::cpu::CFX_CPU_CAPABILITY
