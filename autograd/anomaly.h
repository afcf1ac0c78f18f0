// Anomaly mode's machinery: what record() and the engine call when it is on (the switch
// itself, DetectAnomalyGuard, is in autograd/grad_mode.h).
//
// Forward: record() checks each float output of a node-recording op. NaN always throws (NaN is
// never a value a model means); +-Inf throws only when no input holds an Inf, i.e. when this op
// made it (overflow, log(0), x/0): masking with -inf (masked_fill(scores, mask, -inf), whose
// fill value is a scalar input) and everything downstream of the mask stay legal. Ops that
// record no node (no input requires grad) are not checked, as in torch.
// Backward: the engine checks every gradient a node's backward returns; any NaN or Inf throws.
// Both errors name the op, its shapes, the count and first index of the bad values, and where
// the op was created:
//
//   anomaly mode: the forward of 'log' produced NaN in its output [5, 4] float32 (2 NaN, 0 Inf
//   of 20 values, the first at [1, 1]); inputs: #0 [5, 4] float32 (finite). This op was created at:
//     #0 ?? (libconflux.so.0+0xd84d1)                      <- a file-local function (no symbol)
//     #1 cfx::log(cfx::Tensor const&) (libconflux.so.0+0xd88c7)
//     #2 anomaly_test::log_of_linear_loss(cfx::nn::Linear const&, cfx::Tensor const&) (conflux_test_autograd+0x13405)
//     ...
//     #5 main (conflux_test_autograd+0x12db1)
//   (anomaly mode is on: DetectAnomalyGuard or CONFLUX_DETECT_ANOMALY=1) (autograd/anomaly.cpp:147)
//
// The creation site is a backtrace taken in record() (glibc backtrace(), symbolised with
// dladdr and demangled only when an error is thrown). Why not std::source_location: record()
// is called inside ops/, so its source location would always name ops/*.cpp, never the user's
// code. Function names come from dynamic symbol tables: Conflux's own functions are named;
// an executable's are named when it is linked with -rdynamic (CMake ENABLE_EXPORTS, as
// tests/autograd does); other frames print module+offset, which `addr2line -f -C -e <module>
// <offset>` resolves.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cfx::autograd {

class Node;

// Return addresses of the current call stack above the autograd frames; cheap (no symbols).
std::vector<void*> capture_creation_site();
// "    #0 cfx::log(cfx::Tensor const&) (libconflux.so.0+0x21d0b4)\n    #1 ...", at most
// `max_frames` frames, stopping after main(); autograd's own frames are left out.
std::string format_creation_site(const std::vector<void*>& frames, int max_frames = 12);

// Throws cfx::Error when `out` breaks the forward rule above; `site` is the op's creation site.
void check_forward_output(const char* op, const Tensor& out, const std::vector<Tensor>& inputs,
                          const std::vector<void*>& site);
// Throws cfx::Error when `grad` (what node's backward returned for input `index`, from the
// incoming `grad_output`) holds a NaN or an Inf.
void check_backward_gradient(const Node& node, size_t index, const Tensor& grad, const Tensor& grad_output);

// CONFLUX_DETECT_ANOMALY parsed now: true for "1", false for "0", empty or unset; throws
// cfx::Error naming the variable for any other value.
bool anomaly_mode_from_environment();
// The process default: the variable as read at the first call, or at the last reset below.
bool anomaly_mode_default();
// Reads the variable again into the process default and makes the calling thread take it at
// its next query (its guard or set_anomaly_mode_enabled state is dropped). For tests.
void reset_anomaly_mode_from_environment();
// The calling thread forgets its state and takes the process default at its next query.
void forget_thread_anomaly_mode();

}  // namespace cfx::autograd
