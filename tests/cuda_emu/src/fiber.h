// Fibers: stackful coroutines the scheduler runs emulated GPU threads on. On x86-64 a
// switch is a few instructions (callee-saved registers and the stack pointer); elsewhere
// it falls back to swapcontext, which is correct but makes a signal-mask system call per
// switch (the tests/cuda suite then takes minutes instead of seconds).
#pragma once

#include <cstddef>

#if !defined(__x86_64__) || defined(CONFLUX_CUDA_EMU_UCONTEXT)
#define CFX_EMU_UCONTEXT 1
#include <ucontext.h>
#endif

namespace emu::detail {

struct Fiber {
#if CFX_EMU_UCONTEXT
  ucontext_t context;
#else
  void* sp = nullptr;  // saved stack pointer while switched out
#endif
  char* mapping = nullptr;  // the stack, lowest page a PROT_NONE guard (overflow faults)
  size_t mapping_size = 0;
};

inline constexpr size_t kFiberStackBytes = size_t{256} << 10;

// A fiber that will run entry(fiber) on its own stack when first switched to; entry must
// never return.
Fiber* fiber_create(void (*entry)(Fiber*));
// Saves the running context into `from` and resumes `to`. `from` may be a Fiber that only
// ever holds the launching thread's context (no stack of its own).
void fiber_switch(Fiber* from, Fiber* to);

}  // namespace emu::detail
