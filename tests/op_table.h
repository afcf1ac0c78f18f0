// The op table (as PyTorch's OpInfo): one row per differentiable op, with its sample inputs.
// The table drives
//   tests/ops/test_op_table.cpp        float64 gradcheck on contiguous, strided and broadcast
//                                      inputs, under every CPU capability (ctest runs the ops
//                                      suite once per path), and checks that every kernel of
//                                      core/kernels.h is reached by a row or listed below;
//   tests/cuda/test_cuda_op_table.cpp  CPU/CUDA parity of outputs and gradients (the emulator
//                                      in CI), float32 and float64.
// A new op gets all of it by adding one row. Values against closed forms stay in the per-op
// test files; this table checks gradients, layouts and devices.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "conflux/conflux.h"

namespace cfx::testing {

enum class Layout { Contiguous, Strided, Broadcast };
inline const char* layout_name(Layout l) {
  return l == Layout::Contiguous ? "contiguous" : l == Layout::Strided ? "strided" : "broadcast";
}

struct OpRow {
  std::string name;
  std::vector<Shape> shapes;            // the float inputs that get gradients
  std::vector<Shape> broadcast_shapes;  // the same op on shapes that broadcast; empty = none
  double lo = -1, hi = 1;               // input range (positive for log, sqrt, pow)
  // The op on the inputs; any other tensor it needs (targets, indices, masks) is made here,
  // on `device`, from fixed values, so both devices see the same ones.
  std::function<Tensor(const std::vector<Tensor>& x, Device device)> fn;
};

namespace op_table_detail {

inline Tensor int64_on(const std::vector<int64_t>& values, const Shape& shape, Device d) {
  return tensor(values, shape).to(d);
}
inline Tensor bool_on(const std::vector<double>& values, const Shape& shape, Device d) {
  return gt(tensor(values, shape), scalar_tensor(0.0, {kFloat64})).to(d);
}

}  // namespace op_table_detail

inline const std::vector<OpRow>& op_table() {
  using namespace op_table_detail;
  using X = const std::vector<Tensor>&;
  static const std::vector<OpRow> rows = {
      // ---- pointwise, binary (broadcast: [3,4] with [4], then [3,1] with [1,4])
      {"add", {{3, 4}, {3, 4}}, {{3, 4}, {4}}, -1, 1, [](X x, Device) { return add(x[0], x[1]); }},
      {"sub", {{3, 4}, {3, 4}}, {{3, 1}, {1, 4}}, -1, 1, [](X x, Device) { return sub(x[0], x[1]); }},
      {"mul", {{3, 4}, {3, 4}}, {{3, 4}, {4}}, -1, 1, [](X x, Device) { return mul(x[0], x[1]); }},
      {"div", {{3, 4}, {3, 4}}, {{3, 1}, {1, 4}}, 0.5, 2, [](X x, Device) { return div(x[0], x[1]); }},
      {"maximum", {{3, 4}, {3, 4}}, {{3, 4}, {4}}, -1, 1, [](X x, Device) { return maximum(x[0], x[1]); }},
      {"minimum", {{3, 4}, {3, 4}}, {{3, 4}, {4}}, -1, 1, [](X x, Device) { return minimum(x[0], x[1]); }},
      {"where", {{3, 4}, {3, 4}}, {{3, 4}, {4}}, -1, 1,
       [](X x, Device d) {
         return where(bool_on({1, -1, 1, 1, -1, -1, 1, -1, 1, 1, -1, 1}, {3, 4}, d), x[0], x[1]);
       }},
      // ---- pointwise, unary
      {"neg", {{3, 4}}, {}, -1, 1, [](X x, Device) { return neg(x[0]); }},
      {"pow", {{3, 4}}, {}, 0.2, 2, [](X x, Device) { return pow(x[0], 2.5); }},
      {"exp", {{3, 4}}, {}, -2, 2, [](X x, Device) { return exp(x[0]); }},
      {"log", {{3, 4}}, {}, 0.1, 3, [](X x, Device) { return log(x[0]); }},
      {"sqrt", {{3, 4}}, {}, 0.1, 3, [](X x, Device) { return sqrt(x[0]); }},
      {"rsqrt", {{3, 4}}, {}, 0.1, 3, [](X x, Device) { return rsqrt(x[0]); }},
      {"abs", {{3, 4}}, {}, -2, 2, [](X x, Device) { return abs(x[0]); }},
      {"sigmoid", {{3, 4}}, {}, -4, 4, [](X x, Device) { return sigmoid(x[0]); }},
      {"tanh", {{3, 4}}, {}, -3, 3, [](X x, Device) { return tanh(x[0]); }},
      {"relu", {{3, 4}}, {}, -2, 2, [](X x, Device) { return relu(x[0]); }},
      {"gelu", {{3, 4}}, {}, -3, 3, [](X x, Device) { return gelu(x[0]); }},
      {"gelu tanh", {{3, 4}}, {}, -3, 3, [](X x, Device) { return gelu(x[0], "tanh"); }},
      {"clamp", {{3, 4}}, {}, -2, 2, [](X x, Device) { return clamp(x[0], -0.5, 0.7); }},
      {"masked_fill", {{3, 4}}, {}, -1, 1,
       [](X x, Device d) { return masked_fill(x[0], bool_on({1, -1, -1, 1}, {4}, d), 0.25); }},
      // ---- reductions and scans
      {"sum (dims)", {{3, 4, 2}}, {}, -1, 1, [](X x, Device) { return sum(x[0], {0, 2}); }},
      {"mean", {{3, 4}}, {}, -1, 1, [](X x, Device) { return mean(x[0], {1}, true); }},
      {"amax", {{3, 4}}, {}, -1, 1, [](X x, Device) { return amax(x[0], {1}); }},
      {"amin", {{3, 4}}, {}, -1, 1, [](X x, Device) { return amin(x[0], {0}); }},
      {"cumsum", {{3, 4}}, {}, -1, 1, [](X x, Device) { return cumsum(x[0], 1); }},
      {"softmax", {{3, 4}}, {}, -2, 2, [](X x, Device) { return softmax(x[0], 1); }},
      {"log_softmax", {{3, 4}}, {}, -2, 2, [](X x, Device) { return log_softmax(x[0], 0); }},
      // ---- shapes and indexing
      {"cat", {{2, 3}, {2, 3}}, {}, -1, 1, [](X x, Device) { return cat({x[0], x[1]}, 1); }},
      {"index_select", {{4, 3}}, {}, -1, 1,
       [](X x, Device d) { return index_select(x[0], 0, int64_on({3, 0, 3, 1}, {4}, d)); }},
      {"embedding", {{5, 3}}, {}, -1, 1,
       // padding_idx 1 is never read: its row would get a numeric gradient but no analytic one
       [](X x, Device d) { return embedding(int64_on({4, 0, 4, 2, 3, 0}, {2, 3}, d), x[0], 1); }},
      // ---- linear algebra (broadcast: a batch of one against a batch of two)
      {"matmul", {{2, 3, 4}, {2, 4, 5}}, {{1, 3, 4}, {2, 4, 5}}, -1, 1,
       [](X x, Device) { return matmul(x[0], x[1]); }},
      {"linear", {{3, 4}, {5, 4}, {5}}, {}, -1, 1, [](X x, Device) { return linear(x[0], x[1], x[2]); }},
      // ---- neural-network ops
      {"layer_norm", {{3, 4}, {4}, {4}}, {}, -1, 1,
       [](X x, Device) { return layer_norm(x[0], {4}, x[1], x[2]); }},
      {"cross_entropy", {{4, 5}}, {}, -2, 2,
       [](X x, Device d) { return cross_entropy(x[0], int64_on({1, -100, 4, 0}, {4}, d), -100, 0.1); }},
      {"soft_target_cross_entropy", {{3, 4}, {3, 4}}, {}, 0.1, 1,
       [](X x, Device) { return soft_target_cross_entropy(x[0], x[1]); }},
      {"mse_loss", {{3, 4}, {3, 4}}, {}, -1, 1, [](X x, Device) { return mse_loss(x[0], x[1]); }},
      {"linear_cross_entropy", {{4, 3}, {6, 3}, {6}}, {}, -1, 1,
       [](X x, Device d) { return linear_cross_entropy(x[0], x[1], x[2], int64_on({5, 0, 2, 2}, {4}, d)); }},
      {"flow_attention", {{1, 2, 5, 3}, {1, 2, 4, 3}, {1, 2, 4, 2}}, {}, -1, 1,
       [](X x, Device) { return flow_attention(x[0], x[1], x[2], FlowAttentionOptions::core()); }},
      {"flow_attention causal", {{1, 2, 5, 3}, {1, 2, 5, 3}, {1, 2, 5, 2}}, {}, -1, 1,
       [](X x, Device) { return flow_attention(x[0], x[1], x[2], FlowAttentionOptions::nlp()); }},
      {"flow_attention lra (heads competition, mask)", {{2, 2, 4, 3}, {2, 2, 4, 3}, {2, 2, 4, 2}}, {}, -1, 1,
       [](X x, Device d) {
         FlowAttentionOptions o = FlowAttentionOptions::lra();
         o.key_padding_mask = bool_on({-1, -1, -1, 1, -1, -1, 1, 1}, {2, 4}, d);
         return flow_attention(x[0], x[1], x[2], o);
       }},
  };
  return rows;
}

// Kernels no differentiable op reaches, each with the test that covers it.
inline const std::vector<std::pair<std::string, std::string>>& kernels_tested_elsewhere() {
  static const std::vector<std::pair<std::string, std::string>> kernels = {
      {"arange_kernel", "tests/ops/test_shape_ops.cpp and tests/cuda/test_cuda_parity.cpp (arange)"},
      {"uniform_kernel", "tests/core (Philox streams) and tests/cuda/test_cuda_parity.cpp (rand)"},
      {"normal_kernel", "tests/core (Philox streams) and tests/cuda/test_cuda_parity.cpp (randn)"},
      {"argmax_kernel", "tests/ops/test_reduce.cpp and tests/cuda/test_cuda_parity.cpp (argmax, ties, NaN)"},
      {"sgd_step_kernel", "tests/nn/test_optim.cpp (against torch's formulas) and tests/cuda/test_cuda_nn.cpp"},
      {"adam_step_kernel", "tests/nn/test_optim.cpp and tests/cuda/test_cuda_nn.cpp"},
      {"flow_attention_step_kernel", "tests/ops/test_flow_attention_step.cpp and tests/cuda/test_cuda_flow_attention.cpp"},
  };
  return kernels;
}

// Float leaves for `row` in `layout` (Strided: every input of rank >= 2 is the transpose of a
// contiguous tensor; Broadcast: row.broadcast_shapes), dtype dt, on the CPU, from `seed`.
inline std::vector<Tensor> op_inputs(const OpRow& row, Layout layout, DType dt, uint64_t seed) {
  const std::vector<Shape>& shapes = layout == Layout::Broadcast ? row.broadcast_shapes : row.shapes;
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Generator gen(seed + i);
    Shape made = shapes[i];
    const bool transpose = layout == Layout::Strided && made.size() >= 2;
    if (transpose) std::swap(made[made.size() - 1], made[made.size() - 2]);
    Tensor t = (rand(made, {dt}, &gen) * (row.hi - row.lo) + row.lo).detach();
    if (transpose) t = t.transpose(-1, -2);
    inputs.push_back(t.requires_grad_());
  }
  return inputs;
}

// Every kernel name declared in core/kernels.h (CFX_DECLARE_KERNEL(name, ...)), read from the
// source tree, so that a new kernel without a row (or an entry above) fails the table's test.
inline std::vector<std::string> declared_kernels() {
  std::ifstream in(std::string(CONFLUX_SOURCE_DIR) + "/core/kernels.h");
  REQUIRE_MESSAGE(in, "cannot read ", CONFLUX_SOURCE_DIR, "/core/kernels.h");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> names;
  const std::regex declare(R"(CFX_DECLARE_KERNEL\((\w+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), declare); it != std::sregex_iterator(); ++it)
    names.push_back((*it)[1]);
  return names;
}

}  // namespace cfx::testing
