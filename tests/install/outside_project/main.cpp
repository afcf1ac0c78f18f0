#include <conflux/conflux.h>

#include <iostream>

int main() {
  cfx::Tensor x = cfx::tensor(std::vector<float>{1, 2, 3}, {3}).requires_grad_();
  cfx::Tensor y = (x * x).sum();
  y.backward();
  std::cout << "sum=" << cfx::sum(x).item<float>() << " grad=" << x.grad() << "\n";
  return 0;
}
