// Training on the GPU: Module::to(cuda) moves every parameter and buffer, the optimizers step
// on device (fused kernels of cuda/optim.cu and the tensor-op path alike) to the values the
// CPU's fused kernels reach, clip_grad_norm_ reads a device norm (also over parameters on two
// devices), and HDF5 checkpoints cross devices both ways.
//
// Without a GPU every test prints "SKIPPED: ..." and returns.
#include <filesystem>

#include "cuda_testing.h"

using namespace cfx;
using namespace cfx::testing;

namespace {

nn::FlowformerClassifierConfig tiny_config() {
  nn::FlowformerClassifierConfig cfg = nn::FlowformerClassifierConfig::lra_listops();
  cfg.max_len = 12;
  cfg.n_layers = 1;
  cfg.layer.d_model = 16;
  cfg.layer.d_qkv = 16;
  cfg.layer.n_heads = 2;
  cfg.layer.d_ff = 32;
  return cfg;
}

// One eval-mode step (no dropout, so both devices compute the same function).
void train_step(nn::FlowformerClassifier& model, nn::Optimizer& opt, const Tensor& tokens, const Tensor& labels,
                double max_norm, double* norm) {
  opt.zero_grad();
  Tensor loss = cross_entropy(model.forward(tokens), labels);
  loss.backward();
  *norm = nn::clip_grad_norm_(model.parameters(), max_norm);
  opt.step();
}

void check_same_parameters(const nn::Module& gpu_model, const nn::Module& cpu_model, Tol tol, const std::string& what) {
  const auto g = gpu_model.named_parameters(), c = cpu_model.named_parameters();
  REQUIRE(g.size() == c.size());
  for (size_t i = 0; i < g.size(); ++i) check_close(g[i].second, c[i].second, tol, what + " " + c[i].first);
}

}  // namespace

TEST_CASE("cuda: Module::to moves parameters and buffers, drops gradients, and comes back") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  Generator gen(1);
  nn::FlowformerClassifier model(tiny_config(), &gen);
  const nn::StateDict before = model.state_dict();
  model.parameters()[0].set_grad(zeros_like(model.parameters()[0]));
  model.to(kGpu);
  for (const auto& [name, p] : model.named_parameters()) {
    CHECK_MESSAGE(p.device() == kGpu, name);
    CHECK_MESSAGE(p.requires_grad(), name);
    CHECK_MESSAGE(!p.grad().defined(), name);
  }
  for (const auto& [name, b] : model.named_buffers()) CHECK_MESSAGE(b.device() == kGpu, name);
  model.to(Device::cpu());
  const nn::StateDict after = model.state_dict();
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < after.size(); ++i) check_close(after[i].second, before[i].second, exact(), after[i].first);
}

TEST_CASE("cuda: SGD and AdamW step on the GPU to the CPU's parameters, clip_grad_norm_ included") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const Tensor tokens = [] {
    Generator g(3);
    return randint(1, 17, {4, 12}, {kInt64}, &g);
  }();
  const Tensor labels = tensor(std::vector<int64_t>{0, 3, 9, 2}, {4});
  // The CPU always takes its fused kernel; the GPU both its fused kernel and the tensor-op path.
  for (int which : {0, 1}) for (bool gpu_fused : {true, false}) {
    CAPTURE(which);
    CAPTURE(gpu_fused);
    Generator g_cpu(2), g_gpu(2);
    nn::FlowformerClassifier cpu_model(tiny_config(), &g_cpu), gpu_model(tiny_config(), &g_gpu);
    gpu_model.to(kGpu);
    cpu_model.eval();
    gpu_model.eval();
    std::unique_ptr<nn::Optimizer> cpu_opt, gpu_opt;
    if (which == 0) {
      nn::SGDOptions o{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true};
      cpu_opt = std::make_unique<nn::SGD>(cpu_model.parameters(), o);
      o.fused = gpu_fused;
      gpu_opt = std::make_unique<nn::SGD>(gpu_model.parameters(), o);
    } else {
      nn::AdamOptions o{.lr = 1e-2, .weight_decay = 0.01};
      cpu_opt = std::make_unique<nn::AdamW>(cpu_model.parameters(), o);
      o.fused = gpu_fused;
      gpu_opt = std::make_unique<nn::AdamW>(gpu_model.parameters(), o);
    }
    for (int step = 0; step < 3; ++step) {
      CAPTURE(step);
      double norm_cpu = 0, norm_gpu = 0;
      train_step(cpu_model, *cpu_opt, tokens, labels, 0.5, &norm_cpu);
      train_step(gpu_model, *gpu_opt, gpu(tokens), gpu(labels), 0.5, &norm_gpu);
      CHECK(norm_gpu == doctest::Approx(norm_cpu).epsilon(1e-4));
      check_same_parameters(gpu_model, cpu_model, Tol{1e-4, 1e-3, true}, "after step");
    }
    for (const auto& [key, t] : gpu_opt->state_dict())
      if (key.find(".step") == std::string::npos && key.find("param_groups") == std::string::npos)
        CHECK_MESSAGE(t.device() == kGpu, key);  // optimizer state lives beside its parameter
  }
}

// The update math alone: the same parameters and gradients on both devices, 3 steps, every
// optimiser variant, float32 and float64. The fused kernels compute in double on both
// devices, so they agree to the storage type's rounding; the GPU's tensor-op path computes
// in the parameter's dtype (float32 ops), hence its looser float32 tolerance.
TEST_CASE("cuda: fused optimiser kernels and the tensor-op path match the CPU on fixed gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  struct Variant {
    const char* name;
    std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>, bool fused)> make;
  };
  const std::vector<Variant> variants = {
      {"SGD", [](std::vector<Tensor> ps, bool f) {
         return std::make_unique<nn::SGD>(std::move(ps), nn::SGDOptions{.lr = 0.1, .fused = f});
       }},
      {"SGD momentum + dampening + weight decay", [](std::vector<Tensor> ps, bool f) {
         const nn::SGDOptions o{.lr = 0.1, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01, .fused = f};
         return std::make_unique<nn::SGD>(std::move(ps), o);
       }},
      {"SGD nesterov", [](std::vector<Tensor> ps, bool f) {
         return std::make_unique<nn::SGD>(std::move(ps),
                                          nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true, .fused = f});
       }},
      {"Adam (L2)", [](std::vector<Tensor> ps, bool f) {
         return std::make_unique<nn::Adam>(std::move(ps), nn::AdamOptions{.lr = 1e-2, .weight_decay = 0.1, .fused = f});
       }},
      {"AdamW", [](std::vector<Tensor> ps, bool f) {
         const nn::AdamOptions o{.lr = 1e-2, .beta2 = 0.99, .weight_decay = 0.1, .fused = f};
         return std::make_unique<nn::AdamW>(std::move(ps), o);
       }},
  };
  // 1000 elements: more than one block of 256 threads; 3 x 5: a parameter shaped like a matrix.
  for (DType dt : {kFloat32, kFloat64})
    for (const Variant& var : variants)
      for (bool gpu_fused : {true, false}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(var.name);
        CAPTURE(gpu_fused);
        std::vector<Tensor> cpu_ps = {uniform({1000}, dt, 1).requires_grad_(), uniform({3, 5}, dt, 2).requires_grad_()};
        std::vector<Tensor> gpu_ps;
        for (const Tensor& p : cpu_ps) gpu_ps.push_back(gpu(p).requires_grad_());
        auto cpu_opt = var.make(cpu_ps, true), gpu_opt = var.make(gpu_ps, gpu_fused);
        for (int step = 0; step < 3; ++step) {
          CAPTURE(step);
          for (size_t i = 0; i < cpu_ps.size(); ++i) {
            const Tensor g = uniform(cpu_ps[i].shape(), dt, 100 + 10 * step + i);
            cpu_ps[i].set_grad(g);
            gpu_ps[i].set_grad(gpu(g));
          }
          cpu_opt->step();
          gpu_opt->step();
          const Tol tol = dt == kFloat64 ? Tol{1e-14, 1e-13} : gpu_fused ? Tol{1e-7, 1e-6} : Tol{1e-6, 1e-5};
          for (size_t i = 0; i < cpu_ps.size(); ++i) check_close(gpu_ps[i], cpu_ps[i], tol, "parameter");
          for (const auto& [key, t] : cpu_opt->state_dict()) {
            if (key.find(".step") != std::string::npos || key.find("param_groups") != std::string::npos) continue;
            for (const auto& [gkey, gt] : gpu_opt->state_dict())
              if (gkey == key) check_close(gt, t, tol, key);
          }
        }
      }
}

TEST_CASE("cuda: a strided parameter on the GPU steps through the tensor-op path even when fused") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const Tensor base = uniform({4, 6}, kFloat32, 5);
  Tensor cpu_p = transposed(base.clone()).requires_grad_();
  Tensor gpu_p = transposed(gpu(base)).requires_grad_();
  REQUIRE(!gpu_p.is_contiguous());
  nn::AdamW cpu_opt(std::vector<Tensor>{cpu_p}, nn::AdamOptions{.lr = 1e-2, .weight_decay = 0.1});
  nn::AdamW gpu_opt(std::vector<Tensor>{gpu_p}, nn::AdamOptions{.lr = 1e-2, .weight_decay = 0.1});
  for (int step = 0; step < 3; ++step) {
    const Tensor g = uniform({6, 4}, kFloat32, 50 + step);
    cpu_p.set_grad(g);
    gpu_p.set_grad(gpu(g));
    cpu_opt.step();
    gpu_opt.step();
    check_close(gpu_p, cpu_p, Tol{1e-6, 1e-5}, "strided parameter");
  }
}

TEST_CASE("cuda: clip_grad_norm_ over parameters on the CPU and the GPU") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  Tensor a = zeros({2}).requires_grad_(), b = zeros({1}, {kFloat32, kGpu}).requires_grad_(),
         c = zeros({1}).requires_grad_();
  a.set_grad(tensor(std::vector<float>{3.0f, 0.0f}, {2}));
  b.set_grad(gpu(tensor(std::vector<float>{12.0f}, {1})));
  c.set_grad(tensor(std::vector<float>{4.0f}, {1}));
  CHECK(nn::clip_grad_norm_({a, b, c}, 100.0) == doctest::Approx(13.0));
  CHECK(to_vector<float>(b.grad())[0] == 12.0f);  // below the threshold: untouched
  CHECK(nn::clip_grad_norm_({a, b, c}, 1.0) == doctest::Approx(13.0));
  CHECK(b.grad().device() == kGpu);
  CHECK(to_vector<float>(a.grad())[0] == doctest::Approx(3.0 / 13.0).epsilon(1e-5));
  CHECK(to_vector<float>(b.grad())[0] == doctest::Approx(12.0 / 13.0).epsilon(1e-5));
  CHECK(to_vector<float>(c.grad())[0] == doctest::Approx(4.0 / 13.0).epsilon(1e-5));
}

TEST_CASE("cuda: checkpoints written from the GPU load on the CPU and back") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  const auto path = std::filesystem::temp_directory_path() / "conflux_cuda_checkpoint_test.h5";
  Generator g1(11), g2(12), g3(13);
  nn::FlowformerClassifier gpu_model(tiny_config(), &g1), cpu_model(tiny_config(), &g2),
      gpu_model2(tiny_config(), &g3);
  gpu_model.to(kGpu);
  gpu_model2.to(kGpu);
  nn::save(gpu_model, path);
  nn::load(cpu_model, path);  // GPU -> file -> CPU
  check_same_parameters(gpu_model, cpu_model, exact(), "gpu->cpu");
  nn::save(cpu_model, path);
  nn::load(gpu_model2, path);  // CPU -> file -> GPU, into tensors that stay on the GPU
  for (const auto& [name, p] : gpu_model2.named_parameters()) CHECK_MESSAGE(p.device() == kGpu, name);
  check_same_parameters(gpu_model2, cpu_model, exact(), "cpu->gpu");
  std::filesystem::remove(path);
}

TEST_CASE("cuda: Batch::to moves every defined tensor and leaves the undefined ones") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  data::Batch b;
  b.inputs = tensor(std::vector<int64_t>{3, 1, 0, 2, 0, 0}, {2, 3});
  b.targets = tensor(std::vector<int64_t>{1, 0}, {2});
  b.mask = ne(b.inputs, zeros_like(b.inputs));
  b.indices = {7, 9};
  const data::Batch g = b.to(kGpu);
  CHECK(g.inputs.device() == kGpu);
  CHECK(g.targets.device() == kGpu);
  CHECK(g.mask.device() == kGpu);
  CHECK(!g.inputs2.defined());
  CHECK(g.indices == b.indices);
  check_close(g.inputs, b.inputs, exact(), "inputs");
  check_close(g.mask, b.mask, exact(), "mask");
}
