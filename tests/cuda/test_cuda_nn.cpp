// Training on the GPU: Module::to(cuda) moves every parameter and buffer, the optimizers step
// on device (their generic tensor-op path) to the values the CPU's fused loops reach,
// clip_grad_norm_ reads a device norm, and HDF5 checkpoints cross devices both ways.
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
  for (int which : {0, 1}) {
    CAPTURE(which);
    Generator g_cpu(2), g_gpu(2);
    nn::FlowformerClassifier cpu_model(tiny_config(), &g_cpu), gpu_model(tiny_config(), &g_gpu);
    gpu_model.to(kGpu);
    cpu_model.eval();
    gpu_model.eval();
    std::unique_ptr<nn::Optimizer> cpu_opt, gpu_opt;
    if (which == 0) {
      const nn::SGDOptions o{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true};
      cpu_opt = std::make_unique<nn::SGD>(cpu_model.parameters(), o);
      gpu_opt = std::make_unique<nn::SGD>(gpu_model.parameters(), o);
    } else {
      const nn::AdamOptions o{.lr = 1e-2, .weight_decay = 0.01};
      cpu_opt = std::make_unique<nn::AdamW>(cpu_model.parameters(), o);
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
