// Basic layers: each is a constructor (registering parameters with PyTorch names, shapes and
// default init) plus a forward. Letters: B batch, L sequence length, D model width.
//
// Every constructor that draws random numbers takes an optional Generator* (nullptr: the
// global cfx::default_generator()), so a model built twice with the same seed is identical.
#pragma once

#include <optional>
#include <string>

#include "core/generator.h"
#include "nn/module.h"

namespace cfx::nn {

enum class Activation { ReLU, GELU, GELUTanh };  // GELU = exact (erf), GELUTanh = tanh approximation
Tensor activation(const Tensor& x, Activation act);

// y = x Wᵀ + b. weight [out, in], bias [out]; init U(±1/√in) for both (PyTorch default).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) const;  // [*, in] -> [*, out]
  Tensor weight, bias;                    // bias undefined when bias=false
};

// Lookup table: weight [num_embeddings, dim], init N(0, 1); the padding_idx row starts at 0
// and gets no gradient (PyTorch nn.Embedding).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, std::optional<int64_t> padding_idx = std::nullopt,
            Generator* gen = nullptr);
  Tensor forward(const Tensor& index) const;  // int64 [*] -> [*, dim]
  Tensor weight;
  std::optional<int64_t> padding_idx;
};

// Normalises the last dim: weight (ones) and bias (zeros) of shape [dim].
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;
  double eps;
};

// Inverted dropout, active only in train() mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr) : Module("Dropout"), p(p), gen_(gen) {}
  Tensor forward(const Tensor& x) const;
  double p;

 private:
  Generator* gen_;
};

// Stochastic depth (timm DropPath): in training, zeroes the whole residual branch of a sample
// with probability p and scales the survivors by 1/(1-p). x: [B, ...].
class DropPath : public Module {
 public:
  explicit DropPath(double p = 0.0, Generator* gen = nullptr) : Module("DropPath"), p(p), gen_(gen) {}
  Tensor forward(const Tensor& x) const;
  double p;

 private:
  Generator* gen_;
};

class GELU : public Module {
 public:
  explicit GELU(bool tanh_approximation = false) : Module("GELU"), tanh_(tanh_approximation) {}
  Tensor forward(const Tensor& x) const { return activation(x, tanh_ ? Activation::GELUTanh : Activation::GELU); }

 private:
  bool tanh_;
};

// fc1 -> activation -> Dropout(hidden_dropout) -> fc2 -> Dropout(out_dropout): the
// Transformer feed-forward block (timm Mlp names: fc1, fc2).
class MLP : public Module {
 public:
  MLP(int64_t in_features, int64_t hidden_features, int64_t out_features, Activation act = Activation::GELU,
      double hidden_dropout = 0.0, double out_dropout = 0.0, bool bias = true, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) const;
  std::shared_ptr<Linear> fc1, fc2;
  std::shared_ptr<Dropout> drop1, drop2;
  Activation act;
};

// Conv2d restricted to non-overlapping patches (kernel_size == stride, no padding), the only
// convolutions of the Flowformer vision model (patch embedding k=s=4, down-sampling k=s=2).
// Computed as a patch reshape plus one GEMM. weight [out, in, k, k], bias [out] (PyTorch
// Conv2d layout and default init).
class PatchConv2d : public Module {
 public:
  PatchConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias = true,
              Generator* gen = nullptr);
  Tensor forward(const Tensor& x) const;  // [B, in, H, W] -> [B, out, H/k, W/k]
  Tensor weight, bias;
  int64_t kernel_size;
};

// How a learned position table starts: N(0, scale²) (flax LRA, timm) or U(-scale, scale) (the
// UEA code's nn.init.uniform_(pe, -0.02, 0.02), BENCHMARKS.md §4.3).
struct PositionInit {
  enum class Kind { Normal, Uniform };
  Kind kind = Kind::Normal;
  double scale = 0.02;
};

// x + P[offset : offset+L] with a learned table P = weight [max_len, D].
class LearnedPositionalEmbedding : public Module {
 public:
  LearnedPositionalEmbedding(int64_t max_len, int64_t dim, PositionInit init = {}, Generator* gen = nullptr);
  Tensor forward(const Tensor& x, int64_t offset = 0) const;  // x: [B, L, D]
  Tensor weight;
};

// x + P[offset : offset+L] with a fixed sinusoid table (a non-persistent buffer "pe": not in
// the state dict, as in PyTorch/fairseq/flax).
//   Interleaved (LRA AddPositionEmbs, "Attention is all you need"):
//     P[p, 2i] = sin(p·ω_i), P[p, 2i+1] = cos(p·ω_i), ω_i = exp(-2i·ln(10000)/D)
//   Concatenated (fairseq SinusoidalPositionalEmbedding):
//     P[p, i] = sin(p·ω_i), P[p, D/2+i] = cos(p·ω_i), ω_i = exp(-i·ln(10000)/(D/2-1))
class SinusoidalPositionalEmbedding : public Module {
 public:
  enum class Layout { Interleaved, Concatenated };
  SinusoidalPositionalEmbedding(int64_t max_len, int64_t dim, Layout layout = Layout::Interleaved);
  Tensor forward(const Tensor& x, int64_t offset = 0) const;  // x: [B, L, D]
  Tensor pe;                                                   // [max_len, D]
};

}  // namespace cfx::nn
