// Basic layers (nn/layers.h): constructors with PyTorch names/shapes/init, and forwards.
#include "nn/layers.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/init.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/nn_ops.h"

namespace cfx::nn {

Tensor activation(const Tensor& x, Activation act) {
  switch (act) {
    case Activation::ReLU: return relu(x);
    case Activation::GELU: return gelu(x, "none");
    case Activation::GELUTanh: return gelu(x, "tanh");
  }
  CFX_FAIL("activation: unknown activation");
}

// ---- Linear ---------------------------------------------------------------------------------

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, Generator* gen) : Module("Linear") {
  CFX_CHECK(in_features > 0 && out_features > 0, "Linear: expected positive sizes, got in_features=",
            in_features, " out_features=", out_features);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = register_parameter("weight", init::uniform_(empty({out_features, in_features}), -bound, bound, gen));
  if (with_bias) bias = register_parameter("bias", init::uniform_(empty({out_features}), -bound, bound, gen));
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

// ---- Embedding ------------------------------------------------------------------------------

Embedding::Embedding(int64_t num_embeddings, int64_t dim, std::optional<int64_t> pad, Generator* gen)
    : Module("Embedding"), padding_idx(pad) {
  CFX_CHECK(num_embeddings > 0 && dim > 0, "Embedding: expected positive sizes, got ", num_embeddings, " x ", dim);
  CFX_CHECK(!pad || (*pad >= 0 && *pad < num_embeddings), "Embedding: padding_idx ", pad.value_or(0),
            " is out of range [0, ", num_embeddings, ")");
  weight = register_parameter("weight", init::normal_(empty({num_embeddings, dim}), 0.0, 1.0, gen));
  if (pad) {
    NoGradGuard no_grad;
    weight.select(0, *pad).zero_();
  }
}

Tensor Embedding::forward(const Tensor& index) const { return embedding(index, weight, padding_idx); }

// ---- LayerNorm ------------------------------------------------------------------------------

LayerNorm::LayerNorm(int64_t dim, double eps_, bool affine) : Module("LayerNorm"), eps(eps_) {
  if (affine) {
    weight = register_parameter("weight", ones({dim}));
    bias = register_parameter("bias", zeros({dim}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, {x.size(-1)}, weight, bias, eps); }

// ---- Dropout, DropPath ----------------------------------------------------------------------

Tensor Dropout::forward(const Tensor& x) const { return dropout(x, p, is_training(), gen_); }

Tensor DropPath::forward(const Tensor& x) const {
  if (!is_training() || p == 0.0) return x;
  // keep: [B, 1, ..., 1], each sample 0 or 1/(1-p).
  Shape mask_shape(x.dim(), 1);
  mask_shape[0] = x.size(0);
  Tensor keep;
  {
    NoGradGuard no_grad;
    keep = dropout(ones(mask_shape, {x.dtype(), x.device()}), p, true, gen_);
  }
  return x * keep;
}

// ---- MLP ------------------------------------------------------------------------------------

MLP::MLP(int64_t in_features, int64_t hidden_features, int64_t out_features, Activation act_, double hidden_dropout,
         double out_dropout, bool bias, Generator* gen)
    : Module("MLP"), act(act_) {
  fc1 = register_module("fc1", std::make_shared<Linear>(in_features, hidden_features, bias, gen));
  drop1 = register_module("drop1", std::make_shared<Dropout>(hidden_dropout));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden_features, out_features, bias, gen));
  drop2 = register_module("drop2", std::make_shared<Dropout>(out_dropout));
}

Tensor MLP::forward(const Tensor& x) const {
  return drop2->forward(fc2->forward(drop1->forward(activation(fc1->forward(x), act))));
}

// ---- PatchConv2d ----------------------------------------------------------------------------

PatchConv2d::PatchConv2d(int64_t in_channels, int64_t out_channels, int64_t k, bool with_bias, Generator* gen)
    : Module("PatchConv2d"), kernel_size(k) {
  CFX_CHECK(in_channels > 0 && out_channels > 0 && k > 0, "PatchConv2d: expected positive sizes, got in=",
            in_channels, " out=", out_channels, " kernel_size=", k);
  // PyTorch Conv2d default: kaiming_uniform(a=√5) on the weight = U(±1/√fan_in), bias the same.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_channels * k * k));
  weight = register_parameter("weight", init::uniform_(empty({out_channels, in_channels, k, k}), -bound, bound, gen));
  if (with_bias) bias = register_parameter("bias", init::uniform_(empty({out_channels}), -bound, bound, gen));
}

Tensor PatchConv2d::forward(const Tensor& x) const {
  const int64_t k = kernel_size;
  CFX_CHECK(x.dim() == 4 && x.size(1) == weight.size(1), "PatchConv2d: expected input [B, ", weight.size(1),
            ", H, W], got ", x.shape());
  CFX_CHECK(x.size(2) % k == 0 && x.size(3) % k == 0, "PatchConv2d: H and W must be multiples of kernel_size ", k,
            ", got input ", x.shape());
  const int64_t B = x.size(0), C = x.size(1), h = x.size(2) / k, w = x.size(3) / k, O = weight.size(0);
  // patches: [B, h, w, C·k·k] in the (c, ky, kx) order of the weight's trailing dims.
  Tensor patches = x.reshape({B, C, h, k, w, k}).permute({0, 2, 4, 1, 3, 5}).reshape({B, h, w, C * k * k});
  Tensor y = linear(patches, weight.reshape({O, C * k * k}), bias);  // [B, h, w, O]
  return y.permute({0, 3, 1, 2});                                     // [B, O, h, w] (a view)
}

// ---- positional embeddings --------------------------------------------------------------------

namespace {
Tensor add_positions(const char* who, const Tensor& x, const Tensor& table, int64_t offset) {
  CFX_CHECK(x.dim() == 3 && x.size(2) == table.size(1), who, ": expected input [B, L, ", table.size(1), "], got ",
            x.shape());
  CFX_CHECK(offset >= 0 && offset + x.size(1) <= table.size(0), who, ": positions [", offset, ", ",
            offset + x.size(1), ") exceed the table's max_len ", table.size(0));
  return x + table.narrow(0, offset, x.size(1));  // [L, D] broadcasts over B
}
}  // namespace

LearnedPositionalEmbedding::LearnedPositionalEmbedding(int64_t max_len, int64_t dim, PositionInit init, Generator* gen)
    : Module("LearnedPositionalEmbedding") {
  Tensor table = empty({max_len, dim});
  if (init.kind == PositionInit::Kind::Uniform) init::uniform_(table, -init.scale, init.scale, gen);
  else init::normal_(table, 0.0, init.scale, gen);
  weight = register_parameter("weight", table);
}

Tensor LearnedPositionalEmbedding::forward(const Tensor& x, int64_t offset) const {
  return add_positions("LearnedPositionalEmbedding", x, weight, offset);
}

SinusoidalPositionalEmbedding::SinusoidalPositionalEmbedding(int64_t max_len, int64_t dim, Layout layout)
    : Module("SinusoidalPositionalEmbedding") {
  CFX_CHECK(dim % 2 == 0 && dim >= 4, "SinusoidalPositionalEmbedding: dim must be even and >= 4, got ", dim);
  std::vector<float> table(static_cast<size_t>(max_len * dim));
  const int64_t half = dim / 2;
  for (int64_t p = 0; p < max_len; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double omega = layout == Layout::Interleaved
                               ? std::exp(-static_cast<double>(2 * i) * std::log(10000.0) / static_cast<double>(dim))
                               : std::exp(-static_cast<double>(i) * std::log(10000.0) / static_cast<double>(half - 1));
      const double a = static_cast<double>(p) * omega;
      const int64_t s = layout == Layout::Interleaved ? 2 * i : i;
      const int64_t c = layout == Layout::Interleaved ? 2 * i + 1 : half + i;
      table[p * dim + s] = static_cast<float>(std::sin(a));
      table[p * dim + c] = static_cast<float>(std::cos(a));
    }
  pe = register_buffer("pe", tensor(table, {max_len, dim}), /*persistent=*/false);
}

Tensor SinusoidalPositionalEmbedding::forward(const Tensor& x, int64_t offset) const {
  return add_positions("SinusoidalPositionalEmbedding", x, pe, offset);
}

}  // namespace cfx::nn
