// The op table (tests/op_table.h) on the CPU: every row's float64 gradcheck on contiguous,
// strided and (where the row has them) broadcast inputs, and the kernels the rows reach
// against the list in core/kernels.h. ctest runs this suite once per CPU capability.
#include <algorithm>
#include <set>

#include "op_table.h"
#include "testing.h"

using namespace cfx;
using namespace cfx::testing;

namespace {

// The kernels one call of fn reaches, forward and backward (detail::kernel_call_log).
std::set<std::string> kernels_reached(const std::function<void()>& fn) {
  std::vector<const char*> log;
  detail::kernel_call_log = &log;
  try {
    fn();
  } catch (...) {
    detail::kernel_call_log = nullptr;
    throw;
  }
  detail::kernel_call_log = nullptr;
  return {log.begin(), log.end()};
}

}  // namespace

TEST_CASE("op table: float64 gradcheck of every row, contiguous, strided and broadcast") {
  for (const OpRow& row : op_table()) {
    for (Layout layout : {Layout::Contiguous, Layout::Strided, Layout::Broadcast}) {
      if (layout == Layout::Broadcast && row.broadcast_shapes.empty()) continue;
      const std::vector<Tensor> inputs = op_inputs(row, layout, kFloat64, 7);
      if (layout == Layout::Strided)
        REQUIRE_MESSAGE(std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return !t.is_contiguous(); }),
                        row.name, ": no input of rank >= 2 to make strided");
      INFO(row.name, " (", layout_name(layout), ")");
      const auto fn = [&row](const std::vector<Tensor>& x) { return row.fn(x, Device::cpu()); };
      CHECK_GRADCHECK(fn, inputs);
    }
  }
}

TEST_CASE("op table: every kernel of core/kernels.h is reached by a row or tested elsewhere") {
  std::set<std::string> reached;
  for (const OpRow& row : op_table()) {
    const std::vector<Tensor> inputs = op_inputs(row, Layout::Contiguous, kFloat64, 7);
    const std::set<std::string> used = kernels_reached([&] {
      Tensor y = row.fn(inputs, Device::cpu());
      y.backward(ones_like(y));
    });
    CHECK_MESSAGE(!used.empty(), row.name, ": reached no kernel");
    reached.insert(used.begin(), used.end());
  }
  const std::vector<std::string> declared = declared_kernels();
  REQUIRE(declared.size() >= 20);  // the parse found the list
  for (const auto& [name, where] : kernels_tested_elsewhere()) {
    CHECK_MESSAGE(std::find(declared.begin(), declared.end(), name) != declared.end(),
                  name, " is listed as tested elsewhere but core/kernels.h no longer declares it");
    CHECK_MESSAGE(!reached.count(name), name, " is reached by a row: take it off kernels_tested_elsewhere()");
    reached.insert(name);
  }
  for (const std::string& name : declared)
    CHECK_MESSAGE(reached.count(name), name, " (core/kernels.h) has no row in tests/op_table.h: add the op that "
                  "reaches it, or, for a kernel without a differentiable op, an entry of kernels_tested_elsewhere()");
}

TEST_CASE("op table: the kernel call log sees dispatch and is off by default") {
  CHECK(detail::kernel_call_log == nullptr);
  const Tensor a = ones({2});
  const std::set<std::string> used = kernels_reached([&] { (void)(a + a); });
  CHECK(used == std::set<std::string>{"binary_kernel"});
  CHECK(detail::kernel_call_log == nullptr);
}
