// Pointwise ops. Each: check inputs -> allocate out -> kernel through dispatch -> record
// the backward, written right below. Broadcast gradients are summed back with sum_to.
#include "ops/elementwise.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "ops/creation.h"
#include "core/kernels.h"
#include "ops/reduce.h"
#include "core/profiler.h"

namespace cfx {

using autograd::grads;
using autograd::NeedsGrad;

namespace {

void check_same_kind(const char* op, const Tensor& a, const Tensor& b) {
  CFX_CHECK(a.dtype() == b.dtype(), op, ": expected both tensors to have the same dtype, got ", a.dtype(),
            " and ", b.dtype(), " (convert one with .to(dtype))");
  CFX_CHECK(a.device() == b.device(), op, ": expected both tensors on the same device, got ", a.device(),
            " and ", b.device());
}

Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a, const Tensor& b, DType out_dtype) {
  check_same_kind(name, a, b);
  Tensor out = detail::make_empty(broadcast_shapes(a.shape(), b.shape(), name), out_dtype, a.device());
  binary_kernel(a.device(), op, a, b, out);
  return out;
}

Tensor binary_math(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  return binary_forward(op, name, a, b, a.dtype());
}

Tensor unary_forward(UnaryOp op, const char* name, const Tensor& x) {
  CFX_CHECK(is_floating(x.dtype()) || op == UnaryOp::Neg || op == UnaryOp::Abs, name,
            ": expected a float tensor, got ", x.dtype());
  Tensor out = detail::make_empty(x.shape(), x.dtype(), x.device());
  unary_kernel(x.device(), op, x, out);
  return out;
}

// y = op(x), gradient g * op'(x) computed by one fused kernel from x and y.
Tensor unary_with_grad(UnaryOp op, const char* name, const Tensor& x) {
  CFX_PROFILE_OP(name);
  Tensor out = unary_forward(op, name, x);
  autograd::record(name, out, {x}, [op, x = x.detach(), y = out.detach()](const Tensor& g, const NeedsGrad&) {
    Tensor gx = detail::make_empty(x.shape(), x.dtype(), x.device());
    unary_backward_kernel(x.device(), op, x, y, g, gx);
    return grads{gx};
  });
  return out;
}

Tensor scalar_like(double v, const Tensor& t) { return scalar_tensor(v, {t.dtype(), t.device()}); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP("add");
  Tensor out = binary_math(BinaryOp::Add, "add", a, b);
  autograd::record("add", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const NeedsGrad& needs) {
    return grads{needs[0] ? sum_to(g, sa) : Tensor(), needs[1] ? sum_to(g, sb) : Tensor()};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP("sub");
  Tensor out = binary_math(BinaryOp::Sub, "sub", a, b);
  autograd::record("sub", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const NeedsGrad& needs) {
    return grads{needs[0] ? sum_to(g, sa) : Tensor(), needs[1] ? sum_to(neg(g), sb) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP("mul");
  Tensor out = binary_math(BinaryOp::Mul, "mul", a, b);
  // d(ab)/da = b, d(ab)/db = a: keep each input only if the *other* one needs a gradient.
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  autograd::record("mul", out, {a, b},
                   [sa = a.shape(), sb = b.shape(), a = need_b ? a.detach() : Tensor(),
                    b = need_a ? b.detach() : Tensor()](const Tensor& g, const NeedsGrad& needs) {
                     return grads{needs[0] ? sum_to(mul(g, b), sa) : Tensor(),
                                  needs[1] ? sum_to(mul(g, a), sb) : Tensor()};
                   });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP("div");
  Tensor out = binary_math(BinaryOp::Div, "div", a, b);
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b.
  autograd::record("div", out, {a, b},
                   [sa = a.shape(), sb = b.shape(), b = b.detach(), out = out.detach()](const Tensor& g,
                                                                                         const NeedsGrad& needs) {
                     Tensor g_over_b = div(g, b);
                     return grads{needs[0] ? sum_to(g_over_b, sa) : Tensor(),
                                  needs[1] ? sum_to(neg(mul(g_over_b, out)), sb) : Tensor()};
                   });
  return out;
}

Tensor neg(const Tensor& x) {
  CFX_PROFILE_OP("neg");
  Tensor out = unary_forward(UnaryOp::Neg, "neg", x);
  autograd::record("neg", out, {x}, [](const Tensor& g, const NeedsGrad&) { return grads{neg(g)}; });
  return out;
}

Tensor pow(const Tensor& x, double exponent) {
  CFX_PROFILE_OP("pow");
  Tensor out = binary_math(BinaryOp::Pow, "pow", x, scalar_like(exponent, x));
  autograd::record("pow", out, {x}, [exponent, x = x.detach()](const Tensor& g, const NeedsGrad&) {
    if (exponent == 0.0) return grads{zeros_like(x)};
    // d x^p / dx = p x^(p-1)
    return grads{mul(g, mul(pow(x, exponent - 1.0), scalar_like(exponent, x)))};
  });
  return out;
}

namespace {
// max/min: the gradient goes to the selected input; at ties each gets half (torch).
Tensor extremum(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP(name);
  Tensor out = binary_math(op, name, a, b);
  autograd::record(name, out, {a, b},
                   [a = a.detach(), b = b.detach(), out = out.detach()](const Tensor& g, const NeedsGrad& needs) {
                     const Tensor half = scalar_like(0.5, g), zero = scalar_like(0.0, g);
                     Tensor tie = eq(a, b);
                     Tensor ga = where(tie, mul(g, half), where(eq(a, out), g, zero));
                     Tensor gb = where(tie, mul(g, half), where(eq(b, out), g, zero));
                     return grads{needs[0] ? sum_to(ga, a.shape()) : Tensor(),
                                  needs[1] ? sum_to(gb, b.shape()) : Tensor()};
                   });
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Maximum, "maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Minimum, "minimum", a, b); }

Tensor exp(const Tensor& x) { return unary_with_grad(UnaryOp::Exp, "exp", x); }
Tensor log(const Tensor& x) { return unary_with_grad(UnaryOp::Log, "log", x); }
Tensor sqrt(const Tensor& x) { return unary_with_grad(UnaryOp::Sqrt, "sqrt", x); }
Tensor rsqrt(const Tensor& x) { return pow(x, -0.5); }
Tensor abs(const Tensor& x) { return unary_with_grad(UnaryOp::Abs, "abs", x); }
Tensor sigmoid(const Tensor& x) { return unary_with_grad(UnaryOp::Sigmoid, "sigmoid", x); }
Tensor tanh(const Tensor& x) { return unary_with_grad(UnaryOp::Tanh, "tanh", x); }
Tensor relu(const Tensor& x) { return unary_with_grad(UnaryOp::Relu, "relu", x); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  CFX_CHECK(approximate == "none" || approximate == "tanh", "gelu: approximate must be \"none\" or \"tanh\", got \"",
            approximate, "\"");
  return approximate == "none" ? unary_with_grad(UnaryOp::GeluErf, "gelu", x)
                               : unary_with_grad(UnaryOp::GeluTanh, "gelu", x);
}

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Eq, "eq", a, b, kBool); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Ne, "ne", a, b, kBool); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Lt, "lt", a, b, kBool); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Le, "le", a, b, kBool); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Gt, "gt", a, b, kBool); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Ge, "ge", a, b, kBool); }
Tensor logical_and(const Tensor& a, const Tensor& b) {
  CFX_CHECK(a.dtype() == kBool && b.dtype() == kBool, "logical_and: expected bool tensors, got ", a.dtype(),
            " and ", b.dtype());
  return binary_forward(BinaryOp::LogicalAnd, "logical_and", a, b, kBool);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CFX_PROFILE_OP("where");
  CFX_CHECK(cond.dtype() == kBool, "where: condition must be a bool tensor, got ", cond.dtype());
  check_same_kind("where", a, b);
  CFX_CHECK(cond.device() == a.device(), "where: condition on ", cond.device(), ", values on ", a.device());
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = detail::make_empty(shape, a.dtype(), a.device());
  where_kernel(a.device(), cond, a, b, out);
  autograd::record("where", out, {a, b},
                   [cond = cond, sa = a.shape(), sb = b.shape()](const Tensor& g, const NeedsGrad& needs) {
                     const Tensor zero = scalar_like(0.0, g);
                     return grads{needs[0] ? sum_to(where(cond, g, zero), sa) : Tensor(),
                                  needs[1] ? sum_to(where(cond, zero, g), sb) : Tensor()};
                   });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  CFX_PROFILE_OP("masked_fill");
  CFX_CHECK(mask.dtype() == kBool, "masked_fill: mask must be a bool tensor, got ", mask.dtype());
  CFX_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(), "masked_fill: mask of shape ",
            mask.shape(), " does not broadcast to the input's shape ", x.shape());
  return where(mask, scalar_like(value, x), x);
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  CFX_PROFILE_OP("clamp");
  CFX_CHECK(lo || hi, "clamp: at least one of min and max must be given");
  Tensor out = x;
  {
    NoGradGuard no_grad;  // one node for the whole clamp, recorded below
    if (lo) out = maximum(out, scalar_like(*lo, x));
    if (hi) out = minimum(out, scalar_like(*hi, x));
    if (out.unsafe_impl() == x.unsafe_impl()) out = x.clone();
  }
  out = out.detach();
  autograd::record("clamp", out, {x}, [x = x.detach(), lo, hi](const Tensor& g, const NeedsGrad&) {
    // torch.clamp: the gradient passes where lo <= x <= hi, bounds included.
    Tensor pass = ones(x.shape(), {kBool, x.device()});
    if (lo) pass = logical_and(pass, ge(x, scalar_like(*lo, x)));
    if (hi) pass = logical_and(pass, le(x, scalar_like(*hi, x)));
    return grads{where(pass, g, scalar_like(0.0, g))};
  });
  return out;
}

// ---- operators and methods ------------------------------------------------------------------

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

Tensor Tensor::exp() const { return cfx::exp(*this); }
Tensor Tensor::log() const { return cfx::log(*this); }
Tensor Tensor::pow(double e) const { return cfx::pow(*this, e); }
Tensor Tensor::sqrt() const { return cfx::sqrt(*this); }
Tensor Tensor::abs() const { return cfx::abs(*this); }
Tensor Tensor::neg() const { return cfx::neg(*this); }

}  // namespace cfx
