#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "internal.h"

namespace emu::detail {
namespace {

char* map_stack(size_t* size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  *size = kFiberStackBytes + page;
  void* p = mmap(nullptr, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) fatal("cannot map a %zu-byte stack for an emulated GPU thread", *size);
  mprotect(p, page, PROT_NONE);  // guard page: a stack overflow faults instead of corrupting memory
  return static_cast<char*>(p);
}

}  // namespace

#if CFX_EMU_UCONTEXT

namespace {
// makecontext passes int arguments only: the Fiber* and entry travel as two halves each.
void trampoline(unsigned f_lo, unsigned f_hi, unsigned e_lo, unsigned e_hi) {
  auto* fiber = reinterpret_cast<Fiber*>((uintptr_t{f_hi} << 32) | f_lo);
  auto* entry = reinterpret_cast<void (*)(Fiber*)>((uintptr_t{e_hi} << 32) | e_lo);
  entry(fiber);
  std::abort();  // entry never returns
}
}  // namespace

Fiber* fiber_create(void (*entry)(Fiber*)) {
  auto* f = new Fiber;
  f->mapping = map_stack(&f->mapping_size);
  getcontext(&f->context);
  f->context.uc_stack.ss_sp = f->mapping;
  f->context.uc_stack.ss_size = f->mapping_size;
  f->context.uc_link = nullptr;
  const auto fp = reinterpret_cast<uintptr_t>(f), ep = reinterpret_cast<uintptr_t>(entry);
  makecontext(&f->context, reinterpret_cast<void (*)()>(trampoline), 4, static_cast<unsigned>(fp),
              static_cast<unsigned>(fp >> 32), static_cast<unsigned>(ep), static_cast<unsigned>(ep >> 32));
  return f;
}

void fiber_switch(Fiber* from, Fiber* to) { swapcontext(&from->context, &to->context); }

#else

// cfx_emu_switch(&from->sp, to->sp): pushes the System V callee-saved state (rbp, rbx,
// r12-r15, then MXCSR and the x87 control word in one 8-byte slot), stores rsp, loads the
// other fiber's rsp and pops its state in reverse; `ret` continues where that fiber left.
// cfx_emu_start is where a new fiber's first switch returns to: r12 holds the Fiber*, rbx
// the entry function (both placed in the initial frame by fiber_create); its CFI marks the
// bottom of the fiber's stack for debuggers and unwinders.
asm(R"(
    .text
    .p2align 4
    .globl cfx_emu_switch
    .hidden cfx_emu_switch
    .type cfx_emu_switch, @function
cfx_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size cfx_emu_switch, .-cfx_emu_switch

    .p2align 4
    .globl cfx_emu_start
    .hidden cfx_emu_start
    .type cfx_emu_start, @function
cfx_emu_start:
    .cfi_startproc
    .cfi_undefined rip
    movq %r12, %rdi
    callq *%rbx
    ud2
    .cfi_endproc
    .size cfx_emu_start, .-cfx_emu_start
)");

extern "C" void cfx_emu_switch(void** save_sp, void* load_sp);
extern "C" void cfx_emu_start();

Fiber* fiber_create(void (*entry)(Fiber*)) {
  auto* f = new Fiber;
  f->mapping = map_stack(&f->mapping_size);
  // The initial frame, as cfx_emu_switch would have left it, from the saved rsp upward:
  // [0] MXCSR | x87 CW, [1] r15, [2] r14, [3] r13, [4] r12 = f, [5] rbx = entry, [6] rbp,
  // [7] return address = cfx_emu_start. `top` is 16-byte aligned, so cfx_emu_start runs with
  // rsp == top and its call enters `entry` with the alignment the ABI requires.
  auto* top = reinterpret_cast<uint64_t*>(f->mapping + f->mapping_size);
  uint64_t* frame = top - 8;
  uint32_t mxcsr;
  uint16_t fpu_cw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpu_cw));
  frame[0] = mxcsr | (uint64_t{fpu_cw} << 32);
  frame[1] = frame[2] = frame[3] = 0;
  frame[4] = reinterpret_cast<uint64_t>(f);
  frame[5] = reinterpret_cast<uint64_t>(entry);
  frame[6] = 0;
  frame[7] = reinterpret_cast<uint64_t>(&cfx_emu_start);
  f->sp = frame;
  return f;
}

void fiber_switch(Fiber* from, Fiber* to) { cfx_emu_switch(&from->sp, to->sp); }

#endif

}  // namespace emu::detail
