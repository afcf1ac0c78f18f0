// matmul, bmm, linear and the CPU bmm_kernel: values against hand-computed cases and a
// naive triple loop (the reference kernel), float64 gradchecks for every shape rule
// (1-d, 2-d, batch broadcasting, folding, transposed and permuted views), error messages,
// and float32 vs float64 agreement on a larger product.
#include <functional>
#include <string>

#include "testing.h"

using namespace cfx;
using cfx::testing::allclose;
using cfx::testing::check_values;
using cfx::testing::rand64;
using cfx::testing::rand64_strided;

namespace {

// The naive reference: a [*batch_a, M, K] @ b [*batch_b, K, N] in float64 by three loops over
// the broadcast batch (both inputs at least 2-d).
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  const Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(ba, bb, "naive_matmul");
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {m, k});
  sb.insert(sb.end(), {k, n});
  so.insert(so.end(), {m, n});
  const auto x = to_vector<double>(a.detach().expand(sa)), y = to_vector<double>(b.detach().expand(sb));
  std::vector<double> out(numel(so), 0.0);
  for (int64_t t = 0; t < numel(batch); ++t)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += x[(t * m + i) * k + p] * y[(t * k + p) * n + j];
        out[(t * m + i) * n + j] = acc;
      }
  return tensor(out, so);
}

using Fn2 = std::function<Tensor(const std::vector<Tensor>&)>;
const Fn2 matmul_fn = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const cfx::Error& e) {
    return e.what();
  }
  return "(no cfx::Error thrown)";
}

}  // namespace

TEST_CASE("matmul: hand-computed values for 2-d, 1-d and mixed operands") {
  Tensor a = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor(std::vector<double>{7, 8, 9, 10, 11, 12}, {3, 2});
  Tensor ab = matmul(a, b);
  CHECK(ab.shape() == Shape{2, 2});
  check_values(ab, {58, 64, 139, 154});
  check_values(a.matmul(b), {58, 64, 139, 154});  // the Tensor method

  Tensor u = tensor(std::vector<double>{1, 2, 3}, {3}), v = tensor(std::vector<double>{4, 5, 6}, {3});
  Tensor dot = matmul(u, v);
  CHECK(dot.shape() == Shape{});
  CHECK(dot.item<double>() == 32);

  Tensor row = tensor(std::vector<double>{1, 2}, {2});
  Tensor vm = matmul(row, a);  // [2] @ [2, 3] -> [3]
  CHECK(vm.shape() == Shape{3});
  check_values(vm, {9, 12, 15});

  Tensor col = tensor(std::vector<double>{1, 0, -1}, {3});
  Tensor mv = matmul(a, col);  // [2, 3] @ [3] -> [2]
  CHECK(mv.shape() == Shape{2});
  check_values(mv, {-2, -2});

  // a transposed view goes to BLAS as CblasTrans: aᵀ a = [[17, 22, 27], [22, 29, 36], [27, 36, 45]].
  check_values(matmul(a.t(), a), {17, 22, 27, 22, 29, 36, 27, 36, 45});
}

TEST_CASE("matmul: result shapes follow torch.matmul") {
  struct Row { Shape a, b, out; };
  const std::vector<Row> rows = {
      {{3}, {3}, {}},           {{2, 3}, {3}, {2}},          {{3}, {3, 4}, {4}},
      {{5, 2, 3}, {3}, {5, 2}}, {{3}, {5, 3, 4}, {5, 4}},    {{5, 2, 3}, {3, 4}, {5, 2, 4}},
      {{2, 3}, {5, 3, 4}, {5, 2, 4}}, {{2, 1, 4, 3}, {5, 3, 2}, {2, 5, 4, 2}}, {{7, 1, 2, 3}, {1, 6, 3, 4}, {7, 6, 2, 4}},
  };
  for (const Row& r : rows) {
    const std::string a = shape_str(r.a), b = shape_str(r.b);
    CAPTURE(a);
    CAPTURE(b);
    CHECK(matmul(zeros(r.a), zeros(r.b)).shape() == r.out);
  }
}

TEST_CASE("matmul: every layout matches the naive triple loop") {
  struct Row { std::string name; Tensor a, b; };
  Tensor base_q = rand64({2, 5, 3, 4}, 1).detach();  // [B, L, H, D]
  Tensor base_k = rand64({2, 5, 3, 4}, 2).detach();
  const std::vector<Row> rows = {
      {"contiguous batched", rand64({4, 3, 5}, 3), rand64({4, 5, 2}, 4)},
      {"transposed a and b", rand64_strided({4, 3, 5}, 5), rand64_strided({4, 5, 2}, 6)},
      {"N-d @ 2-d, folded into one GEMM", rand64({2, 3, 4, 5}, 7), rand64({5, 6}, 8)},
      {"N-d transposed @ 2-d, not foldable", rand64_strided({3, 4, 5}, 9), rand64({5, 6}, 10)},
      {"2-d @ N-d, a broadcast with batch stride 0", rand64({3, 5}, 11), rand64({4, 5, 2}, 12)},
      {"batch broadcast both ways", rand64({2, 1, 3, 4}, 13), rand64({1, 5, 4, 2}, 14)},
      {"permuted [B,L,H,D] -> [B,H,L,D]: batch dims do not fold",
       base_q.permute({0, 2, 1, 3}), base_k.permute({0, 2, 3, 1})},
      {"step slices: neither unit stride, copied", rand64({3, 8, 6}, 15).slice(2, 0, 6, 2).slice(1, 0, 8, 2),
       rand64({3, 6, 4}, 16).slice(1, 0, 6, 2)},
      {"expanded rows: stride 0 inside a matrix", rand64({1, 4}, 17).expand({3, 4}), rand64({4, 2}, 18)},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    Tensor got = matmul(r.a, r.b);
    CHECK(allclose(got, naive_matmul(r.a, r.b), 1e-12, 1e-12));
  }
}

TEST_CASE("matmul: empty dims give empty or zero results") {
  Tensor z = matmul(ones({2, 0}), ones({0, 3}));  // K = 0: an empty sum
  CHECK(z.shape() == Shape{2, 3});
  check_values(z, {0, 0, 0, 0, 0, 0});
  CHECK(matmul(ones({0, 4}), ones({4, 3})).shape() == Shape{0, 3});
  CHECK(matmul(ones({2, 0, 4}), ones({4, 3})).shape() == Shape{2, 0, 3});
}

TEST_CASE("matmul: float64 gradcheck for every shape rule") {
  struct Row { std::string name; Tensor a, b; };
  const std::vector<Row> rows = {
      {"2-d", rand64({3, 4}, 21), rand64({4, 2}, 22)},
      {"1-d dot", rand64({4}, 23), rand64({4}, 24)},
      {"1-d @ 2-d", rand64({4}, 25), rand64({4, 3}, 26)},
      {"2-d @ 1-d", rand64({3, 4}, 27), rand64({4}, 28)},
      {"N-d @ 1-d", rand64({2, 3, 4}, 29), rand64({4}, 30)},
      {"1-d @ N-d", rand64({4}, 31), rand64({2, 4, 3}, 32)},
      {"N-d @ 2-d (folded)", rand64({2, 3, 4}, 33), rand64({4, 2}, 34)},
      {"2-d @ N-d", rand64({3, 4}, 35), rand64({2, 4, 2}, 36)},
      {"batch broadcast", rand64({2, 1, 2, 3}, 37), rand64({3, 3, 2}, 38)},
      {"transposed inputs", rand64_strided({2, 3, 4}, 39), rand64_strided({2, 4, 2}, 40)},
      {"transposed 2-d", rand64_strided({3, 4}, 41), rand64_strided({4, 3}, 42)},
      {"transposed N-d @ 2-d (not foldable)", rand64_strided({2, 3, 4}, 43), rand64({4, 2}, 44)},
      {"permuted batch", rand64({2, 3, 2, 4}, 45).detach().permute({0, 2, 1, 3}).requires_grad_(),
       rand64({2, 2, 4, 3}, 46)},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    CHECK_GRADCHECK(matmul_fn, {r.a, r.b});
  }
}

TEST_CASE("matmul: only the inputs that require grad get one") {
  Tensor a = rand64({3, 4}, 51);
  Tensor b = rand64({4, 2}, 52).detach();
  matmul(a, b).sum().backward();
  CHECK(a.grad().defined());
  CHECK(!b.grad().defined());
  // ga = ones @ bᵀ: row i of ga is the row sums of b.
  const auto bs = to_vector<double>(b), ga = to_vector<double>(a.grad());
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t p = 0; p < 4; ++p) CHECK(ga[i * 4 + p] == doctest::Approx(bs[p * 2] + bs[p * 2 + 1]));
}

TEST_CASE("bmm: values, gradcheck and strictness") {
  Tensor a = rand64({3, 2, 4}, 61), b = rand64_strided({3, 4, 5}, 62);
  CHECK(allclose(bmm(a, b), naive_matmul(a, b), 1e-12, 1e-12));
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); }, {a, b});
  CHECK_THROWS_AS(bmm(ones({2, 3}), ones({3, 2})), cfx::Error);
  CHECK(error_of([] { bmm(ones({2, 3, 4}), ones({1, 4, 5})); }).find("bmm: expected equal batch sizes, got [2, 3, 4] and [1, 4, 5]") == 0);
}

TEST_CASE("linear: x Wᵀ + b, values and gradcheck") {
  Tensor x = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = tensor(std::vector<double>{1, 0, 0, 0, 1, 1}, {2, 3});  // [out=2, in=3]
  Tensor bias = tensor(std::vector<double>{10, 20}, {2});
  check_values(linear(x, w, bias), {11, 25, 14, 31});
  check_values(linear(x, w), {1, 5, 4, 11});

  const Fn2 with_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  CHECK_GRADCHECK(with_bias, {rand64({2, 3, 4}, 71), rand64({5, 4}, 72), rand64({5}, 73)});
  CHECK_GRADCHECK(with_bias, {rand64({4}, 74), rand64({5, 4}, 75), rand64({5}, 76)});
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
                  {rand64_strided({3, 4}, 77), rand64_strided({5, 4}, 78)});
}

TEST_CASE("matmul, bmm and linear errors name the op and both shapes") {
  CHECK(error_of([] { matmul(ones({4, 6}), ones({5, 6})); })
            .find("matmul: expected a.shape[-1] == b.shape[-2], got [4, 6] and [5, 6]") == 0);
  CHECK(error_of([] { matmul(ones({4, 6}), ones({5})); })
            .find("matmul: expected a.shape[-1] == b.shape[0], got [4, 6] and [5]") == 0);
  CHECK(error_of([] { matmul(ones({2, 3, 4}), ones({5, 4, 6})); })
            .find("matmul: the batch dims of [2, 3, 4] and [5, 4, 6] cannot be broadcast") == 0);
  CHECK(error_of([] { matmul(ones({}), ones({3})); }).find("matmul: both arguments need at least 1 dim") == 0);
  CHECK(error_of([] { matmul(ones({2, 3}), ones({3, 2}, {kFloat64})); })
            .find("matmul: expected both tensors to have the same dtype, got float32 and float64") == 0);
  CHECK(error_of([] { matmul(ones({2, 3}, {kInt64}), ones({3, 2}, {kInt64})); })
            .find("matmul: expected float32 or float64 tensors, got int64") == 0);
  CHECK(error_of([] { linear(ones({2, 3}), ones({4, 5})); })
            .find("linear: expected x.shape[-1] == weight.shape[1], got [2, 3] and [4, 5]") == 0);
  CHECK(error_of([] { linear(ones({2, 3}), ones({4, 3}), ones({3})); })
            .find("linear: expected bias of shape [4] (weight is [4, 3]), got [3]") == 0);
  CHECK(error_of([] { linear(ones({2, 3}), ones({3})); }).find("linear: expected weight of shape") == 0);
}

TEST_CASE("bmm_kernel: broadcast batch strides, and other dtypes are refused") {
  // a [1, 2, 3] read with batch stride 0 for all 4 batch items; b a real batch.
  Tensor a = rand64({2, 3}, 81).detach();
  Tensor b = rand64({4, 3, 2}, 82).detach();
  Tensor a3 = detail::make_view(a, {4, 2, 3}, {0, 3, 1}, a.offset());
  Tensor out = zeros({4, 2, 2}, {kFloat64});
  bmm_kernel(Device::cpu(), a3, b, out);
  CHECK(allclose(out, naive_matmul(a.unsqueeze(0), b), 1e-12, 1e-12));
  // Many tiny matrices take the parallel-over-batch path; it must agree too.
  Tensor sa = rand64({512, 3, 4}, 83).detach(), sb = rand64_strided({512, 4, 5}, 84).detach();
  CHECK(allclose(matmul(sa, sb), naive_matmul(sa, sb), 1e-12, 1e-12));

  Tensor ia = ones({1, 2, 2}, {kInt32}), ib = ones({1, 2, 2}, {kInt32});
  Tensor iout = zeros({1, 2, 2}, {kInt32});
  CHECK(error_of([&] { bmm_kernel(Device::cpu(), ia, ib, iout); }).find("bmm: expected a float32 or float64 tensor, got int32") == 0);
}

TEST_CASE("matmul: float32 agrees with float64 on 128x64 @ 64x96") {
  Tensor a = rand64({128, 64}, 91).detach(), b = rand64({64, 96}, 92).detach();
  Tensor ref = matmul(a, b);
  Tensor got = matmul(a.to(kFloat32), b.to(kFloat32)).to(kFloat64);
  // Relative to the scale of the result: |C| ~ sqrt(64)/3, float32 accumulates 64 terms.
  const double scale = cfx::testing::max_abs_diff(ref, zeros({128, 96}, {kFloat64}));
  CHECK(cfx::testing::max_abs_diff(got, ref) / scale < 1e-5);
  // Batched + transposed float32 against the float64 reference too.
  Tensor x = rand64_strided({8, 64, 32}, 93).detach(), y = rand64({8, 64, 16}, 94).detach();
  Tensor r64 = matmul(x.transpose(1, 2), y);
  Tensor r32 = matmul(x.to(kFloat32).transpose(1, 2), y.to(kFloat32)).to(kFloat64);
  CHECK(allclose(r32, r64, 1e-5, 1e-5));
}
