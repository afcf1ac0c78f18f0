// CUDA backend vs CPU backend (STYLE.md practice 10 iii): every op kernel family of
// core/kernels.h run on the same random inputs on both devices, values and gradients, with the
// tolerance scaled to the reference (llm.c's t = atol + rtol |ref|); strided, broadcast and
// integer inputs where the CPU kernel takes them. Memory, copies and the allocator:
// test_cuda_memory.cpp; Flow-Attention and a whole model: test_cuda_flow_attention.cpp.
//
// Without a GPU (or without the CUDA backend) every test prints "SKIPPED: ..." and returns.
#include <limits>

#include "cuda_testing.h"

using namespace cfx;
using namespace cfx::testing;

// ---- pointwise -----------------------------------------------------------------------------------

TEST_CASE("cuda: unary ops and their gradients, contiguous and strided") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  struct Row {
    const char* name;
    std::function<Tensor(const Tensor&)> fn;
    double lo, hi;  // input range (positive for log and sqrt)
  };
  const std::vector<Row> rows = {
      {"neg", [](const Tensor& x) { return neg(x); }, -2, 2},
      {"exp", [](const Tensor& x) { return exp(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, 0.1, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0.1, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -4, 4},
      {"tanh", [](const Tensor& x) { return tanh(x); }, -3, 3},
      {"relu", [](const Tensor& x) { return relu(x); }, -2, 2},
      {"gelu", [](const Tensor& x) { return gelu(x); }, -3, 3},
      {"gelu tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, -3, 3},
      {"rsqrt (pow -0.5)", [](const Tensor& x) { return rsqrt(x); }, 0.1, 3},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }, -2, 2},
  };
  for (DType dt : {kFloat32, kFloat64})
    for (bool strided : {false, true})
      for (const Row& r : rows) {
        const std::string what = std::string(r.name) + (dt == kFloat32 ? " f32" : " f64") + (strided ? " strided" : "");
        const std::function<Tensor(const Tensor&)> view = strided ? transposed : nullptr;
        Pair x = pair_of(uniform({5, 7}, dt, 11, r.lo, r.hi), view);
        const Tensor g = uniform(x.cpu.shape(), dt, 12);
        Tensor y_cpu = r.fn(x.cpu), y_gpu = r.fn(x.gpu);
        check_close(y_gpu, y_cpu, tol_of(dt), what);
        y_cpu.backward(g);
        y_gpu.backward(gpu(g));
        check_close(grad_of(x.gpu_leaf, what), grad_of(x.cpu_leaf, what), tol_of(dt), what + " grad");
      }
  // Sign is a kernel without an op: call the table directly.
  const Tensor s = uniform({9}, kFloat32, 13);
  Tensor out_gpu = zeros({9}, {kFloat32, kGpu}), out_cpu = zeros({9}, {kFloat32});
  unary_kernel(kGpu, UnaryOp::Sign, gpu(s), out_gpu);
  unary_kernel(Device::cpu(), UnaryOp::Sign, s, out_cpu);
  check_close(out_gpu, out_cpu, exact(), "sign");
}

TEST_CASE("cuda: binary ops with broadcasting, float gradients, integer and bool dtypes") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  using Fn = Tensor (*)(const Tensor&, const Tensor&);
  const std::vector<std::pair<const char*, Fn>> math = {{"add", add}, {"sub", sub}, {"mul", mul}, {"div", div},
                                                       {"maximum", maximum}, {"minimum", minimum}};
  const std::vector<std::pair<const char*, Fn>> compare = {{"eq", eq}, {"ne", ne}, {"lt", lt},
                                                          {"le", le}, {"gt", gt}, {"ge", ge}};
  for (DType dt : {kFloat32, kFloat64}) {
    for (const auto& [name, fn] : math) {
      const std::string what = std::string(name) + (dt == kFloat32 ? " f32" : " f64");
      // a [3,1,5] (strided: a transposed [3,5,1] base) against b [4,5]; b kept away from 0.
      Pair a = pair_of(uniform({3, 5, 1}, dt, 20), transposed);
      Pair b = pair_of(uniform({4, 5}, dt, 21, 0.5, 2));
      Tensor y_cpu = fn(a.cpu, b.cpu), y_gpu = fn(a.gpu, b.gpu);
      check_close(y_gpu, y_cpu, tol_of(dt), what);
      const Tensor g = uniform(y_cpu.shape(), dt, 22);
      y_cpu.backward(g);
      y_gpu.backward(gpu(g));
      check_close(grad_of(a.gpu_leaf, what), grad_of(a.cpu_leaf, what), tol_of(dt), what + " grad a");
      check_close(grad_of(b.gpu_leaf, what), grad_of(b.cpu_leaf, what), tol_of(dt), what + " grad b");
    }
  }
  // Integers: exact, with C++ semantics (truncating division; b >= 1 so no division by 0).
  for (DType dt : {kInt32, kInt64, kUInt8}) {
    CAPTURE(dtype_name(dt));
    const Tensor a = uniform({3, 1, 5}, kFloat64, 23, 0, 50).to(dt), b = uniform({4, 5}, kFloat64, 24, 1, 9).to(dt);
    for (const auto& [name, fn] : math) check_close(fn(gpu(a), gpu(b)), fn(a, b), exact(), name);
    for (const auto& [name, fn] : compare) check_close(fn(gpu(a), gpu(b)), fn(a, b), exact(), name);
    check_close(pow(gpu(b), 2.0), pow(b, 2.0), exact(), "integer pow");
    check_close(pow(gpu(b), 7.0), pow(b, 7.0), exact(), "integer pow 7");  // 8^7 > 2^16: wraps in uint8 alike
  }
  {  // beyond 2^53 a double round trip would drop bits; both backends compute it exactly
    const Tensor big = tensor(std::vector<int64_t>{3, -2, 1, -1, 5}, {5});
    for (double e : {39.0, -1.0}) check_close(pow(gpu(big), e), pow(big, e), exact(), "int64 pow");
  }
  for (DType dt : {kFloat32, kFloat64}) {
    const Tensor a = uniform({6, 7}, dt, 25), b = a.select(1, 3).unsqueeze(1);  // ties for eq/le/ge
    for (const auto& [name, fn] : compare) check_close(fn(gpu(a), gpu(b)), fn(a, b), exact(), name);
    const Tensor p = uniform({6, 7}, dt, 26, 0.1, 3);
    for (double e : {2.0, 0.5, -1.5}) check_close(pow(gpu(p), e), pow(p, e), tol_of(dt), "pow");
  }
  const Tensor t = gt(uniform({5, 6}, kFloat32, 27), scalar_tensor(0.0, {kFloat32}));
  const Tensor u = gt(uniform({6}, kFloat32, 28), scalar_tensor(0.0, {kFloat32}));
  check_close(logical_and(gpu(t), gpu(u)), logical_and(t, u), exact(), "logical_and");
  check_close(eq(gpu(t), gpu(u)), eq(t, u), exact(), "bool eq");
  check_close(add(gpu(t), gpu(u)), add(t, u), exact(), "bool add (an or)");
}

TEST_CASE("cuda: where, masked_fill and clamp, values and gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dt));
    Pair a = pair_of(uniform({4, 6}, dt, 30)), b = pair_of(uniform({6}, dt, 31));
    const Tensor cond = gt(uniform({4, 1}, dt, 32), scalar_tensor(0.0, {dt}));
    Tensor y_cpu = where(cond, a.cpu, b.cpu), y_gpu = where(gpu(cond), a.gpu, b.gpu);
    check_close(y_gpu, y_cpu, exact(), "where");
    Tensor z_cpu = clamp(masked_fill(y_cpu, transposed(cond.expand({4, 4})).narrow(1, 0, 1), 5.0), -0.5, 0.5);
    Tensor z_gpu = clamp(masked_fill(y_gpu, transposed(gpu(cond).expand({4, 4})).narrow(1, 0, 1), 5.0), -0.5, 0.5);
    check_close(z_gpu, z_cpu, exact(), "masked_fill + clamp");
    const Tensor g = uniform({4, 6}, dt, 33);
    z_cpu.backward(g);
    z_gpu.backward(gpu(g));
    check_close(grad_of(a.gpu_leaf, "where"), grad_of(a.cpu_leaf, "where"), exact(), "where grad a");
    check_close(grad_of(b.gpu_leaf, "where"), grad_of(b.cpu_leaf, "where"), tol_of(dt), "where grad b");
  }
}

// ---- reductions and ops along one dim -------------------------------------------------------------

TEST_CASE("cuda: sum, mean, amax, amin over dim sets, strided, integer, long and column reductions") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const std::vector<Shape> dim_sets = {{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1}};
  for (DType dt : {kFloat32, kFloat64})
    for (bool strided : {false, true})
      for (const Shape& dims : dim_sets)
        for (bool keepdim : {false, true}) {
          const std::string what = std::string(dtype_name(dt)) + (strided ? " strided" : "") + " dims " +
                                   shape_str(dims) + (keepdim ? " keepdim" : "");
          auto view = [&](const Tensor& t) { return strided ? t.permute({2, 0, 1}) : t; };
          Pair x = pair_of(uniform({5, 6, 4}, dt, 40), view);
          for (int op = 0; op < 4; ++op) {  // a fresh view per backward: each frees its graph
            const Tensor xc = view(x.cpu_leaf), xg = view(x.gpu_leaf);
            Tensor y_cpu, y_gpu;
            if (op == 0) y_cpu = sum(xc, dims, keepdim), y_gpu = sum(xg, dims, keepdim);
            if (op == 1) y_cpu = mean(xc, dims, keepdim), y_gpu = mean(xg, dims, keepdim);
            if (op == 2) y_cpu = amax(xc, dims, keepdim), y_gpu = amax(xg, dims, keepdim);
            if (op == 3) y_cpu = amin(xc, dims, keepdim), y_gpu = amin(xg, dims, keepdim);
            check_close(y_gpu, y_cpu, op >= 2 ? exact() : tol_of(dt), what + " op " + std::to_string(op));
            const Tensor g = uniform(y_cpu.shape(), dt, 41);
            y_cpu.backward(g);
            y_gpu.backward(gpu(g));
          }
          check_close(grad_of(x.gpu_leaf, what), grad_of(x.cpu_leaf, what), tol_of(dt), what + " grads");
        }
  for (DType dt : {kInt32, kInt64, kUInt8}) {
    CAPTURE(dtype_name(dt));
    const Tensor x = uniform({7, 9}, kFloat64, 42, 0, 20).to(dt);
    for (const Shape& dims : {Shape{}, Shape{0}, Shape{1}}) {
      check_close(sum(gpu(x), dims), sum(x, dims), exact(), "integer sum");
      check_close(amax(gpu(x), dims), amax(x, dims), exact(), "integer amax");
      check_close(amin(gpu(x), dims), amin(x, dims), exact(), "integer amin");
    }
  }
  // A long reduction into one output (split over blocks + a second pass) and a sum over rows
  // with the unit-stride dim kept (the column kernel).
  const Tensor big = uniform({300001}, kFloat32, 43);
  check_close(sum(gpu(big)), sum(big), Tol{1e-4, 1e-6}, "long sum");
  check_close(amax(gpu(big), {0}), amax(big, {0}), exact(), "long amax");
  const Tensor rows = uniform({5000, 70}, kFloat64, 44);
  check_close(sum(gpu(rows), {0}), sum(rows, {0}), tol_of(kFloat64, 100), "column sum");
  check_close(amin(gpu(rows), {0}), amin(rows, {0}), exact(), "column amin");
}

TEST_CASE("cuda: argmax and max(dim) with ties and NaN, like the CPU") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64, kInt32, kInt64}) {
    CAPTURE(dtype_name(dt));
    // Few distinct values: many ties, the first maximum wins.
    const Tensor x = uniform({6, 300, 5}, kFloat64, 50, 0, 3).to(kInt64).to(dt);
    for (int64_t dim = 0; dim < 3; ++dim) {
      CAPTURE(dim);
      check_close(argmax(gpu(x), dim), argmax(x, dim), exact(), "argmax");
      check_close(argmax(transposed(gpu(x)), dim), argmax(transposed(x), dim), exact(), "argmax strided");
      const MaxResult m_gpu = max(gpu(x), dim, true), m_cpu = max(x, dim, true);
      check_close(m_gpu.values, m_cpu.values, exact(), "max values");
      check_close(m_gpu.indices, m_cpu.indices, exact(), "max indices");
    }
  }
  // NaN: never chosen, except that a NaN at index 0 wins (the CPU loop's rule).
  Tensor v = tensor(std::vector<double>{NAN, 1, 5, 2, 0, NAN, 3, 3, 1, 2, 7, NAN}, {3, 4});
  check_close(argmax(gpu(v), 1), argmax(v, 1), exact(), "argmax with NaN");
}

TEST_CASE("cuda: cumsum along each dim (float, int) with gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64})
    for (int64_t dim = 0; dim < 3; ++dim) {
      const std::string what = std::string(dtype_name(dt)) + " dim " + std::to_string(dim);
      Pair x = pair_of(uniform({4, 37, 6}, dt, 60), [](const Tensor& t) { return t.transpose(0, 2); });
      Tensor y_cpu = cumsum(x.cpu, dim), y_gpu = cumsum(x.gpu, dim);
      check_close(y_gpu, y_cpu, tol_of(dt), what);
      const Tensor g = uniform(y_cpu.shape(), dt, 61);
      y_cpu.backward(g);
      y_gpu.backward(gpu(g));
      check_close(grad_of(x.gpu_leaf, what), grad_of(x.cpu_leaf, what), tol_of(dt, 10), what + " grad");
    }
  const Tensor ints = uniform({5, 8}, kFloat64, 62, -20, 20).to(kInt32);
  check_close(cumsum(gpu(ints), 1), cumsum(ints, 1), exact(), "int cumsum (in int64)");
}

TEST_CASE("cuda: softmax and log_softmax along each dim, strided, masked rows, gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64})
    for (bool log : {false, true})
      for (int64_t dim = 0; dim < 3; ++dim) {
        const std::string what = std::string(log ? "log_softmax " : "softmax ") + std::string(dtype_name(dt)) + " dim " +
                                 std::to_string(dim);
        Pair x = pair_of(uniform({3, 4, 300}, dt, 70, -5, 5), [](const Tensor& t) { return t.permute({2, 0, 1}); });
        Tensor y_cpu = log ? log_softmax(x.cpu, dim) : softmax(x.cpu, dim);
        Tensor y_gpu = log ? log_softmax(x.gpu, dim) : softmax(x.gpu, dim);
        check_close(y_gpu, y_cpu, tol_of(dt), what);
        const Tensor g = uniform(y_cpu.shape(), dt, 71);
        y_cpu.backward(g);
        y_gpu.backward(gpu(g));
        check_close(grad_of(x.gpu_leaf, what), grad_of(x.cpu_leaf, what), tol_of(dt, 10), what + " grad");
      }
  // -inf entries (a masked row of attention scores) and a long row (several passes per thread).
  const Tensor s = uniform({4, 5000}, kFloat32, 72, -3, 3);
  const Tensor mask = gt(uniform({4, 5000}, kFloat32, 73), scalar_tensor(0.5, {kFloat32}));
  const Tensor masked = masked_fill(s, mask, -std::numeric_limits<double>::infinity());
  check_close(softmax(gpu(masked), 1), softmax(masked, 1), tol_of(kFloat32), "masked softmax");
  check_close(log_softmax(gpu(masked), 1), log_softmax(masked, 1), tol_of(kFloat32), "masked log_softmax");
}

// ---- linear algebra -------------------------------------------------------------------------------

TEST_CASE("cuda: matmul / bmm through cuBLAS: transposed, broadcast, folded, copied operands; gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  using View = std::function<Tensor(const Tensor&)>;
  struct Row {
    const char* name;
    Shape a, b;
    View va, vb;  // views taken of the bases (empty: none)
  };
  const View t = transposed;
  const View step2 = [](const Tensor& x) { return x.slice(-1, 0, x.size(-1), 2); };  // neither stride is 1
  const View heads = [](const Tensor& x) { return x.permute({0, 2, 1, 3}); };        // [B,L,H,D] -> [B,H,L,D]
  const std::vector<Row> rows = {
      {"2-d", {5, 7}, {7, 3}, {}, {}},
      {"3-d @ 2-d (folded rows)", {2, 5, 7}, {7, 3}, {}, {}},
      {"bmm", {4, 5, 7}, {4, 7, 3}, {}, {}},
      {"transposed a and b", {4, 7, 5}, {4, 3, 7}, t, t},
      {"broadcast batch", {3, 1, 5, 7}, {4, 7, 2}, {}, {}},
      {"1-d @ 2-d", {7}, {7, 3}, {}, {}},
      {"2-d @ 1-d", {5, 7}, {7}, {}, {}},
      {"copied operand (step 2)", {5, 14}, {7, 3}, step2, {}},
      {"head-split views", {2, 5, 3, 4}, {2, 5, 3, 4}, heads, [&](const Tensor& x) { return transposed(heads(x)); }},
      {"empty k", {3, 0}, {0, 4}, {}, {}},
  };
  for (DType dt : {kFloat32, kFloat64})
    for (const Row& r : rows) {
      const std::string what = std::string(r.name) + " " + std::string(dtype_name(dt));
      Pair a = pair_of(uniform(r.a, dt, 80), r.va), b = pair_of(uniform(r.b, dt, 81), r.vb);
      Tensor y_cpu = matmul(a.cpu, b.cpu), y_gpu = matmul(a.gpu, b.gpu);
      check_close(y_gpu, y_cpu, tol_of(dt, 10), what);
      if (y_cpu.numel() == 0 || a.cpu.numel() == 0) continue;
      const Tensor g = uniform(y_cpu.shape(), dt, 82);
      y_cpu.backward(g);
      y_gpu.backward(gpu(g));
      check_close(grad_of(a.gpu_leaf, what), grad_of(a.cpu_leaf, what), tol_of(dt, 10), what + " grad a");
      check_close(grad_of(b.gpu_leaf, what), grad_of(b.cpu_leaf, what), tol_of(dt, 10), what + " grad b");
    }
  const Tensor x = uniform({6, 8}, kFloat32, 83), w = uniform({5, 8}, kFloat32, 84), bias = uniform({5}, kFloat32, 85);
  check_close(linear(gpu(x), gpu(w), gpu(bias)), linear(x, w, bias), tol_of(kFloat32, 10), "linear");
  check_close(bmm(gpu(uniform({3, 4, 5}, kFloat64, 86)), gpu(uniform({3, 5, 2}, kFloat64, 87))),
              bmm(uniform({3, 4, 5}, kFloat64, 86), uniform({3, 5, 2}, kFloat64, 87)), tol_of(kFloat64), "bmm op");
}

// ---- fused neural-network ops ---------------------------------------------------------------------

TEST_CASE("cuda: layer_norm forward and backward, with and without affine parameters") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64})
    for (bool affine : {true, false})
      for (const Shape& norm : {Shape{300}, Shape{3, 300}}) {
        const std::string what = std::string(dtype_name(dt)) + (affine ? " affine " : " plain ") + shape_str(norm);
        Pair x = pair_of(uniform({4, 300, 3}, dt, 90, -2, 3), [](const Tensor& t) { return t.transpose(1, 2); });
        Pair w = pair_of(uniform(norm, dt, 91)), b = pair_of(uniform(norm, dt, 92));
        Tensor y_cpu = layer_norm(x.cpu, norm, affine ? w.cpu : Tensor(), affine ? b.cpu : Tensor());
        Tensor y_gpu = layer_norm(x.gpu, norm, affine ? w.gpu : Tensor(), affine ? b.gpu : Tensor());
        check_close(y_gpu, y_cpu, tol_of(dt, 10), what);
        const Tensor g = uniform(y_cpu.shape(), dt, 93);
        y_cpu.backward(g);
        y_gpu.backward(gpu(g));
        const Tol tol = {tol_of(dt, 10).atol, tol_of(dt, 10).rtol, true};
        check_close(grad_of(x.gpu_leaf, what), grad_of(x.cpu_leaf, what), tol, what + " grad x");
        if (!affine) continue;
        check_close(grad_of(w.gpu_leaf, what), grad_of(w.cpu_leaf, what), tol, what + " grad w");
        check_close(grad_of(b.gpu_leaf, what), grad_of(b.cpu_leaf, what), tol, what + " grad b");
      }
}

TEST_CASE("cuda: cross_entropy with ignore_index, label smoothing and every reduction; gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const Tensor target2 = tensor(std::vector<int64_t>{0, 4, -100, 2, 2, 1, -100, 3}, {8});
  const Tensor target3 = tensor(std::vector<int64_t>{0, 1, 2, 3, -100, 1, 0, 4, 4, 2, 1, 0}, {4, 3});
  for (DType dt : {kFloat32, kFloat64})
    for (double smoothing : {0.0, 0.1})
      for (const char* reduction : {"mean", "sum", "none"})
        for (bool spatial : {false, true}) {  // [N, C] or [N, C, d] (class dim 1, permuted inside)
          const std::string what = std::string(dtype_name(dt)) + " smoothing " + std::to_string(smoothing) + " " +
                                   reduction + (spatial ? " [N,C,d]" : " [N,C]");
          Pair x = pair_of(uniform(spatial ? Shape{4, 5, 3} : Shape{8, 5}, dt, 100, -3, 3));
          const Tensor& target = spatial ? target3 : target2;
          Tensor y_cpu = cross_entropy(x.cpu, target, -100, smoothing, reduction);
          Tensor y_gpu = cross_entropy(x.gpu, gpu(target), -100, smoothing, reduction);
          check_close(y_gpu, y_cpu, tol_of(dt, 10), what);
          const Tensor g = uniform(y_cpu.shape(), dt, 101);
          y_cpu.backward(g);
          y_gpu.backward(gpu(g));
          check_close(grad_of(x.gpu_leaf, what), grad_of(x.cpu_leaf, what), tol_of(dt, 10), what + " grad");
        }
}

TEST_CASE("cuda: embedding and index_select (repeated indices, padding_idx, strided), gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const Tensor index = tensor(std::vector<int64_t>{3, 1, 3, 0, 9, 3, 2, 2, 7, 1, 3, 0}, {3, 4});
  for (DType dt : {kFloat32, kFloat64})
    for (std::optional<int64_t> padding : {std::optional<int64_t>{}, std::optional<int64_t>{3}}) {
      const std::string what = std::string(dtype_name(dt)) + (padding ? " padding_idx 3" : "");
      Pair w = pair_of(uniform({10, 6}, dt, 110));
      Tensor y_cpu = embedding(index, w.cpu, padding), y_gpu = embedding(gpu(index), w.gpu, padding);
      check_close(y_gpu, y_cpu, exact(), what);
      const Tensor g = uniform(y_cpu.shape(), dt, 111);
      y_cpu.backward(g);
      y_gpu.backward(gpu(g));
      // Repeated rows add up with atomics on the GPU: the order of the sum may differ.
      check_close(grad_of(w.gpu_leaf, what), grad_of(w.cpu_leaf, what), tol_of(dt), what + " grad");
    }
  for (DType dt : {kFloat32, kFloat64, kInt64, kUInt8}) {
    CAPTURE(dtype_name(dt));
    const Tensor idx = tensor(std::vector<int64_t>{4, 0, 4, 2, 1}, {5});
    const bool is_float = is_floating(dt);
    Pair x = pair_of(uniform({3, 5, 7}, kFloat64, 112, 0, 9).to(dt), [](const Tensor& t) { return t.transpose(0, 2); },
                     is_float);
    Tensor y_cpu = index_select(x.cpu, 1, idx), y_gpu = index_select(x.gpu, 1, gpu(idx));
    check_close(y_gpu, y_cpu, exact(), "index_select dim 1 of a strided view");
    // index_add directly (int and byte dtypes have no autograd): repeated index 4 adds twice.
    Tensor acc_cpu = zeros({7, 5, 3}, {dt}), acc_gpu = zeros({7, 5, 3}, {dt, kGpu});
    index_add_kernel(Device::cpu(), acc_cpu, 1, idx, y_cpu.contiguous());
    index_add_kernel(kGpu, acc_gpu, 1, gpu(idx), y_gpu.contiguous());
    check_close(acc_gpu, acc_cpu, is_float ? tol_of(dt) : exact(), "index_add");
    if (!is_float) continue;
    const Tensor g = uniform(y_cpu.shape(), dt, 113);
    y_cpu.backward(g);
    y_gpu.backward(gpu(g));
    check_close(grad_of(x.gpu_leaf, "index_select"), grad_of(x.cpu_leaf, "index_select"), tol_of(dt),
                "index_select grad");
  }
}
