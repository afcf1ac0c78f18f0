// Flow-Attention on CUDA vs the fused CPU kernels (themselves checked against the composite
// oracle in tests/ops/test_flow_attention.cpp): every variant of FlowAttentionOptions,
// forward and all three gradients, float64 and float32; shapes that exercise the kernels'
// edges (D, M > 32 lanes, L not a multiple of the scan chunk, a batch row with no valid key);
// linear memory; and one whole model, forward and backward, on both devices.
//
// Without a GPU every test prints "SKIPPED: ..." and returns.
#include <array>

#include "cuda_testing.h"
#include "flow_attention_cases.h"

using namespace cfx;
using namespace cfx::testing;
using FA = FlowAttentionOptions;
using Case = cfx::testing::FlowCase;

namespace {

// The CPU suite's variants, plus GPU edge shapes.
std::vector<Case> cases() {
  std::vector<Case> all = flow_variant_cases();
  all.insert(all.end(), {
      {"mask, a batch row without keys", 3, 2, 4, 5, 3, 2,
       with(FA::core(), [](FA& o) { o.key_padding_mask = make_mask(3, 5, {2, 0, 5}); })},
      {"wide heads D=40 M=36", 2, 2, 70, 50, 40, 36, FA::core()},
      {"wide heads, lra", 2, 4, 33, 33, 40, 36, FA::lra()},
      {"wide heads, vision, eps 0.1", 2, 2, 50, 50, 40, 36, with(FA::vision(), [](FA& o) { o.eps = 0.1; })},
      {"causal, wide heads, eps after dot (L=100)", 1, 2, 100, 100, 40, 36, with(FA::nlp(), [](FA& o) {
         o.eps_after_dot = true;
         o.eps = 0.1; })},
      {"causal, 4 chunks (L=100), D=40 M=36", 1, 2, 100, 100, 40, 36, FA::nlp()},
      {"causal, long (L=300), narrow", 2, 1, 300, 300, 2, 3, FA::rl()},
      {"causal, whole chunks (L=128, no padding)", 1, 2, 128, 128, 8, 6, FA::nlp()},
      {"causal, many scan chunks (L=4160)", 1, 1, 4160, 4160, 3, 2, FA::rl()},
      // Long enough that the column sums split the rows over several blocks.
      {"long, split column sums (L=1100, S=900)", 1, 2, 1100, 900, 8, 4, FA::core()},
      {"long, split column sums, mask", 2, 1, 700, 1030, 4, 4,
       with(FA::core(), [](FA& o) { o.key_padding_mask = make_mask(2, 1030, {1030, 611}); })},
  });
  return all;
}

// The options with the mask moved to `device`.
FA on(const FA& o, Device device) {
  FA r = o;
  if (o.key_padding_mask.defined()) r.key_padding_mask = o.key_padding_mask.to(device);
  return r;
}

}  // namespace

TEST_CASE("cuda flow_attention == CPU fused kernels, every variant, values and gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat64, kFloat32})
    for (const Case& c : cases()) {
      const std::string what = std::string(c.name) + (dt == kFloat32 ? " f32" : " f64");
      CAPTURE(what);
      // Inputs spread enough that sigmoid is not flat and the clamp is active for some sources.
      Pair q = pair_of(uniform({c.B, c.H, c.L, c.D}, dt, 200, -2, 2));
      Pair k = pair_of(uniform({c.B, c.H, c.S, c.D}, dt, 201, -2, 2));
      Pair v = pair_of(uniform({c.B, c.H, c.S, c.M}, dt, 202, -1, 1));
      Tensor y_cpu = flow_attention(q.cpu, k.cpu, v.cpu, c.opts);
      Tensor y_gpu = flow_attention(q.gpu, k.gpu, v.gpu, on(c.opts, kGpu));
      // float32: reductions over L run in another order on each device; the backward has
      // cancellations (softmax, 1/u) that amplify them, hence atol relative to max |ref|.
      const Tol tol = dt == kFloat64 ? Tol{1e-10, 1e-9, true} : Tol{2e-4, 1e-3, true};
      check_close(y_gpu, y_cpu, tol, what + " y");
      const Tensor g = uniform(y_cpu.shape(), dt, 203);
      y_cpu.backward(g);
      y_gpu.backward(gpu(g));
      check_close(grad_of(q.gpu_leaf, what), grad_of(q.cpu_leaf, what), tol, what + " grad q");
      check_close(grad_of(k.gpu_leaf, what), grad_of(k.cpu_leaf, what), tol, what + " grad k");
      check_close(grad_of(v.gpu_leaf, what), grad_of(v.cpu_leaf, what), tol, what + " grad v");
    }
}

TEST_CASE("cuda flow_attention: only the needed gradients, strided inputs, inference without a state") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    const FA opts = with(FA::core(), [&](FA& o) { o.causal = causal; });
    // Head-split views [B,L,H,D] -> [B,H,L,D], as the attention module passes them.
    auto heads = [](const Tensor& t) { return t.permute({0, 2, 1, 3}); };
    Pair q = pair_of(uniform({2, 9, 3, 4}, kFloat64, 210, -2, 2), heads);
    Pair k = pair_of(uniform({2, 9, 3, 4}, kFloat64, 211, -2, 2), heads, false);  // no grad for k
    Pair v = pair_of(uniform({2, 9, 3, 5}, kFloat64, 212), heads);
    Tensor y_cpu = flow_attention(q.cpu, k.cpu, v.cpu, opts), y_gpu = flow_attention(q.gpu, k.gpu, v.gpu, opts);
    check_close(y_gpu, y_cpu, Tol{1e-10, 1e-9, true}, "strided y");
    const Tensor g = uniform(y_cpu.shape(), kFloat64, 213);
    y_cpu.backward(g);
    y_gpu.backward(gpu(g));
    check_close(grad_of(q.gpu_leaf, "q"), grad_of(q.cpu_leaf, "q"), Tol{1e-10, 1e-9, true}, "grad q");
    check_close(grad_of(v.gpu_leaf, "v"), grad_of(v.cpu_leaf, "v"), Tol{1e-10, 1e-9, true}, "grad v");
    CHECK(!k.gpu_leaf.grad().defined());
    NoGradGuard no_grad;  // inference: the kernel gets no state to fill
    check_close(flow_attention(q.gpu, k.gpu, v.gpu, opts), y_cpu, Tol{1e-10, 1e-9, true}, "inference y");
  }
}

TEST_CASE("cuda flow_attention of an empty batch is empty, forward and backward") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    Tensor q = zeros({0, 2, 5, 4}, {kFloat32, kGpu}).requires_grad_();
    Tensor k = zeros({0, 2, 5, 4}, {kFloat32, kGpu}).requires_grad_();
    Tensor v = zeros({0, 2, 5, 3}, {kFloat32, kGpu}).requires_grad_();
    Tensor y = flow_attention(q, k, v, with(FA::core(), [&](FA& o) { o.causal = causal; }));
    CHECK(y.shape() == Shape{0, 2, 5, 3});
    y.backward(zeros({0, 2, 5, 3}, {kFloat32, kGpu}));
    CHECK(q.grad().shape() == q.shape());
  }
}

TEST_CASE("cuda flow_attention keeps memory linear in L (no L x L, no L x D x M)") {
  CFX_REQUIRE_CUDA_OR_SKIP();
#if CONFLUX_WITH_CUDA
  const int64_t L = 8192, D = 16, M = 16;
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    Tensor q = gpu(uniform({1, 1, L, D}, kFloat32, 220)).requires_grad_();
    Tensor k = gpu(uniform({1, 1, L, D}, kFloat32, 221)).requires_grad_();
    Tensor v = gpu(uniform({1, 1, L, M}, kFloat32, 222)).requires_grad_();
    cuda::synchronize();
    cuda::reset_peak_memory();
    const int64_t base = cuda::memory_stats().allocated;
    Tensor y = flow_attention(q, k, v, with(FA::core(), [&](FA& o) { o.causal = causal; }));
    y.sum().backward();
    const int64_t used = cuda::memory_stats().peak_allocated - base;
    const int64_t inputs = (2 * L * D + L * M) * 4;
    CHECK_MESSAGE(used < 16 * inputs, "peak ", used, " bytes for inputs of ", inputs, " bytes");
    CHECK(used < L * L * 4 / 8);  // an L x L float32 score matrix would be 256 MiB
  }
#endif
}

TEST_CASE("cuda: a Flowformer classifier gives the CPU's logits, loss and gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (bool lra : {false, true}) {
    CAPTURE(lra);
    nn::FlowformerClassifierConfig cfg = nn::FlowformerClassifierConfig::lra_listops();
    cfg.max_len = 24;
    cfg.n_layers = 2;
    cfg.layer.d_model = 16;
    cfg.layer.d_qkv = 16;
    cfg.layer.n_heads = 2;
    cfg.layer.d_ff = 32;
    if (!lra) cfg.layer.flow = FA::core();
    Generator g_cpu(5), g_gpu(5);
    nn::FlowformerClassifier cpu_model(cfg, &g_cpu), gpu_model(cfg, &g_gpu);
    gpu_model.to(kGpu);
    cpu_model.eval();  // no dropout: the two runs must see the same function
    gpu_model.eval();
    Generator tokens_gen(6);
    const Tensor tokens = randint(1, 17, {3, 24}, {kInt64}, &tokens_gen);
    const Tensor labels = tensor(std::vector<int64_t>{1, 7, 3}, {3});
    Tensor logits_cpu = cpu_model.forward(tokens), logits_gpu = gpu_model.forward(gpu(tokens));
    check_close(logits_gpu, logits_cpu, Tol{1e-4, 1e-4, true}, "logits");
    Tensor loss_cpu = cross_entropy(logits_cpu, labels), loss_gpu = cross_entropy(logits_gpu, gpu(labels));
    check_close(loss_gpu, loss_cpu, Tol{1e-5, 1e-5}, "loss");
    loss_cpu.backward();
    loss_gpu.backward();
    const auto params_cpu = cpu_model.named_parameters(), params_gpu = gpu_model.named_parameters();
    REQUIRE(params_cpu.size() == params_gpu.size());
    for (size_t i = 0; i < params_cpu.size(); ++i) {
      const std::string& name = params_cpu[i].first;
      CHECK(params_gpu[i].first == name);
      CHECK(params_gpu[i].second.device() == kGpu);
      check_close(grad_of(params_gpu[i].second, name), grad_of(params_cpu[i].second, name), Tol{1e-4, 1e-3, true},
                  "grad " + name);
    }
  }
}

TEST_CASE("cuda flow_attention_step == CPU step == the full causal forward, every causal variant") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  NoGradGuard no_grad;
  const std::vector<std::pair<const char*, FA>> variants = {
      {"clamp 1", with(FA::core(), [](FA& o) { o.causal = true; })},
      {"clamp 5 (nlp)", FA::nlp()},
      {"clamp 10 (rl)", FA::rl()},
      {"no clamp", with(FA::nlp(), [](FA& o) { o.clamp = std::nullopt; })},
      {"relu+eps map", with(FA::nlp(), [](FA& o) { o.feature_map = FA::FeatureMap::ReluEps; })},
      {"eps after dot (cv), eps 0.1", with(FA::nlp(), [](FA& o) {
         o.eps_after_dot = true;
         o.eps = 0.1; })},
  };
  // D = 150 > the kernel's 128 threads (two strides over D), D*M crosses the block many times.
  const std::vector<std::array<int64_t, 5>> shapes = {{2, 3, 40, 5, 4}, {1, 2, 9, 150, 7}};
  for (DType dt : {kFloat64, kFloat32})
    for (const auto& [B, H, L, D, M] : shapes)
      for (const auto& [name, opts] : variants) {
        const std::string what = std::string(name) + (dt == kFloat32 ? " f32 D=" : " f64 D=") + std::to_string(D);
        CAPTURE(what);
        const Tensor q = uniform({B, H, L, D}, dt, 300, -2, 2), k = uniform({B, H, L, D}, dt, 301, -2, 2);
        const Tensor v = uniform({B, H, L, M}, dt, 302, -1, 1);
        auto cpu_state = FlowAttentionStepState::zeros(B, H, D, M, dt);
        auto gpu_state = FlowAttentionStepState::zeros(B, H, D, M, dt, kGpu);
        std::vector<Tensor> y_cpu, y_gpu;
        for (int64_t start = 0, c = 0; start < L; ++c) {  // chunks of 1, 3, 5, 7, 1, ... tokens
          const int64_t len = std::min(1 + 2 * (c % 4), L - start);
          y_cpu.push_back(flow_attention_step(q.narrow(2, start, len), k.narrow(2, start, len),
                                              v.narrow(2, start, len), cpu_state, opts));
          y_gpu.push_back(flow_attention_step(gpu(q.narrow(2, start, len)), gpu(k.narrow(2, start, len)),
                                              gpu(v.narrow(2, start, len)), gpu_state, opts).to(Device::cpu()));
          start += len;
        }
        const Tensor ref = flow_attention(q, k, v, opts).to(kFloat64);
        const double tol = (dt == kFloat64 ? 1e-12 : 1e-5) * (1 + max_abs_diff(ref, zeros_like(ref)));
        const Tensor got_gpu = cat(y_gpu, 2).to(kFloat64), got_cpu = cat(y_cpu, 2).to(kFloat64);
        CHECK(max_abs_diff(got_gpu, ref) <= tol);
        CHECK(max_abs_diff(got_gpu, got_cpu) <= tol);
        CHECK(gpu_state.position == L);
        CHECK(max_abs_diff(gpu_state.kv.to(Device::cpu()).to(kFloat64), cpu_state.kv.to(kFloat64)) <= tol);
        CHECK(max_abs_diff(gpu_state.competition_sum.to(Device::cpu()).to(kFloat64),
                           cpu_state.competition_sum.to(kFloat64)) <=
              tol * (1 + max_abs_diff(cpu_state.competition_sum, zeros_like(cpu_state.competition_sum))));
      }
}
