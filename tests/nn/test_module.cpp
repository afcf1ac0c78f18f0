// nn::Module: registration, PyTorch-style dotted keys, state dicts, train/eval, zero_grad,
// dtype moves, and the errors of load_state_dict.
#include "testing.h"

using namespace cfx;
using namespace cfx::nn;

namespace {

// A two-level model: keys "proj.weight", "proj.bias", "blocks.0.norm.weight", ..., "scale", "count".
struct Block : Module {
  Block() : Module("Block") {
    norm = register_module("norm", std::make_shared<LayerNorm>(3));
    drop = register_module("drop", std::make_shared<Dropout>(0.5));
  }
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Dropout> drop;
};

struct Net : Module {
  Net() : Module("Net") {
    Generator gen(7);
    proj = register_module("proj", std::make_shared<Linear>(4, 3, true, &gen));
    blocks = register_module("blocks", std::make_shared<ModuleList<Block>>());
    blocks->push_back(std::make_shared<Block>());
    blocks->push_back(std::make_shared<Block>());
    scale = register_parameter("scale", ones({3}));
    count = register_buffer("count", zeros({1}, {kInt64}));
    table = register_buffer("table", ones({2, 3}), /*persistent=*/false);
  }
  Tensor forward(const Tensor& x) const {
    Tensor h = proj->forward(x);
    for (const auto& b : *blocks) h = b->drop->forward(b->norm->forward(h));
    return h * scale;
  }
  std::shared_ptr<Linear> proj;
  std::shared_ptr<ModuleList<Block>> blocks;
  Tensor scale, count, table;
};

std::vector<std::string> keys(const StateDict& sd) {
  std::vector<std::string> out;
  for (const auto& [k, t] : sd) out.push_back(k);
  return out;
}

}  // namespace

TEST_CASE("Module: dotted names in registration order, parents first") {
  Net net;
  const std::vector<std::string> params = {"scale", "proj.weight", "proj.bias", "blocks.0.norm.weight",
                                           "blocks.0.norm.bias", "blocks.1.norm.weight", "blocks.1.norm.bias"};
  CHECK(keys(net.named_parameters()) == params);
  CHECK(keys(net.named_parameters(/*recurse=*/false)) == std::vector<std::string>{"scale"});
  // state_dict: per module its parameters then its persistent buffers ("table" is not saved).
  const std::vector<std::string> state = {"scale", "count", "proj.weight", "proj.bias", "blocks.0.norm.weight",
                                          "blocks.0.norm.bias", "blocks.1.norm.weight", "blocks.1.norm.bias"};
  CHECK(keys(net.state_dict()) == state);
  CHECK(keys(net.named_buffers()) == std::vector<std::string>{"count", "table"});
  CHECK(net.num_parameters() == 3 + 12 + 3 + 4 * 3);
  CHECK(net.proj->weight.shape() == Shape{3, 4});  // PyTorch [out, in]
  for (const Tensor& p : net.parameters()) CHECK((p.requires_grad() && p.is_leaf()));
  CHECK(net.str().find("proj: Linear") != std::string::npos);
}

TEST_CASE("Module: member handles and the registry share one tensor") {
  Net net;
  {
    NoGradGuard no_grad;
    net.proj->weight.fill_(0.25);
  }
  for (const auto& [k, t] : net.state_dict())
    if (k == "proj.weight") CHECK(to_vector<float>(t)[0] == 0.25f);
}

TEST_CASE("Module: registration errors name the module and the key") {
  Net net;
  CHECK_THROWS_WITH_AS(net.register_parameter("scale", ones({1})), doctest::Contains("'scale' is already a parameter"), Error);
  CHECK_THROWS_WITH_AS(net.register_parameter("a.b", ones({1})), doctest::Contains("no '.'"), Error);
  CHECK_THROWS_WITH_AS(net.register_module("proj", std::make_shared<Dropout>()), doctest::Contains("already a submodule"), Error);
  CHECK_THROWS_AS(net.register_parameter("ints", zeros({2}, {kInt64})), Error);
}

TEST_CASE("Module: train/eval reaches every submodule and switches dropout") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  CHECK(!net.is_training());
  CHECK(!net.blocks->operator[](1).drop->is_training());
  Tensor x = randn({8, 4});
  CHECK(testing::max_abs_diff(net.forward(x), net.forward(x)) == 0.0);  // deterministic in eval
  net.train();
  CHECK(net.blocks->operator[](0).drop->is_training());
  CHECK(testing::max_abs_diff(net.forward(x), net.forward(x)) > 0.0);   // dropout active
}

TEST_CASE("Module: zero_grad sets grads to none or to zero") {
  Net net;
  net.eval();
  net.forward(randn({2, 4})).sum().backward();
  CHECK(net.proj->weight.grad().defined());
  net.zero_grad(/*set_to_none=*/false);
  CHECK(net.proj->weight.grad().defined());
  CHECK(sum(abs(net.proj->weight.grad())).item<double>() == 0.0);
  net.zero_grad();
  for (const Tensor& p : net.parameters()) CHECK(!p.grad().defined());
}

TEST_CASE("Module: to(float64) converts parameters and floating buffers in place") {
  Net net;
  const auto before = to_vector<double>(net.proj->weight);
  net.to(kFloat64);
  CHECK(net.proj->weight.dtype() == kFloat64);
  CHECK(net.scale.dtype() == kFloat64);
  CHECK(net.table.dtype() == kFloat64);
  CHECK(net.count.dtype() == kInt64);  // integer buffers keep their dtype
  for (const auto& [k, t] : net.named_parameters()) CHECK((t.dtype() == kFloat64 && t.requires_grad()));
  CHECK(to_vector<double>(net.proj->weight) == before);
  net.eval();
  CHECK(net.forward(randn({2, 4}, {kFloat64})).dtype() == kFloat64);
  net.to(Device::cpu());  // no-op on the CPU
  CHECK(net.proj->weight.device() == Device::cpu());
  CHECK_THROWS_AS(net.to(kInt64), Error);
}

TEST_CASE("Module: load_state_dict copies values and converts dtype") {
  Net a, b;
  {
    NoGradGuard no_grad;
    b.proj->weight.copy_(randn({3, 4}));
  }
  a.to(kFloat64);
  a.load_state_dict(b.state_dict());
  CHECK(a.proj->weight.dtype() == kFloat64);
  CHECK(testing::max_abs_diff(a.proj->weight, b.proj->weight.to(kFloat64)) < 1e-7);
}

TEST_CASE("Module: load_state_dict lists missing, unexpected and mis-shaped keys and changes nothing") {
  Net net;
  const auto before = to_vector<float>(net.proj->weight);
  StateDict sd = net.state_dict();
  StateDict bad;
  for (auto& [k, t] : sd) {
    if (k == "proj.bias") continue;                                        // missing
    if (k == "proj.weight") bad.emplace_back(k, zeros({4, 3}));            // transposed
    else bad.emplace_back(k, zeros_like(t));
  }
  bad.emplace_back("proj.extra", zeros({2}));                              // unexpected
  try {
    net.load_state_dict(bad);
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("3 problem(s)") != std::string::npos);
    CHECK(msg.find("missing key 'proj.bias' (module shape [3])") != std::string::npos);
    CHECK(msg.find("shape mismatch for 'proj.weight': checkpoint [4, 3] vs module [3, 4]") != std::string::npos);
    CHECK(msg.find("unexpected key 'proj.extra'") != std::string::npos);
  }
  CHECK(to_vector<float>(net.proj->weight) == before);
  // strict=false ignores missing/unexpected keys but still loads the rest.
  StateDict partial = {{"scale", full({3}, 2.0)}, {"nope", zeros({1})}};
  net.load_state_dict(partial, /*strict=*/false);
  CHECK(to_vector<float>(net.scale) == std::vector<float>{2, 2, 2});
}
