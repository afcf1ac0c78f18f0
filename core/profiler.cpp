// The profiler (core/profiler.h): per-thread stacks of open ranges, folded into one table of
// (name, kind, phase) rows when each range ends; optionally every range for a Chrome trace.
#include "core/profiler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "core/allocator.h"
#include "core/error.h"

namespace cfx::profiler {

namespace detail {
std::atomic<bool> active{false};
}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

struct Open {
  const char* name;
  RangeKind kind;
  bool backward;
  Clock::time_point start;
  int64_t bytes_at_start;
  int64_t child_ns = 0;
};

struct Totals {
  int64_t calls = 0, total_ns = 0, self_ns = 0, bytes = 0;
};

struct TraceEvent {
  std::string name;
  RangeKind kind;
  bool backward;
  int thread;
  int64_t start_ns, duration_ns, bytes;
};

using Key = std::tuple<std::string, RangeKind, bool>;

// Everything recorded, shared by all threads; touched only while profiling.
struct State {
  std::mutex mutex;
  std::map<Key, Totals> totals;
  std::vector<TraceEvent> trace;
  bool record_trace = false;
  bool traced = false;  // the figures since reset() were recorded with record_trace
  Clock::time_point origin = Clock::now();
  int next_thread = 0;
};

State& state() {
  static State* s = new State;  // never destroyed: ranges may end during static destruction
  return *s;
}

thread_local std::vector<Open> open_ranges;
thread_local int thread_index = -1;

int64_t allocator_bytes() { return cpu_memory_stats().allocated_total; }

}  // namespace

namespace detail {

void begin(const char* name, RangeKind kind) {
  const bool backward = kind == RangeKind::backward || (!open_ranges.empty() && open_ranges.back().backward);
  open_ranges.push_back({name, kind, backward, Clock::now(), allocator_bytes()});
}

void end() {  // called only by a Range whose begin() ran on this thread: the stack is not empty
  const Open r = open_ranges.back();
  open_ranges.pop_back();
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - r.start).count();
  const int64_t bytes = allocator_bytes() - r.bytes_at_start;
  if (!open_ranges.empty()) open_ranges.back().child_ns += ns;
  State& s = state();
  std::lock_guard lock(s.mutex);
  Totals& t = s.totals[Key{r.name, r.kind, r.backward}];
  ++t.calls;
  t.total_ns += ns;
  t.self_ns += ns - r.child_ns;
  t.bytes += bytes;
  if (s.record_trace) {
    if (thread_index < 0) thread_index = s.next_thread++;
    const int64_t start = std::chrono::duration_cast<std::chrono::nanoseconds>(r.start - s.origin).count();
    s.trace.push_back({r.name, r.kind, r.backward, thread_index, start, ns, bytes});
  }
}

}  // namespace detail

void enable(const Options& options) {
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    s.record_trace = options.record_trace;
    if (options.record_trace) s.traced = true;
  }
  detail::active.store(true, std::memory_order_relaxed);
}

void disable() { detail::active.store(false, std::memory_order_relaxed); }

bool enabled() { return detail::active.load(std::memory_order_relaxed); }

void reset() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.totals.clear();
  s.trace.clear();
  s.traced = s.record_trace && enabled();
  s.origin = Clock::now();
}

const char* kind_name(RangeKind kind) {
  switch (kind) {
    case RangeKind::op: return "op";
    case RangeKind::backward: return "backward";
    case RangeKind::kernel: return "kernel";
  }
  return "?";
}

std::vector<OpStats> key_averages() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  std::vector<OpStats> rows;
  for (const auto& [key, t] : s.totals)
    rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), t.calls, t.total_ns * 1e-6,
                    t.self_ns * 1e-6, t.bytes});
  std::stable_sort(rows.begin(), rows.end(), [](const OpStats& a, const OpStats& b) { return a.self_ms > b.self_ms; });
  return rows;
}

namespace {

std::string human_bytes(int64_t b) {
  char buf[32];
  if (b >= (int64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(b) / (1 << 30));
  else if (b >= (int64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / (1 << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KB", static_cast<double>(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

}  // namespace

std::string table(const std::vector<OpStats>& rows, int max_rows) {
  double self_total = 0;
  int64_t calls_total = 0;
  for (const OpStats& r : rows) self_total += r.self_ms, calls_total += r.calls;
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-34s %-8s %-8s %9s %11s %11s %7s %10s\n", "name", "kind", "phase", "calls",
                "self ms", "total ms", "self %", "allocated");
  out << line << std::string(103, '-') << '\n';
  for (int i = 0; i < static_cast<int>(rows.size()) && i < max_rows; ++i) {
    const OpStats& r = rows[i];
    std::snprintf(line, sizeof line, "%-34.34s %-8s %-8s %9lld %11.3f %11.3f %6.1f%% %10s\n", r.name.c_str(),
                  kind_name(r.kind), r.backward ? "backward" : "forward", static_cast<long long>(r.calls), r.self_ms,
                  r.total_ms, self_total > 0 ? 100 * r.self_ms / self_total : 0.0, human_bytes(r.bytes).c_str());
    out << line;
  }
  std::snprintf(line, sizeof line, "%zu rows (%zu shown), %lld ranges, %.3f ms self time in all\n", rows.size(),
                std::min(rows.size(), static_cast<size_t>(std::max(max_rows, 0))), static_cast<long long>(calls_total),
                self_total);
  out << std::string(103, '-') << '\n' << line;
  return out.str();
}

void write_chrome_trace(const std::filesystem::path& path) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  CFX_CHECK(s.traced, "profiler: no trace to write to '", path.string(),
            "': profile with Options{.record_trace = true} (or CONFLUX_PROFILE_TRACE)");
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    CFX_CHECK(out, "profiler: cannot create '", tmp.string(), "'");
    out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
    char buf[160];
    for (size_t i = 0; i < s.trace.size(); ++i) {
      const TraceEvent& e = s.trace[i];
      out << (i ? ",\n" : "\n") << "{\"name\":\"";
      for (char c : e.name) {  // op and node names are identifiers; escape anyway
        if (c == '"' || c == '\\') out << '\\' << c;
        else if (static_cast<unsigned char>(c) < 0x20) out << ' ';
        else out << c;
      }
      std::snprintf(buf, sizeof buf,
                    "\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":0,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,"
                    "\"args\":{\"phase\":\"%s\",\"bytes\":%lld}}",
                    kind_name(e.kind), e.thread, e.start_ns * 1e-3, e.duration_ns * 1e-3,
                    e.backward ? "backward" : "forward", static_cast<long long>(e.bytes));
      out << buf;
    }
    out << "\n]}\n";
    out.close();
    CFX_CHECK(!out.fail(), "profiler: writing '", tmp.string(), "' failed (disk full?)");
  }
  std::filesystem::rename(tmp, path);
}

namespace {

// CONFLUX_PROFILE / CONFLUX_PROFILE_TRACE: on from library load to exit, then the table (and
// the trace). The path outlives static destruction: the atexit handler reads it.
const std::string* environment_trace_path = nullptr;

[[maybe_unused]] const bool profiling_from_environment = [] {
  const char* on = std::getenv("CONFLUX_PROFILE");
  const char* trace = std::getenv("CONFLUX_PROFILE_TRACE");
  if (on && *on && std::string(on) != "1" && std::string(on) != "0")
    std::fprintf(stderr, "conflux: CONFLUX_PROFILE=%s ignored (expected 1 or 0)\n", on);
  const bool traced = trace && *trace;
  if (!(on && std::string(on) == "1") && !traced) return false;
  if (traced) environment_trace_path = new std::string(trace);
  enable(Options{.record_trace = traced});
  std::atexit([] {
    disable();
    std::fprintf(stderr, "\nconflux profile (CONFLUX_PROFILE):\n%s", table(key_averages()).c_str());
    if (!environment_trace_path) return;
    try {
      write_chrome_trace(*environment_trace_path);
      std::fprintf(stderr, "chrome trace: %s\n", environment_trace_path->c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
  });
  return true;
}();

}  // namespace

}  // namespace cfx::profiler
