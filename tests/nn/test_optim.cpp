// Optimisers against hand-computed updates (3 steps, fixed gradients), the fused CPU kernels
// against the tensor-op path, parameter groups, clip_grad_norm_, optimiser state dicts,
// and the schedulers against their closed forms.
//
// Expected numbers: p0 = [1, -2], gradients g1 = [0.5, 1], g2 = [-0.3, 0.2], g3 = [0.1, -0.4],
// worked through the update equations of nn/optim.h in double precision.
#include <cmath>

#include "testing.h"

using namespace cfx;
using namespace cfx::nn;

namespace {

const std::vector<std::vector<double>> kGrads = {{0.5, 1.0}, {-0.3, 0.2}, {0.1, -0.4}};

// Runs 3 steps of `opt` on p (float64) with the fixed gradients; returns p after each step.
template <class Opt, class Options>
std::vector<std::vector<double>> run3(const Options& o, DType dtype = kFloat64) {
  Tensor p = tensor(std::vector<double>{1.0, -2.0}, {2}).to(dtype).requires_grad_();
  Opt opt(std::vector<Tensor>{p}, o);
  std::vector<std::vector<double>> out;
  for (const auto& g : kGrads) {
    p.set_grad(tensor(g, {2}).to(dtype));
    opt.step();
    out.push_back(to_vector<double>(p));
  }
  return out;
}

void check_steps(const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& want,
                 double tol = 1e-10) {
  REQUIRE(got.size() == want.size());
  for (size_t s = 0; s < got.size(); ++s)
    for (size_t i = 0; i < 2; ++i) CHECK_MESSAGE(std::abs(got[s][i] - want[s][i]) <= tol, "step ", s + 1, " element ", i, ": got ", got[s][i], ", expected ", want[s][i]);
}

}  // namespace

TEST_CASE("SGD: plain, momentum + weight decay, nesterov, dampening (hand-computed)") {
  for (bool fused : {true, false}) {
    SGDOptions o;
    o.lr = 0.1;
    o.fused = fused;
    check_steps(run3<SGD>(o), {{0.95, -2.1}, {0.98, -2.12}, {0.97, -2.08}});
    o.momentum = 0.9;
    o.weight_decay = 0.01;
    // step 1: d = g + 0.01 p = [0.51, 0.98], b = d, p = [0.949, -2.098]
    check_steps(run3<SGD>(o), {{0.949, -2.098}, {0.932151, -2.204102}, {0.906054749, -2.257389698}});
    o.weight_decay = 0;
    o.nesterov = true;
    check_steps(run3<SGD>(o), {{0.905, -2.19}, {0.9215, -2.309}, {0.89035, -2.3221}});
    o.nesterov = false;
    o.dampening = 0.5;
    check_steps(run3<SGD>(o), {{0.95, -2.1}, {0.92, -2.2}, {0.888, -2.27}});
  }
  SGDOptions bad;
  bad.nesterov = true;
  CHECK_THROWS_WITH_AS(SGD(std::vector<Tensor>{ones({1}).requires_grad_()}, bad), doctest::Contains("nesterov"), Error);
}

TEST_CASE("Adam (L2) and AdamW (decoupled): hand-computed updates") {
  for (bool fused : {true, false}) {
    AdamOptions o;
    o.lr = 0.1;
    o.weight_decay = 0.1;
    o.fused = fused;
    // Adam step 1: g' = g + 0.1 p = [0.6, 0.8]; m̂ = g', v̂ = g'², so p -= 0.1·sign(g').
    check_steps(run3<Adam>(o), {{0.900000001667, -2.09999999875}, {0.86135299721, -2.16607001986},
                                {0.814717729069, -2.16748709874}});
    // AdamW step 1: p *= 1 - 0.1·0.1 -> [0.99, -1.98], then p -= 0.1·sign(g).
    check_steps(run3<AdamW>(o), {{0.890000002, -2.079999999}, {0.861950198922, -2.13950409574},
                                 {0.827934178607, -2.15254442988}});
    // float32 parameters take the same path with float32 storage.
    check_steps(run3<AdamW>(o, kFloat32), {{0.89, -2.08}, {0.8619502, -2.1395041}, {0.8279342, -2.1525444}}, 2e-6);
  }
}

TEST_CASE("RAdam (the UEA recipe's): SGD-momentum steps while rho < 5, then rectified Adam") {
  // Reference: the official update (LiyuanLucasLiu's RAdam, as mvts_transformer ships it)
  // run in double precision in Python over these 8 gradients; rho_t reaches 5 at step 6.
  const std::vector<std::vector<double>> grads = {{0.5, 1.0}, {-0.3, 0.2}, {0.1, -0.4},  {0.7, 0.05},
                                                  {-0.2, -0.6}, {0.4, 0.3}, {-0.1, 0.9}, {0.25, -0.35}};
  auto run8 = [&](const RAdamOptions& o) {
    Tensor p = tensor(std::vector<double>{1.0, -2.0}, {2}).requires_grad_();
    RAdam opt(std::vector<Tensor>{p}, o);
    std::vector<std::vector<double>> out;
    for (const auto& g : grads) {
      p.set_grad(tensor(g, {2}));
      opt.step();
      out.push_back(to_vector<double>(p));
    }
    return out;
  };
  auto check8 = [](const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& want) {
    for (size_t s = 0; s < want.size(); ++s)
      for (size_t i = 0; i < 2; ++i)
        CHECK_MESSAGE(std::abs(got[s][i] - want[s][i]) <= 1e-10, "step ", s + 1, ": ", got[s][i], " vs ", want[s][i]);
  };
  RAdamOptions o;
  o.lr = 0.1;
  check8(run8(o), {{0.95, -2.1}, {0.942105263158, -2.15789473684}, {0.933433676442, -2.17966595455},
                   {0.906928878536, -2.19656040061}, {0.891780286316, -2.19467766271}, {0.890511786766, -2.19491995516},
                   {0.88927601539, -2.19609184499}, {0.887567697353, -2.19686593622}});
  o.weight_decay = 0.1;  // decoupled, in both branches
  check8(run8(o), {{0.94, -2.08}, {0.922705263158, -2.11709473684}, {0.90480662381, -2.11769500719},
                   {0.869253759666, -2.11341250317}, {0.845412629849, -2.09039564024}, {0.835690004001, -2.06973397628},
                   {0.826097332585, -2.05020852635}, {0.816128041223, -2.03048053232}});
  o.weight_decay = 0;
  o.degenerated_to_sgd = false;  // no update until rho >= 5
  check8(run8(o), {{1, -2}, {1, -2}, {1, -2}, {1, -2}, {1, -2}, {0.99873150045, -2.00024229245},
                   {0.997495729075, -2.00141418228}, {0.995787411038, -2.00218827351}});
}

TEST_CASE("Optimizers: fused loop equals the tensor-op path on a real model") {
  auto run = [](bool fused) {
    Generator gen(1);
    MLP mlp(6, 16, 3, Activation::GELU, 0, 0, true, &gen);
    AdamOptions o;
    o.lr = 1e-2;
    o.weight_decay = 0.05;
    o.fused = fused;
    AdamW opt(param_groups_no_decay(mlp, 0.05), o);
    Tensor x = randn({8, 6}, {}, &gen);
    for (int s = 0; s < 4; ++s) {
      opt.zero_grad();
      sum(mlp.forward(x) * mlp.forward(x)).backward();
      opt.step();
    }
    return to_vector<double>(mlp.fc1->weight);
  };
  const auto a = run(true), b = run(false);
  for (size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - b[i]) < 1e-6);
}

TEST_CASE("Optimizers: fused kernels equal the tensor-op path on a multi-chunk and a strided parameter") {
  // 100,000 elements: several parallel_for chunks of the CPU kernel (ops/cpu/optim_cpu.cpp).
  // The transposed leaf is not contiguous, so fused = true takes the tensor-op path for it.
  auto run = [](bool fused, bool adam, DType dt) {
    Generator gen(7);
    Tensor big = randn({100000}, {dt}, &gen).requires_grad_();
    Tensor strided = randn({5, 3}, {dt}, &gen).transpose(0, 1).requires_grad_();
    std::vector<Tensor> ps{big, strided};
    std::unique_ptr<Optimizer> opt;
    if (adam)
      opt = std::make_unique<Adam>(ps, AdamOptions{.lr = 1e-2, .weight_decay = 0.1, .fused = fused});
    else
      opt = std::make_unique<SGD>(
          ps, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01, .fused = fused});
    for (int s = 0; s < 3; ++s) {
      for (Tensor& p : ps) p.set_grad(randn(p.shape(), {dt}, &gen));
      opt->step();
    }
    return std::pair{to_vector<double>(big), to_vector<double>(strided)};
  };
  for (DType dt : {kFloat32, kFloat64})
    for (bool adam : {false, true}) {
      CAPTURE(dtype_name(dt));
      CAPTURE(adam);
      const auto [a_big, a_str] = run(true, adam, dt);
      const auto [b_big, b_str] = run(false, adam, dt);
      const double tol = dt == kFloat64 ? 1e-12 : 1e-5;
      double worst = 0;
      for (size_t i = 0; i < a_big.size(); ++i) worst = std::max(worst, std::abs(a_big[i] - b_big[i]));
      CHECK(worst < tol);
      CHECK(a_str == b_str);  // both took the tensor-op path
    }
}

TEST_CASE("Optimizers: parameters without a gradient are skipped; zero_grad") {
  Tensor p = ones({2}).requires_grad_(), q = ones({2}).requires_grad_();
  SGD opt(std::vector<Tensor>{p, q}, SGDOptions{0.5});
  p.set_grad(full({2}, 1.0));
  opt.step();
  CHECK(to_vector<float>(p) == std::vector<float>{0.5f, 0.5f});
  CHECK(to_vector<float>(q) == std::vector<float>{1.0f, 1.0f});
  opt.zero_grad();
  CHECK(!p.grad().defined());
}

TEST_CASE("param_groups_no_decay: no weight decay on biases, norms and named skips") {
  FlowformerClassifierConfig c = FlowformerClassifierConfig::lra_image();
  c.max_len = 8;
  c.layer.d_model = 8;
  c.layer.d_qkv = 8;
  c.layer.n_heads = 2;
  c.layer.d_ff = 16;
  c.head_hidden = 16;
  FlowformerClassifier model(c);
  auto groups = param_groups_no_decay(model, 0.05, {"pos_embed.weight", "cls_token"});
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].weight_decay == 0.05);
  CHECK(groups[1].weight_decay == 0.0);
  size_t total = groups[0].params.size() + groups[1].params.size();
  CHECK(total == model.parameters().size());
  auto in_group = [&](const Tensor& t, int g) {
    for (const Tensor& p : groups[g].params)
      if (p.unsafe_impl() == t.unsafe_impl()) return true;
    return false;
  };
  CHECK(in_group(model.embed->weight, 0));
  CHECK(in_group(model.head_fc1->weight, 0));
  CHECK(in_group(model.head_fc1->bias, 1));
  CHECK(in_group(model.norm->weight, 1));
  CHECK(in_group(model.learned_pos->weight, 1));
  CHECK(in_group(model.cls_token, 1));
  // Groups keep their own weight decay through the optimiser.
  AdamW opt(groups, AdamOptions{1e-3});
  CHECK(opt.param_groups()[0].weight_decay == 0.05);
  CHECK(opt.param_groups()[1].weight_decay == 0.0);
}

TEST_CASE("clip_grad_norm_: global L2 norm, scaling only above max_norm") {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({1}).requires_grad_();
  a.set_grad(tensor(std::vector<float>{3.0f, 0.0f}, {2}));
  b.set_grad(tensor(std::vector<float>{4.0f}, {1}));
  CHECK(clip_grad_norm_({a, b}, 10.0) == doctest::Approx(5.0));
  CHECK(to_vector<float>(a.grad())[0] == 3.0f);  // below the threshold: untouched
  CHECK(clip_grad_norm_({a, b}, 1.0) == doctest::Approx(5.0));
  CHECK(to_vector<float>(a.grad())[0] == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(to_vector<float>(b.grad())[0] == doctest::Approx(0.8).epsilon(1e-5));
  const double after = std::sqrt(std::pow(to_vector<float>(a.grad())[0], 2) + std::pow(to_vector<float>(b.grad())[0], 2));
  CHECK(after == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("Optimizer state_dict: PyTorch numbering, round trip, errors name the key") {
  Tensor p = ones({2}).requires_grad_(), q = ones({3}).requires_grad_();
  AdamW opt({ParamGroup{{p}, 0.1, std::nullopt}, ParamGroup{{q}, std::nullopt, 0.0}}, AdamOptions{0.01});
  p.set_grad(ones({2}));
  q.set_grad(ones({3}));
  opt.step();
  opt.step();
  const StateDict sd = opt.state_dict();
  std::vector<std::string> keys;
  for (const auto& [k, t] : sd) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "param_groups.0.lr",
                                          "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq", "param_groups.1.lr"});
  CHECK(sd[0].second.item<double>() == 2.0);
  CHECK(sd[3].second.item<double>() == 0.1);

  Tensor p2 = ones({2}).requires_grad_(), q2 = ones({3}).requires_grad_();
  AdamW fresh({ParamGroup{{p2}, 0.1, std::nullopt}, ParamGroup{{q2}, std::nullopt, 0.0}}, AdamOptions{0.01});
  fresh.load_state_dict(sd);
  for (Tensor t : {p, p2}) t.set_grad(full({2}, 0.3));
  for (Tensor t : {q, q2}) t.set_grad(full({3}, -0.2));
  {
    NoGradGuard no_grad;
    p2.copy_(p);
    q2.copy_(q);
  }
  opt.step();
  fresh.step();
  CHECK(testing::max_abs_diff(p, p2) == 0.0);
  CHECK(testing::max_abs_diff(q, q2) == 0.0);

  StateDict wrong = sd;
  wrong[1].second = zeros({5});
  CHECK_THROWS_WITH_AS(fresh.load_state_dict(wrong), doctest::Contains("shape mismatch for 'state.0.exp_avg': checkpoint [5] vs parameter [2]"), Error);
  StateDict extra = sd;
  extra.emplace_back("state.7.exp_avg", zeros({1}));
  CHECK_THROWS_WITH_AS(fresh.load_state_dict(extra), doctest::Contains("unexpected key 'state.7.exp_avg'"), Error);
}

// ---- schedulers ---------------------------------------------------------------------------------

TEST_CASE("Schedules: flax LRA recipes against BENCHMARKS.md 1.3 numbers") {
  // ListOps: 0.005 · min(1, t/1000) / √max(t, 1000)
  Schedule listops = schedule::linear_warmup(1000) * schedule::rsqrt_decay(1000);
  CHECK(0.005 * listops(0) == 0.0);
  CHECK(0.005 * listops(500) == doctest::Approx(0.005 * 0.5 / std::sqrt(1000.0)));
  CHECK(0.005 * listops(1000) == doctest::Approx(1.58e-4).epsilon(1e-2));
  CHECK(0.005 * listops(5000) == doctest::Approx(7.1e-5).epsilon(1e-2));
  // Retrieval never leaves warm-up: 0.05 (t/8000)/√8000.
  Schedule retrieval = schedule::linear_warmup(8000) * schedule::rsqrt_decay(8000);
  CHECK(0.05 * retrieval(5000) == doctest::Approx(0.05 * 5000.0 / 8000.0 / std::sqrt(8000.0)));
  // Image: warm-up 175 then a cosine over a 35,000-step cycle that restarts.
  Schedule image = schedule::linear_warmup(175) * schedule::cosine_cycles(175, 35000);
  CHECK(image(100) == doctest::Approx(100.0 / 175.0));
  CHECK(image(175) == doctest::Approx(1.0));
  CHECK(image(175 + 17500) == doctest::Approx(0.5));
  CHECK(image(175 + 35000 - 1) == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(image(175 + 35000) == doctest::Approx(1.0));  // flax's p mod 1
}

TEST_CASE("Schedules: fairseq inverse_sqrt, timm cosine, DT warm-up, generic warm-up decays") {
  Schedule inv = schedule::inverse_sqrt(6000, 1e-7 / 1e-3);
  CHECK(1e-3 * inv(0) == doctest::Approx(1e-7));
  CHECK(1e-3 * inv(3000) == doctest::Approx(1e-7 + (1e-3 - 1e-7) * 0.5));
  CHECK(1e-3 * inv(6000) == doctest::Approx(1e-3));
  CHECK(1e-3 * inv(24000) == doctest::Approx(0.5e-3));

  const double lr = 7.5e-4;
  Schedule timm = schedule::timm_cosine(5, 1e-6 / lr, 300, 1e-5 / lr);
  CHECK(lr * timm(0) == doctest::Approx(1e-6));
  CHECK(lr * timm(5) == doctest::Approx(1e-5 + 0.5 * (lr - 1e-5) * (1 + std::cos(M_PI * 5 / 300))));
  CHECK(lr * timm(150) == doctest::Approx(1e-5 + 0.5 * (lr - 1e-5)));
  CHECK(lr * timm(300) == doctest::Approx(1e-5));

  Schedule dt = schedule::warmup_constant(10000);
  CHECK(dt(0) == doctest::Approx(1e-4));
  CHECK(dt(9999) == 1.0);
  CHECK(dt(50000) == 1.0);

  Schedule cosine = schedule::warmup_cosine(10, 110, 0.1);
  CHECK(cosine(5) == 0.5);
  CHECK(cosine(10) == doctest::Approx(1.0));
  CHECK(cosine(60) == doctest::Approx(0.55));
  CHECK(cosine(110) == doctest::Approx(0.1));
  CHECK(cosine(500) == doctest::Approx(0.1));
  Schedule lin = schedule::warmup_linear(10, 110);
  CHECK(lin(60) == doctest::Approx(0.5));
  CHECK(lin(200) == 0.0);
  CHECK_THROWS_AS(schedule::warmup_cosine(10, 10), Error);
}

TEST_CASE("Schedules: per_epoch holds an epoch-wise schedule for each epoch's updates") {
  const double lr = 5e-4;
  const Schedule timm = schedule::timm_cosine(5, 1e-6 / lr, 300, 1e-5 / lr);
  const Schedule by_update = schedule::per_epoch(timm, 7);  // 7 updates per epoch
  for (int64_t t = 0; t < 7 * 310; ++t) CHECK(by_update(t) == timm(t / 7));
  CHECK(by_update(6) == timm(0));
  CHECK(by_update(7) == timm(1));
  CHECK(by_update(7) != by_update(6));
  CHECK_THROWS_AS(schedule::per_epoch(timm, 0), Error);
}

TEST_CASE("LRScheduler: scales each group's initial lr, LambdaLR step convention") {
  Tensor p = ones({1}).requires_grad_(), q = ones({1}).requires_grad_();
  SGD opt({ParamGroup{{p}, 0.1, std::nullopt}, ParamGroup{{q}, 0.01, std::nullopt}}, SGDOptions{1.0});
  LRScheduler sched(opt, schedule::linear_warmup(4));
  CHECK(sched.last_lr() == std::vector<double>{0.0, 0.0});  // t = 0: the first update has lr 0 (flax)
  sched.step();
  CHECK(sched.current_step() == 1);
  CHECK(sched.last_lr()[0] == doctest::Approx(0.025));
  CHECK(sched.last_lr()[1] == doctest::Approx(0.0025));
  for (int i = 0; i < 10; ++i) sched.step();
  CHECK(opt.param_groups()[0].lr == doctest::Approx(0.1));
  LRScheduler resumed(opt, schedule::linear_warmup(4), 2);
  CHECK(opt.lr() == doctest::Approx(0.05));
}
