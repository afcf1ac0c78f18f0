// Kernel launches. tests/cuda_emu/translate.cmake rewrites every
//   kernel<T><<<grid, block, shared_bytes, stream>>>(args...);
// of cuda/ into
//   ::emu::launch(::emu::Config(grid, block, shared_bytes, stream), kernel<T>, args...);
// which validates the configuration like CUDA (a bad one sets the error the next
// cudaGetLastError returns, and nothing runs), then runs the whole grid before returning:
// every launch is synchronous, one legal schedule of a stream-ordered program.
#pragma once

#include <cstddef>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_emu/types.h"

namespace emu {

// The <<<...>>> of a launch, and where it is written (for the emulator's diagnostics; the
// translated sources carry #line directives, so this names the original cuda/*.cu line).
struct Config {
  Config(dim3 grid_, dim3 block_, size_t shared_bytes_ = 0, cudaStream_t stream_ = nullptr,
         std::source_location site_ = std::source_location::current())
      : grid(grid_), block(block_), shared_bytes(shared_bytes_), stream(stream_), site(site_) {}
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;
  std::source_location site;
};

namespace detail {

// What every emulated thread runs: the kernel with (copies of) the launch's arguments.
struct Body {
  void (*run)(const void* self);
  const void* self;
};

bool launch_accepted(const Config& cfg);  // false, with the launch error recorded, when it must not run
void check_pointer_argument(const void* p, int index, const Config& cfg);  // a device pointer or null
void run_grid(const Config& cfg, Body body);

template <class T>
void check_argument(const T& value, int index, const Config& cfg) {
  if constexpr (std::is_pointer_v<T>) check_pointer_argument(static_cast<const void*>(value), index, cfg);
}

}  // namespace detail

template <class... P, class... A>
void launch(const Config& cfg, void (*kernel)(P...), A&&... args) {
  // Converted to the parameter types exactly as the call kernel(args...) would convert them.
  auto bind = [](P... p) { return std::tuple<P...>(p...); };
  const std::tuple<P...> params = bind(std::forward<A>(args)...);
  if (!detail::launch_accepted(cfg)) return;
  // Kernels cannot read host memory: a host pointer argument is a bug the GPU reports as an
  // illegal address, so the emulator stops at the launch that passes one.
  std::apply([&](const P&... p) {
    int index = 0;
    (detail::check_argument(p, index++, cfg), ...);
  }, params);
  struct Call {
    void (*kernel)(P...);
    const std::tuple<P...>* params;
  } call{kernel, &params};
  detail::run_grid(cfg, {[](const void* self) {
                           const Call& c = *static_cast<const Call*>(self);
                           std::apply(c.kernel, *c.params);
                         },
                         &call});
}

}  // namespace emu
