// The README's example, built by ctest (install_find_package) against the installed package.
#include <conflux/conflux.h>

#include <iostream>

using namespace cfx;

int main() {
  manual_seed(0);
  // Flow-Attention is an op like any other: q, k, v are [B, H, L, D] projections.
  Tensor q = randn({2, 8, 1024, 64}).requires_grad_();
  Tensor k = randn({2, 8, 1024, 64}).requires_grad_();
  Tensor v = randn({2, 8, 1024, 64}).requires_grad_();
  Tensor y = flow_attention(q, k, v, FlowAttentionOptions::nlp());  // causal, clamp 5
  y.sum().backward();                                                 // analytic backward
  std::cout << "grad " << shape_str(q.grad().shape()) << "\n";

  // A model from the paper's family: the LRA ListOps Flowformer (inputs up to 2000 tokens).
  nn::FlowformerClassifier model(nn::FlowformerClassifierConfig::lra_listops());
  nn::AdamW opt(model.parameters(), {.lr = 1e-3, .beta2 = 0.98, .eps = 1e-9, .weight_decay = 0.1});
  Tensor tokens = randint(1, 17, {4, 500});
  Tensor labels = randint(0, 10, {4});
  Tensor loss = cross_entropy(model.forward(tokens), labels);
  opt.zero_grad();
  loss.backward();
  opt.step();
  nn::save(model, "listops.h5");  // HDF5, one dataset per PyTorch-style state-dict key
  std::cout << "loss " << loss.item<float>() << " params " << model.num_parameters() << "\n";
  return 0;
}
