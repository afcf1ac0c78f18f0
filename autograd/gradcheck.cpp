#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/kernels.h"

namespace cfx {
namespace {

// The numeric side is plain loops over float64 host values, not ops: a gradcheck that
// summed with `sum` and `*` would lean on the very ops it checks (and autograd sits below ops).

// Storage offsets of every element of `t` in row-major logical order.
std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> offs;
  offs.reserve(t.numel());
  std::vector<int64_t> idx(t.dim(), 0);
  for (int64_t k = 0; k < t.numel(); ++k) {
    int64_t off = t.offset();
    for (int64_t d = 0; d < t.dim(); ++d) off += idx[d] * t.strides()[d];
    offs.push_back(off);
    for (int64_t d = t.dim() - 1; d >= 0 && ++idx[d] == t.shape()[d]; --d) idx[d] = 0;
  }
  return offs;
}

// The elements of a float64 CPU tensor (any strides) in row-major order.
std::vector<double> values(const Tensor& t, const char* what) {
  CFX_CHECK(t.dtype() == kFloat64 && t.device().is_cpu(), "gradcheck: ", what, " must be a float64 CPU tensor, got ",
            t.dtype(), " on ", t.device());
  const double* data = static_cast<const double*>(t.storage()->data());
  std::vector<double> v;
  v.reserve(t.numel());
  for (int64_t off : element_offsets(t)) v.push_back(data[off]);
  return v;
}

// The projections of the output checked: one-hot rows of the Jacobian, or random vectors
// (standard normal from the kernel randn uses, so the same seed gives the same probes).
std::vector<Tensor> probe_vectors(const Tensor& out, const GradcheckOptions& opts) {
  std::vector<Tensor> probes;
  const Device cpu = Device::cpu();
  if (out.numel() <= opts.full_jacobian_max_outputs) {
    for (int64_t i = 0; i < out.numel(); ++i) {
      Tensor e = detail::make_empty(out.shape(), kFloat64, cpu);
      fill_kernel(cpu, e, 0.0);
      e.data_ptr<double>()[i] = 1.0;
      probes.push_back(e);
    }
  } else {
    Generator gen(opts.seed);
    for (int i = 0; i < 4; ++i) {
      Tensor r = detail::make_empty(out.shape(), kFloat64, cpu);
      normal_kernel(cpu, r, 0.0, 1.0, gen);
      probes.push_back(r);
    }
  }
  return probes;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& opts) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    CFX_CHECK(t.dtype() == kFloat64, "gradcheck: input ", i, " must be float64, got ", t.dtype());
    CFX_CHECK(t.device().is_cpu(), "gradcheck: input ", i, " must be on the CPU, got ", t.device());
    CFX_CHECK(t.requires_grad() && t.is_leaf(), "gradcheck: input ", i, " must be a leaf with requires_grad");
    for (int64_t d = 0; d < t.dim(); ++d)
      CFX_CHECK(t.strides()[d] != 0 || t.shape()[d] <= 1, "gradcheck: input ", i,
                " is an expanded view (stride 0 at dim ", d, "); pass a real tensor");
  }
  Tensor out = fn(inputs);
  CFX_CHECK(out.dtype() == kFloat64, "gradcheck: the function must return float64, got ", out.dtype());
  const std::vector<Tensor> probes = probe_vectors(out, opts);
  std::vector<std::vector<double>> probe_values;
  for (const Tensor& p : probes) probe_values.push_back(values(p, "a probe"));

  // Analytic: for each probe p, the gradients of <p, f(x)> with respect to every input.
  std::vector<std::vector<std::vector<double>>> analytic(probes.size());
  for (size_t p = 0; p < probes.size(); ++p) {
    for (const Tensor& t : inputs) t.unsafe_impl()->grad.reset();
    if (out.requires_grad()) out.backward(probes[p], /*retain_graph=*/true);
    for (const Tensor& t : inputs)
      analytic[p].push_back(t.grad().defined() ? values(t.grad(), "a gradient")
                                               : std::vector<double>(static_cast<size_t>(t.numel()), 0.0));
  }
  for (const Tensor& t : inputs) t.unsafe_impl()->grad.reset();

  // Numeric: central differences of f, one input element at a time.
  GradcheckResult result;
  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    double* data = static_cast<double*>(x.storage()->data());
    const std::vector<int64_t> offs = element_offsets(x);
    for (size_t k = 0; k < offs.size(); ++k) {
      const double saved = data[offs[k]];
      data[offs[k]] = saved + opts.eps;
      const std::vector<double> plus = values(fn(inputs), "the function's output");
      data[offs[k]] = saved - opts.eps;
      const std::vector<double> minus = values(fn(inputs), "the function's output");
      data[offs[k]] = saved;
      for (size_t p = 0; p < probes.size(); ++p) {
        double numeric = 0;
        for (size_t j = 0; j < plus.size(); ++j) numeric += probe_values[p][j] * ((plus[j] - minus[j]) / (2 * opts.eps));
        const double exact = analytic[p][i][k];
        const double err = std::abs(exact - numeric);
        result.max_abs_error = std::max(result.max_abs_error, err);
        if (err > opts.atol + opts.rtol * std::abs(numeric) && result.ok) {
          result.ok = false;
          std::ostringstream os;
          os << "gradcheck: mismatch for input " << i << " (shape " << shape_str(x.shape()) << ") element " << k
             << ", output probe " << p << ": analytic " << exact << " vs numeric " << numeric;
          result.message = os.str();
        }
      }
    }
  }
  return result;
}

}  // namespace cfx
