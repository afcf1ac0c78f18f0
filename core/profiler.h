// The profiler: where a program's time and memory go, op by op, like torch.profiler.
//
//   {
//     cfx::profiler::Profile profile;              // or CONFLUX_PROFILE=1 for a whole process
//     loss = model.forward(x); loss.backward(); opt.step();
//   }
//   std::cerr << cfx::profiler::table(cfx::profiler::key_averages());
//   cfx::profiler::write_chrome_trace("trace.json");  // chrome://tracing or ui.perfetto.dev
//
// What is recorded, as nested ranges on the thread that runs them:
//   op        a public op (linear, gelu, layer_norm, ...), its forward: CFX_PROFILE_OP below
//   backward  one autograd node's backward (autograd/engine.cpp), named after its op
//   kernel    every call through the dispatch table (core/dispatch.h), e.g. bmm_kernel
// A row of key_averages() is one (name, kind, phase): phase is "backward" for a range inside
// a backward node, else "forward" (optimizer steps included). Self time is the range's time
// minus the ranges nested in it; bytes are what the CPU allocator handed out inside the range
// (children included). Times are host times: a CUDA kernel's row shows its launch, not its run.
//
// Environment (read once, at start-up): CONFLUX_PROFILE=1 profiles the whole process and prints
// the table to stderr at exit; CONFLUX_PROFILE_TRACE=path.json also writes the Chrome trace there.
// Off, each op, node and kernel pays a flag test on entry and exit (~13 instructions; 0.3% of
// a step of 16-element ops, counted with callgrind: conflux-bench-anomaly --steps).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cfx::profiler {

enum class RangeKind : uint8_t { op, backward, kernel };

namespace detail {
extern std::atomic<bool> active;  // defined in core/profiler.cpp
void begin(const char* name, RangeKind kind);
void end();
}  // namespace detail

// One RAII range; does nothing (but test a flag) while the profiler is off.
class Range {
 public:
  Range(const char* name, RangeKind kind) : on_(detail::active.load(std::memory_order_relaxed)) {
    if (on_) [[unlikely]] detail::begin(name, kind);
  }
  ~Range() {
    if (on_) [[unlikely]] detail::end();
  }
  Range(const Range&) = delete;
  Range& operator=(const Range&) = delete;

 private:
  bool on_;
};

struct Options {
  bool record_trace = false;  // keep every range for write_chrome_trace (memory grows with the run)
};

// Turns recording on (process-wide, every thread) / off. Recorded figures stay until reset().
void enable(const Options& options = {});
void disable();
bool enabled();
void reset();

// Profiles its scope: reset() and enable() on entry, disable() on exit.
class Profile {
 public:
  explicit Profile(const Options& options = {}) {
    reset();
    enable(options);
  }
  ~Profile() { disable(); }
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;
};

struct OpStats {
  std::string name;
  RangeKind kind;
  bool backward;       // recorded inside a backward node
  int64_t calls;
  double total_ms;     // including nested ranges
  double self_ms;      // excluding them
  int64_t bytes;       // CPU allocator bytes handed out inside (children included)
};

// Every (name, kind, phase) recorded since reset(), by self time, largest first.
std::vector<OpStats> key_averages();

// A fixed-width table of the first `max_rows` rows, with each row's share of the total self
// time, and a last line with the totals (every row, not only those shown).
std::string table(const std::vector<OpStats>& rows, int max_rows = 30);

// The recorded ranges (Options::record_trace) as Chrome trace-event JSON ("X" events, in us).
// Throws when the profile was recorded without record_trace.
void write_chrome_trace(const std::filesystem::path& path);

const char* kind_name(RangeKind kind);

}  // namespace cfx::profiler

// The forward of a public op, named as users call it: CFX_PROFILE_OP("layer_norm").
#define CFX_PROFILE_OP(name) \
  const ::cfx::profiler::Range cfx_profile_op_range_(name, ::cfx::profiler::RangeKind::op)
