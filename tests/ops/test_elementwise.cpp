// Pointwise ops: values against closed forms, float64 gradchecks on contiguous, strided
// and broadcast inputs (one table row per op), and dtype/device errors.
#include <cmath>
#include <functional>

#include "testing.h"

using namespace cfx;
using cfx::testing::check_values;
using cfx::testing::rand64;
using cfx::testing::rand64_strided;

namespace {
using Unary = std::function<Tensor(const Tensor&)>;
using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;

struct UnaryRow {
  const char* name;
  Unary fn;
  double (*reference)(double);
  double lo, hi;  // input range (keeps log/sqrt in their domain, avoids relu/abs kinks)
};

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }
double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

const std::vector<UnaryRow>& unary_rows() {
  static const std::vector<UnaryRow> rows = {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -2, 2},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.5, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.5, 3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.5, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }, 0.1, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -3, 3},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, 0.1, 2},
      {"gelu", [](const Tensor& x) { return gelu(x); }, gelu_ref, -3, 3},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, gelu_tanh_ref, -3, 3},
      {"pow3", [](const Tensor& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }, -2, 2},
      {"pow_half", [](const Tensor& x) { return pow(x, 0.5); }, [](double x) { return std::sqrt(x); }, 0.5, 2},
  };
  return rows;
}
}  // namespace

TEST_CASE("unary ops: values and float64 gradcheck, contiguous and strided") {
  for (const UnaryRow& row : unary_rows()) {
    const std::string op_name = row.name;
    CAPTURE(op_name);
    Tensor x = rand64({4, 3}, 11, row.lo, row.hi);
    const auto xs = to_vector<double>(x);
    const auto ys = to_vector<double>(row.fn(x));
    for (size_t i = 0; i < xs.size(); ++i) CHECK(ys[i] == doctest::Approx(row.reference(xs[i])).epsilon(1e-12));
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return row.fn(in[0]); }, {x});
    Tensor xt = rand64_strided({3, 5}, 12, row.lo, row.hi);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return row.fn(in[0]); }, {xt});
    // float32 agrees with float64.
    CHECK(cfx::testing::max_abs_diff(row.fn(x.detach().to(kFloat32)).to(kFloat64), row.fn(x.detach())) < 1e-5);
  }
}

TEST_CASE("relu and abs at the kink follow torch: zero gradient at 0") {
  Tensor x = tensor(std::vector<double>{-1, 0, 2}, {3}, true);
  relu(x).sum().backward();
  check_values(x.grad(), {0, 0, 1});
  Tensor y = tensor(std::vector<double>{-1, 0, 2}, {3}, true);
  abs(y).sum().backward();
  check_values(y.grad(), {-1, 0, 1});
}

TEST_CASE("binary ops with broadcasting: values and gradcheck") {
  struct Row { const char* name; Binary fn; double (*ref)(double, double); };
  const std::vector<Row> rows = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }},
  };
  // (shape a, shape b) pairs: same shape, trailing broadcast, both sides broadcast, scalar.
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {}}, {{4}, {2, 3, 4}}};
  for (const Row& row : rows) {
    for (const auto& [sa, sb] : shapes) {
      const std::string op_name = row.name;
    CAPTURE(op_name);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      Tensor a = rand64(sa, 21, 0.5, 2.0), b = rand64(sb, 22, 0.5, 2.0);
      Tensor out = row.fn(a, b);
      CHECK(out.shape() == broadcast_shapes(sa, sb, "test"));
      Tensor ae = a.detach().expand(out.shape()).contiguous(), be = b.detach().expand(out.shape()).contiguous();
      const auto av = to_vector<double>(ae), bv = to_vector<double>(be), ov = to_vector<double>(out);
      for (size_t i = 0; i < ov.size(); ++i) CHECK(ov[i] == doctest::Approx(row.ref(av[i], bv[i])));
      CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return row.fn(in[0], in[1]); }, {a, b});
    }
    // Strided (transposed) operands.
    Tensor a = rand64_strided({4, 3}, 23, 0.5, 2.0), b = rand64_strided({4, 3}, 24, 0.5, 2.0);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return row.fn(in[0], in[1]); }, {a, b});
  }
}

TEST_CASE("maximum/minimum split the gradient at ties like torch") {
  Tensor a = tensor(std::vector<double>{1, 2, 3}, {3}, true);
  Tensor b = tensor(std::vector<double>{1, 5, 0}, {3}, true);
  maximum(a, b).sum().backward();
  check_values(a.grad(), {0.5, 0, 1});
  check_values(b.grad(), {0.5, 1, 0});
}

TEST_CASE("scalar operators") {
  Tensor x = tensor(std::vector<float>{1, 2}, {2});
  check_values(x + 1.0, {2, 3});
  check_values(1.0 - x, {0, -1});
  check_values(x * 3.0, {3, 6});
  check_values(2.0 / x, {2, 1});
  check_values(-x, {-1, -2});
  CHECK((x * 3.0).dtype() == kFloat32);
}

TEST_CASE("integer pow is exact (no double round trip), negative exponents as torch") {
  // 3^39 and (-2)^39 need 62 and 40 bits: through double, 3^39 would lose its low bits.
  const Tensor x = tensor(std::vector<int64_t>{3, -2, 1, -1, 5}, {5});
  CHECK(to_vector<int64_t>(pow(x, 39.0)) ==
        std::vector<int64_t>{4052555153018976267LL, -549755813888LL, 1, -1, 2815461535676025517LL});  // 5^39 wraps mod 2^64
  CHECK(to_vector<int64_t>(pow(x, 0.0)) == std::vector<int64_t>{1, 1, 1, 1, 1});
  CHECK(to_vector<int64_t>(pow(x, -1.0)) == std::vector<int64_t>{0, 0, 1, -1, 0});
  CHECK(to_vector<int64_t>(pow(x, -2.0)) == std::vector<int64_t>{0, 0, 1, 1, 0});
  CHECK(to_vector<int32_t>(pow(tensor(std::vector<int32_t>{5, -3, 10}, {3}), 3.0)) == std::vector<int32_t>{125, -27, 1000});
  CHECK(to_vector<uint8_t>(pow(tensor(std::vector<uint8_t>{2, 3, 16}, {3}), 2.0)) == std::vector<uint8_t>{4, 9, 0});  // wraps
}

TEST_CASE("comparisons, where, masked_fill") {
  Tensor a = tensor(std::vector<double>{1, 2, 3}, {3});
  Tensor b = tensor(std::vector<double>{2, 2, 2}, {3});
  CHECK(lt(a, b).dtype() == kBool);
  check_values(lt(a, b), {1, 0, 0});
  check_values(le(a, b), {1, 1, 0});
  check_values(gt(a, b), {0, 0, 1});
  check_values(ge(a, b), {0, 1, 1});
  check_values(eq(a, b), {0, 1, 0});
  check_values(ne(a, b), {1, 0, 1});
  check_values(where(gt(a, b), a, b), {2, 2, 3});
  check_values(masked_fill(a, eq(a, b), -9), {1, -9, 3});
  Tensor x = rand64({3, 4}, 31), y = rand64({4}, 32);
  Tensor cond = gt(x.detach(), scalar_tensor(0.0, {kFloat64}));
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return where(cond, in[0], in[1]); }, {x, y});
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return masked_fill(in[0], cond, 2.0); }, {x});
  CHECK_THROWS_WITH_AS(where(a, a, b), doctest::Contains("where: condition must be a bool tensor, got float64"),
                       cfx::Error);
}

TEST_CASE("clamp passes the gradient at the bounds (torch semantics)") {
  Tensor x = tensor(std::vector<double>{-2, -1, 0, 1, 2}, {5}, true);
  Tensor y = clamp(x, -1.0, 1.0);
  check_values(y, {-1, -1, 0, 1, 1});
  y.sum().backward();
  check_values(x.grad(), {0, 1, 1, 1, 0});
  Tensor z = rand64({6}, 41, -2, 2);
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return clamp(in[0], -0.5, std::nullopt); }, {z});
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return clamp(in[0], std::nullopt, 0.5); }, {z});
  CHECK_THROWS_AS(clamp(x, std::nullopt, std::nullopt), cfx::Error);
}

TEST_CASE("mismatched dtypes and bad gelu mode are errors") {
  CHECK_THROWS_WITH_AS(ones({2}) * ones({2}, {kFloat64}), doctest::Contains("mul: expected both tensors to have the same dtype"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(ones({2}) + ones({3}), doctest::Contains("add: shapes [2] and [3] cannot be broadcast"), cfx::Error);
  CHECK_THROWS_WITH_AS(gelu(ones({2}), "fast"), doctest::Contains("gelu: approximate must be"), cfx::Error);
  CHECK_THROWS_WITH_AS(exp(ones({2}, {kInt64})), doctest::Contains("exp: expected a float tensor, got int64"), cfx::Error);
}
