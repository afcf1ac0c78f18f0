// cfx::gradcheck: compares the analytic gradients of a function (from backward) with
// float64 central differences, like torch.autograd.gradcheck.
//
// Inputs must be float64 leaves with requires_grad; they may be non-contiguous views
// (permuted, sliced) but not expanded (a stride-0 dim would alias elements).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cfx {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  // Outputs with more elements than this are checked through random projections
  // (vector-Jacobian products with 4 random vectors) instead of the full Jacobian.
  int64_t full_jacobian_max_outputs = 256;
  uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // where the worst mismatch is, when !ok
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opts = {});

}  // namespace cfx
