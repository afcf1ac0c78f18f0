// Helpers shared by the test suites: closeness checks, gradcheck as a doctest assertion,
// and the location of ../shared/data (tests that need it skip with a message without it).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "conflux/conflux.h"

namespace cfx::testing {

// max |a - b| over all elements (shapes must match).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), "shapes differ: ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  const auto x = to_vector<double>(a), y = to_vector<double>(b);
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// |a - b| <= atol + rtol * |b| elementwise.
inline bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8) {
  if (a.shape() != b.shape()) return false;
  const auto x = to_vector<double>(a), y = to_vector<double>(b);
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  return true;
}

inline void check_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-6) {
  const auto got = to_vector<double>(t);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK_MESSAGE(std::abs(got[i] - expected[i]) <= tol, "element ", i, ": got ", got[i], ", expected ", expected[i]);
}

// Float64 leaf with values from a fixed seed, optionally scaled/shifted.
inline Tensor rand64(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator gen(seed);
  return (rand(shape, {kFloat64}, &gen) * (hi - lo) + lo).detach().requires_grad_();
}

// A non-contiguous float64 leaf of `shape`: the transpose of a contiguous tensor's last
// two dims (so gradcheck also exercises strided inputs).
inline Tensor rand64_strided(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  REQUIRE(shape.size() >= 2);
  Shape swapped = shape;
  std::swap(swapped[shape.size() - 1], swapped[shape.size() - 2]);
  Generator gen(seed);
  Tensor base = (rand(swapped, {kFloat64}, &gen) * (hi - lo) + lo).detach();
  Tensor view = base.transpose(-1, -2);
  REQUIRE(!view.is_contiguous());
  return view.requires_grad_();
}

#define CHECK_GRADCHECK(fn, inputs, ...)                                            \
  do {                                                                             \
    auto gc_result_ = ::cfx::gradcheck(fn, inputs __VA_OPT__(, ) __VA_ARGS__);     \
    CHECK_MESSAGE(gc_result_.ok, gc_result_.message);                              \
  } while (0)

inline std::filesystem::path shared_data_dir() { return CONFLUX_SHARED_DATA_DIR; }
// True when ../shared/data is present; otherwise prints why the test is skipped.
inline bool have_shared_data(const std::string& sub) {
  const auto p = shared_data_dir() / sub;
  if (std::filesystem::exists(p)) return true;
  MESSAGE("SKIPPED: ", p.string(), " not found (real data samples are only in the workplace checkout / CI)");
  return false;
}

}  // namespace cfx::testing
