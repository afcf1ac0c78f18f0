// The op table (tests/op_table.h) on CUDA: every row's output and input gradients against the
// CPU, float32 and float64, contiguous, strided and broadcast inputs (the same values on both
// devices; the upstream gradient too). On the emulator in CI; skipped without a device.
#include "cuda_testing.h"
#include "op_table.h"

using namespace cfx;
using namespace cfx::testing;

TEST_CASE("cuda: the op table's rows match the CPU, outputs and gradients") {
  CFX_REQUIRE_CUDA_OR_SKIP();
  for (DType dt : {kFloat32, kFloat64})
    for (const OpRow& row : op_table())
      for (Layout layout : {Layout::Contiguous, Layout::Strided, Layout::Broadcast}) {
        if (layout == Layout::Broadcast && row.broadcast_shapes.empty()) continue;
        const std::string what = row.name + " (" + layout_name(layout) + (dt == kFloat32 ? ", f32)" : ", f64)");
        const std::vector<Tensor> cpu_inputs = op_inputs(row, layout, dt, 21);
        std::vector<Tensor> gpu_inputs;
        for (const Tensor& x : cpu_inputs) {
          // the same layout on the device: transposed views stay transposed
          Tensor base = x.is_contiguous() ? gpu(x) : gpu(x.transpose(-1, -2).contiguous()).transpose(-1, -2);
          gpu_inputs.push_back(base.requires_grad_());
        }
        Tensor y_cpu = row.fn(cpu_inputs, Device::cpu());
        Tensor y_gpu = row.fn(gpu_inputs, kGpu);
        check_close(y_gpu, y_cpu, tol_of(dt, 10), what);
        const Tensor g = uniform(y_cpu.shape(), dt, 22);
        y_cpu.backward(g);
        y_gpu.backward(gpu(g));
        for (size_t i = 0; i < cpu_inputs.size(); ++i)
          check_close(grad_of(gpu_inputs[i], what), grad_of(cpu_inputs[i], what), tol_of(dt, 10),
                      what + " grad of input " + std::to_string(i));
      }
}
