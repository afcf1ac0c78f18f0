// The CUDA backend's memory side against the CPU (STYLE.md practice 10 iii): kernel
// registration, missing devices, to(device) and copy_ across devices, layouts and dtypes, fill
// and arange, the Philox random stream, the caching allocator, and device-mixing errors.
// Ops: test_cuda_parity.cpp; Flow-Attention and a whole model: test_cuda_flow_attention.cpp.
//
// Without a GPU (or without the CUDA backend) every test that needs one prints
// "SKIPPED: ..." and returns; the registration and no-device tests run everywhere.
#include <fstream>
#include <map>
#include <regex>

#include "cuda_testing.h"

using namespace cfx;
using namespace cfx::testing;

// ---- runs without a GPU -------------------------------------------------------------------------

TEST_CASE("cuda: every kernel of core/kernels.h has a CUDA entry") {
  // The CUDA and CPU slot of every kernel, by name; the names are then matched against the
  // declarations in core/kernels.h, so a kernel added there without a CUDA twin fails here.
  const Device gpu_device = Device::cuda(), cpu_device = Device::cpu();
  std::map<std::string, std::pair<bool, bool>> slots;
#define CFX_SLOTS(k) slots[#k] = {k.has(gpu_device), k.has(cpu_device)}
  CFX_SLOTS(fill_kernel);
  CFX_SLOTS(copy_kernel);
  CFX_SLOTS(arange_kernel);
  CFX_SLOTS(uniform_kernel);
  CFX_SLOTS(normal_kernel);
  CFX_SLOTS(unary_kernel);
  CFX_SLOTS(unary_backward_kernel);
  CFX_SLOTS(binary_kernel);
  CFX_SLOTS(where_kernel);
  CFX_SLOTS(reduce_kernel);
  CFX_SLOTS(argmax_kernel);
  CFX_SLOTS(cumsum_kernel);
  CFX_SLOTS(softmax_kernel);
  CFX_SLOTS(softmax_backward_kernel);
  CFX_SLOTS(bmm_kernel);
  CFX_SLOTS(layer_norm_kernel);
  CFX_SLOTS(layer_norm_backward_kernel);
  CFX_SLOTS(index_select_kernel);
  CFX_SLOTS(index_add_kernel);
  CFX_SLOTS(cross_entropy_kernel);
  CFX_SLOTS(cross_entropy_backward_kernel);
  CFX_SLOTS(flow_attention_kernel);
  CFX_SLOTS(flow_attention_backward_kernel);
  CFX_SLOTS(flow_attention_step_kernel);
  CFX_SLOTS(sgd_step_kernel);
  CFX_SLOTS(adam_step_kernel);
#undef CFX_SLOTS
  std::ifstream header(std::string(CONFLUX_SOURCE_DIR) + "/core/kernels.h");
  REQUIRE_MESSAGE(header.good(), "cannot read core/kernels.h under ", CONFLUX_SOURCE_DIR);
  const std::string text((std::istreambuf_iterator<char>(header)), std::istreambuf_iterator<char>());
  const std::regex declaration(R"(\nCFX_DECLARE_KERNEL\((\w+))");
  size_t declared = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), declaration); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    ++declared;
    CHECK_MESSAGE(slots.count(name), name, " is declared in core/kernels.h but not listed in this test");
    CHECK_MESSAGE(slots[name].second, name, " has no CPU entry");
    if (kBuiltWithCuda) CHECK_MESSAGE(slots[name].first, name, " has no CUDA entry");
  }
  CHECK(declared == slots.size());
  if (!kBuiltWithCuda) MESSAGE("SKIPPED (CUDA entries): Conflux was built without the CUDA backend");
}

TEST_CASE("cuda: a device that is not there gives a cfx::Error, not a crash") {
  // cuda:N with N = the device count never exists: no GPU, no backend, or one past the last.
  const Device missing = Device::cuda(cuda::device_count());
  CHECK_THROWS_AS(zeros({2, 3}, {kFloat32, missing}), Error);
  CHECK_THROWS_AS(tensor(std::vector<float>{1, 2}, {2}).to(missing), Error);
}

// ---- memory: copies, to(device), fill, arange, random ------------------------------------------

TEST_CASE("cuda: to(device) round trip is exact for every dtype, and to_device is differentiable") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64, kInt32, kInt64, kUInt8, kBool}) {
    CAPTURE(dtype_name(dt));
    const Tensor x = uniform({3, 5, 7}, kFloat64, 1, 0, 5).to(dt);
    check_close(gpu(x).cpu(), x, exact(), "round trip");
    check_close(gpu(transposed(x)).cpu(), transposed(x).contiguous(), exact(), "round trip of a strided view");
    check_close(gpu(x).select(1, 2).cpu(), x.select(1, 2).contiguous(), exact(), "device view back to host");
  }
  Tensor x = uniform({4}, kFloat64, 2).requires_grad_();
  (x.to(kGpu) * 3.0).sum().backward();
  CHECK(x.grad().device() == Device::cpu());
  check_close(x.grad(), full({4}, 3.0, {kFloat64}), exact(), "gradient through to(cuda)");
}

TEST_CASE("cuda: copy converts every dtype pair like the CPU (device copy, strided, broadcast)") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const std::vector<DType> all = {kFloat32, kFloat64, kInt32, kInt64, kUInt8, kBool};
  // Non-negative values: float -> uint8 of a negative number is undefined behaviour in C++.
  const Tensor base = (uniform({4, 6}, kFloat64, 3, 0, 9) * 2.0);
  for (DType from : all)
    for (DType to : all) {
      CAPTURE(dtype_name(from));
      CAPTURE(dtype_name(to));
      const Tensor src = base.to(from);
      check_close(gpu(src).to(to), src.to(to), exact(), "device dtype conversion");
      check_close(transposed(gpu(src)).to(to), transposed(src).to(to), exact(), "strided device conversion");
    }
  // copy_ with a broadcast CPU source into a strided GPU view, converting float64 -> float32.
  Tensor dst_gpu = zeros({6, 4}, {kFloat32, kGpu});
  Tensor dst_cpu = zeros({6, 4}, {kFloat32});
  const Tensor row = uniform({6, 1}, kFloat64, 4);
  {
    NoGradGuard no_grad;
    Tensor view_gpu = transposed(dst_gpu), view_cpu = transposed(dst_cpu);  // [4, 6] views
    view_gpu.copy_(row.view({6}));
    view_cpu.copy_(row.view({6}));
  }
  check_close(dst_gpu, dst_cpu, exact(), "host -> strided device copy_ with broadcast");
  // And back: a strided CPU destination from a broadcast GPU source of another dtype.
  Tensor host = zeros({5, 3}, {kFloat64});
  {
    NoGradGuard no_grad;
    Tensor host_view = transposed(host);  // [3, 5]
    host_view.copy_(gpu(uniform({1, 5}, kFloat32, 5)));
  }
  Tensor expect = zeros({5, 3}, {kFloat64});
  {
    NoGradGuard no_grad;
    Tensor expect_view = transposed(expect);
    expect_view.copy_(uniform({1, 5}, kFloat32, 5));
  }
  check_close(host, expect, exact(), "device -> strided host copy_ with broadcast");
  // cat, stack and chunk go through copy_kernel on the device too.
  const Tensor a = uniform({2, 3}, kFloat32, 6), b = uniform({4, 3}, kFloat32, 7);
  check_close(cat({gpu(a), gpu(b)}, 0), cat({a, b}, 0), exact(), "cat");
  check_close(stack({gpu(a), gpu(a)}, 1), stack({a, a}, 1), exact(), "stack");
}

TEST_CASE("cuda: fill, full, arange for every dtype") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64, kInt32, kInt64, kUInt8, kBool}) {
    CAPTURE(dtype_name(dt));
    check_close(full({3, 4}, 2.75, {dt, kGpu}), full({3, 4}, 2.75, {dt}), exact(), "full");
    check_close(arange(0.0, 7.0, 0.5, {dt, kGpu}), arange(0.0, 7.0, 0.5, {dt}), exact(), "arange");
    Tensor g = zeros({4, 5}, {dt, kGpu}), c = zeros({4, 5}, {dt});
    transposed(g).select(0, 1).fill_(1.0);  // a strided fill
    transposed(c).select(0, 1).fill_(1.0);
    check_close(g, c, exact(), "strided fill_");
  }
  check_close(arange(1.0, 2.0, 0.1, {kFloat64, kGpu}), arange(1.0, 2.0, 0.1, {kFloat64}), exact(), "fractional step");
}

TEST_CASE("cuda: rand, randn and dropout draw the CPU's Philox stream") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dt));
    Generator g_cpu(1234), g_gpu(1234);
    for (int draw = 0; draw < 2; ++draw) {  // the generators advance alike (odd sizes included)
      CAPTURE(draw);
      check_close(rand({1001}, {dt, kGpu}, &g_gpu), rand({1001}, {dt}, &g_cpu), exact(), "rand");
      // Box-Muller through the device's log/cos/sin: equal up to their last-ulp differences.
      check_close(randn({3, 333}, {dt, kGpu}, &g_gpu), randn({3, 333}, {dt}, &g_cpu),
                  dt == kFloat64 ? Tol{1e-14, 1e-13} : Tol{1e-6, 1e-6}, "randn");
    }
    Generator d_cpu(9), d_gpu(9);
    const Tensor x = uniform({8, 16}, dt, 10);
    check_close(dropout(gpu(x), 0.3, true, &d_gpu), dropout(x, 0.3, true, &d_cpu), exact(), "dropout");
  }
}

// ---- allocator and errors ---------------------------------------------------------------------------

TEST_CASE("cuda: the caching allocator reuses freed blocks, counts bytes, empties, reports OOM") {
  CFX_REQUIRE_CUDA_OR_SKIP();
#if CONFLUX_WITH_CUDA
  cuda::synchronize();
  cuda::empty_cache();
  const MemoryStats before = cuda::memory_stats();
  CHECK(before.cached == 0);
  void* first = nullptr;
  {
    Tensor a = empty({1000}, {kFloat32, kGpu});  // 4000 bytes -> the 4096 class
    first = a.raw_data();
    const MemoryStats s = cuda::memory_stats();
    CHECK(s.allocated == before.allocated + 4096);
    CHECK(s.peak_allocated >= s.allocated);
  }
  CHECK(cuda::memory_stats().cached == 4096);
  CHECK(cuda::memory_stats().allocated == before.allocated);
  {
    Tensor b = empty({1024}, {kFloat32, kGpu});  // same class: the same block comes back
    CHECK(b.raw_data() == first);
    CHECK(cuda::memory_stats().cached == 0);
  }
  cuda::reset_peak_memory();
  CHECK(cuda::memory_stats().peak_allocated == cuda::memory_stats().allocated);
  cuda::empty_cache();
  CHECK(cuda::memory_stats().cached == 0);
  // Far more than any GPU holds: a cfx::Error after emptying the cache and retrying once.
  CHECK_THROWS_AS(empty({int64_t{1} << 48}, {kFloat32, kGpu}), Error);
  CHECK(zeros({4}, {kFloat32, kGpu}).cpu().sum().item<float>() == 0.0f);  // still usable
#endif
}

TEST_CASE("cuda: mixing devices is an error; item() of a GPU scalar copies it to the host") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const Tensor c = uniform({3, 4}, kFloat32, 120), g = gpu(c);
  CHECK_THROWS_AS(add(c, g), Error);
  CHECK_THROWS_AS(matmul(c, transposed(g)), Error);
  CHECK_THROWS_AS(where(gt(c, c), g, g), Error);
  CHECK_THROWS_AS(cross_entropy(g, tensor(std::vector<int64_t>{0, 1, 2}, {3})), Error);
  CHECK(sum(g).item<float>() == doctest::Approx(sum(c).item<float>()).epsilon(1e-5));
  CHECK_THROWS_AS(g.item<float>(), Error);  // 12 elements, not one
}
