// Anomaly mode's checks and messages (the rules are in anomaly.h). Everything here runs only
// when anomaly mode is on; symbols are looked up only when an error is about to be thrown.
#include "autograd/anomaly.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace cfx::autograd {

namespace {

constexpr int kMaxCapturedFrames = 32;
constexpr size_t kMaxFunctionChars = 160;  // std::function thunks demangle to a page each

std::string demangle(const char* symbol) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(symbol, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(symbol);
}

struct Frame {
  std::string function = "??";
  std::string module = "??";
  uintptr_t offset = 0;  // from the module's load address: what addr2line -e <module> takes
};

Frame describe(void* return_address) {
  // A return address points past the call; one byte back is still in the caller (and its line).
  const char* pc = static_cast<const char*>(return_address) - 1;
  Frame f;
  f.offset = reinterpret_cast<uintptr_t>(pc);
  Dl_info info{};
  if (!dladdr(pc, &info)) return f;
  if (info.dli_sname) f.function = demangle(info.dli_sname);
  const char* path = info.dli_fname && *info.dli_fname ? info.dli_fname : program_invocation_name;
  const char* slash = std::strrchr(path, '/');
  f.module = slash ? slash + 1 : path;
  f.offset = static_cast<uintptr_t>(pc - static_cast<const char*>(info.dli_fbase));
  return f;
}

// How many NaN and Inf values a tensor holds, and the flat index of the first of either.
struct NonFinite {
  int64_t nan = 0, inf = 0, numel = 0, first = -1;
  bool any() const { return nan + inf > 0; }
};

NonFinite count_non_finite(const Tensor& t) {
  NonFinite r;
  if (!t.defined() || !is_floating(t.dtype())) return r;
  NoGradGuard no_grad;  // the copies below must not record nodes (nor be checked themselves)
  const Tensor host = t.contiguous().cpu();
  r.numel = host.numel();
  visit_floating(host.dtype(), "anomaly mode", [&]<class T>() {
    const T* p = host.data_ptr<T>();
    for (int64_t i = 0; i < r.numel; ++i) {
      const bool nan = std::isnan(p[i]), inf = std::isinf(p[i]);
      if ((nan || inf) && r.first < 0) r.first = i;
      r.nan += nan;
      r.inf += inf;
    }
  });
  return r;
}

// "3 NaN, 0 Inf of 12 values, the first at [0, 2]"
std::string counts_str(const NonFinite& c, const Shape& shape) {
  Shape index(shape.size());
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1, rest = c.first; i >= 0; --i) {
    index[i] = shape[i] > 0 ? rest % shape[i] : 0;
    rest = shape[i] > 0 ? rest / shape[i] : 0;
  }
  return cfx::detail::str_cat(c.nan, " NaN, ", c.inf, " Inf of ", c.numel, " values, the first at ", index);
}

const char* kWhyChecked = "(anomaly mode is on: DetectAnomalyGuard or CONFLUX_DETECT_ANOMALY=1)";

}  // namespace

std::vector<void*> capture_creation_site() {
  std::vector<void*> frames(kMaxCapturedFrames);
  frames.resize(static_cast<size_t>(::backtrace(frames.data(), kMaxCapturedFrames)));
  return frames;
}

std::string format_creation_site(const std::vector<void*>& frames, int max_frames) {
  std::ostringstream os;
  // Leave out the frames of record() and of the capture: the op is where the story starts.
  // They are the first few, but not always frame 0 on: under ASan, libasan's backtrace()
  // interceptor comes first. So start after the last autograd frame among the first ones.
  constexpr size_t kCaptureDepth = 8;
  size_t i = 0;
  for (size_t j = 0; j < frames.size() && j < kCaptureDepth; ++j)
    if (describe(frames[j]).function.starts_with("cfx::autograd::")) i = j + 1;
  for (int shown = 0; i < frames.size() && shown < max_frames; ++i, ++shown) {
    Frame f = describe(frames[i]);
    if (f.function.size() > kMaxFunctionChars) f.function = f.function.substr(0, kMaxFunctionChars) + "...";
    os << "    #" << shown << " " << f.function << " (" << f.module << "+0x" << std::hex << f.offset << std::dec
       << ")\n";
    if (f.function == "main") break;
  }
  return os.str();
}

void check_forward_output(const char* op, const Tensor& out, const std::vector<Tensor>& inputs,
                          const std::vector<void*>& site) {
  const NonFinite o = count_non_finite(out);
  if (!o.any()) return;
  std::vector<NonFinite> in;
  bool input_has_inf = false;
  for (const Tensor& t : inputs) {
    in.push_back(count_non_finite(t));
    input_has_inf = input_has_inf || in.back().inf > 0;
  }
  // An Inf that came in through an input (a -inf mask, say) is data, not this op's doing.
  if (o.nan == 0 && input_has_inf) return;

  std::ostringstream m;
  m << "anomaly mode: the forward of '" << op << "' produced " << (o.nan ? "NaN" : "Inf") << " in its output "
    << out.shape() << " " << out.dtype() << " (" << counts_str(o, out.shape()) << "); inputs:";
  int nan_input = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    m << (i ? "," : "") << " #" << i;
    if (!inputs[i].defined()) {
      m << " (undefined)";
      continue;
    }
    m << " " << inputs[i].shape() << " " << inputs[i].dtype();
    if (!is_floating(inputs[i].dtype())) continue;
    if (in[i].any()) m << " (holding " << in[i].nan << " NaN, " << in[i].inf << " Inf)";
    else m << " (finite)";
    if (in[i].nan > 0 && nan_input < 0) nan_input = static_cast<int>(i);
  }
  if (o.nan > 0 && nan_input >= 0)
    m << ". The NaN came in with input #" << nan_input << ", made where anomaly mode does not look (data, "
      << "a parameter, an op that recorded no node)";
  m << ". This op was created at:\n" << format_creation_site(site) << kWhyChecked;
  CFX_FAIL(m.str());
}

void check_backward_gradient(const Node& node, size_t index, const Tensor& grad, const Tensor& grad_output) {
  const NonFinite g = count_non_finite(grad);
  if (!g.any()) return;
  const NonFinite incoming = count_non_finite(grad_output);
  std::ostringstream m;
  m << "anomaly mode: the backward of '" << node.name() << "' returned " << (g.nan ? "NaN" : "Inf")
    << " in the gradient for its input #" << index << " " << grad.shape() << " " << grad.dtype() << " ("
    << counts_str(g, grad.shape()) << "); the op's inputs:";
  for (size_t i = 0; i < node.input_shapes().size(); ++i) m << (i ? "," : "") << " #" << i << " " << node.input_shapes()[i];
  m << "; its output " << node.output_shape() << "; the gradient coming in from its output ";
  if (incoming.any()) m << "already held " << incoming.nan << " NaN, " << incoming.inf << " Inf";
  else m << "was finite";
  if (node.creation_site().empty())
    m << ". Where this op was created is unknown: anomaly mode was off when its forward ran (turn it on "
         "before the forward).\n";
  else
    m << ". This op was created at:\n" << format_creation_site(node.creation_site());
  m << kWhyChecked;
  CFX_FAIL(m.str());
}

namespace {
std::atomic<int> process_default{-1};  // -1: not read yet
}

bool anomaly_mode_from_environment() {
  const char* v = std::getenv("CONFLUX_DETECT_ANOMALY");
  if (!v || !*v || std::strcmp(v, "0") == 0) return false;
  CFX_CHECK(std::strcmp(v, "1") == 0, "CONFLUX_DETECT_ANOMALY: expected 1 (anomaly mode on) or 0 (off), got \"",
            v, "\"");
  return true;
}

bool anomaly_mode_default() {
  int d = process_default.load(std::memory_order_acquire);
  if (d < 0) {  // concurrent first calls read the same variable, so racing here is harmless
    d = anomaly_mode_from_environment() ? 1 : 0;
    process_default.store(d, std::memory_order_release);
  }
  return d == 1;
}

void reset_anomaly_mode_from_environment() {
  process_default.store(anomaly_mode_from_environment() ? 1 : 0, std::memory_order_release);
  forget_thread_anomaly_mode();
}

}  // namespace cfx::autograd
