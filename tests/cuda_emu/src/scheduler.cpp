// Runs a grid: blocks one after another on the launching OS thread; inside a block every
// thread is a fiber, switched only at barriers (cooperative), so a block's threads interleave
// exactly where a GPU would have to synchronise them and nowhere else.
//
// Fibers are made lazily and reused: a fiber runs thread after thread until one of them
// blocks at a barrier; only then is another fiber needed for the next thread. A kernel
// without barriers therefore runs on one fiber with no switches at all.
//
// The order is fixed: blocks in ascending linear index, threads started in ascending linear id.
// CONFLUX_CUDA_EMU_SCHEDULE=reverse runs both in descending order instead, so code that only
// works because a lower block or thread ran first (a missing barrier, blocks that depend on
// each other) fails in one of the two schedules.
//
// Barriers count live threads (not yet returned; threads not yet started count): the block
// barrier of __syncthreads, and per warp (32 consecutive linear thread ids, x fastest) the
// barrier of __syncwarp and of each warp shuffle. When no thread can run and some are still
// live, the block is deadlocked (a barrier some threads never reach): the emulator stops and
// says where, which a GPU would show as a hang.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "fiber.h"
#include "internal.h"

namespace emu::detail {

uint3 thread_idx, block_idx;
dim3 block_dim, grid_dim;
uint64_t block_serial = 0;

namespace {

struct Thread {
  uint3 idx;
  Fiber* fiber = nullptr;  // while started and not returned
};

struct Warp {
  uint32_t live = 0;          // lanes not yet returned (unstarted ones included)
  uint32_t arrived = 0;       // lanes waiting at the current warp barrier
  uint32_t mask = 0;          // that barrier's mask, as its first lane gave it
  uint32_t took_part = 0;     // lanes that passed the last completed barrier (shuffle sources)
  uint64_t slot[32] = {};     // shuffle values, one per lane
};

// The block being run (one at a time).
struct Block {
  Body body{};
  const Config* cfg = nullptr;
  unsigned n = 0;                 // threads in the block
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  unsigned next = 0;              // next thread to start
  unsigned live = 0;              // threads not yet returned
  int current = -1;               // the running thread
  std::vector<int> at_syncthreads;  // threads waiting at __syncthreads, in arrival order
  std::deque<int> runnable;         // threads released by a barrier, waiting to be resumed
};

Block g_block;
bool g_running = false;
bool g_reverse = false;            // descending order (reverse_schedule())
Fiber g_launcher;                  // the launching thread's own context
std::vector<Fiber*> g_idle;        // fibers with no thread
std::vector<const Fiber*> g_all;   // every fiber made (stack-overflow diagnostics)

std::string where(const Config& cfg) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "block (%u,%u,%u) of the launch at %s:%u in %s", block_idx.x, block_idx.y,
                block_idx.z, cfg.site.file_name(), static_cast<unsigned>(cfg.site.line()), cfg.site.function_name());
  return buf;
}

void set_current(int t) {
  g_block.current = t;
  thread_idx = g_block.threads[t].idx;
}

[[noreturn]] void deadlock() {
  const Block& b = g_block;
  std::string detail;
  if (!b.at_syncthreads.empty()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %zu wait at __syncthreads;", b.at_syncthreads.size());
    detail += buf;
  }
  int shown = 0;
  for (size_t w = 0; w < b.warps.size(); ++w) {
    if (!b.warps[w].arrived) continue;
    if (++shown > 8) {
      detail += " ...";
      break;
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, " warp %zu: lanes 0x%08x wait at a warp barrier (mask 0x%08x, live lanes 0x%08x);",
                  w, b.warps[w].arrived, b.warps[w].mask, b.warps[w].live);
    detail += buf;
  }
  fatal("deadlock in %s: %u thread(s) have not returned and none can go on:%s a barrier that some live threads "
        "never reach (on a GPU: a hang or undefined behaviour)",
        where(*b.cfg).c_str(), b.live, detail.c_str());
}

void fiber_main(Fiber* self);

// The fiber to run next, with the thread globals set for it: a thread a barrier released,
// else a free fiber to start the next thread on, else (block finished) the launcher.
Fiber* pick_next() {
  Block& b = g_block;
  if (!b.runnable.empty()) {
    const int t = b.runnable.front();
    b.runnable.pop_front();
    set_current(t);
    return b.threads[t].fiber;
  }
  if (b.next < b.n) {
    if (g_idle.empty()) {
      Fiber* f = fiber_create(&fiber_main);
      g_all.push_back(f);
      return f;
    }
    Fiber* f = g_idle.back();
    g_idle.pop_back();
    return f;
  }
  if (b.live == 0) return &g_launcher;
  deadlock();
}

void switch_away(Fiber* self) {
  Fiber* next = pick_next();
  if (next != self) fiber_switch(self, next);
}

// Suspends the running thread until a barrier makes it runnable again.
void wait() { switch_away(g_block.threads[g_block.current].fiber); }

void release_syncthreads() {
  Block& b = g_block;
  for (int t : b.at_syncthreads)
    if (t != b.current) b.runnable.push_back(t);
  b.at_syncthreads.clear();
}

void release_warp(Warp& w, int warp) {
  Block& b = g_block;
  w.took_part = w.arrived;
  for (uint32_t lanes = w.arrived; lanes; lanes &= lanes - 1) {
    const int t = warp * 32 + std::countr_zero(lanes);
    if (t != b.current) b.runnable.push_back(t);
  }
  w.arrived = 0;
}

void thread_exited(int t) {
  Block& b = g_block;
  b.threads[t].fiber = nullptr;
  --b.live;
  Warp& w = b.warps[t / 32];
  w.live &= ~(1u << (t % 32));
  // A barrier whose other participants have all arrived completes without this thread.
  if (!b.at_syncthreads.empty() && b.at_syncthreads.size() == b.live) release_syncthreads();
  if (w.arrived && w.arrived == (w.mask & w.live)) release_warp(w, t / 32);
}

// Every fiber runs this forever: start threads one after another while nothing else waits
// to run; a thread that blocks keeps the fiber until it returns.
void fiber_main(Fiber* self) {
  for (;;) {
    Block& b = g_block;
    while (b.next < b.n && b.runnable.empty()) {
      const int t = static_cast<int>(g_reverse ? b.n - 1 - b.next : b.next);
      ++b.next;
      b.threads[t].fiber = self;
      set_current(t);
      try {
        b.body.run(b.body.self);
      } catch (...) {
        fatal("a C++ exception escaped a kernel thread in %s", where(*b.cfg).c_str());
      }
      thread_exited(t);
    }
    g_idle.push_back(self);
    switch_away(self);
  }
}

void run_block() {
  Block& b = g_block;
  ++block_serial;  // a new block: its shared memory is poisoned again on first use
  b.next = 0;
  b.live = b.n;
  b.current = -1;
  b.at_syncthreads.clear();
  b.runnable.clear();
  for (Thread& t : b.threads) t.fiber = nullptr;
  for (size_t w = 0; w < b.warps.size(); ++w) {
    const unsigned lanes = std::min(32u, b.n - static_cast<unsigned>(w) * 32);
    b.warps[w].live = lanes == 32 ? ~0u : (1u << lanes) - 1;
    b.warps[w].arrived = b.warps[w].took_part = 0;
  }
  fiber_switch(&g_launcher, pick_next());  // back here once every thread has returned
}

Warp& current_warp() { return g_block.warps[g_block.current / 32]; }

bool reverse_schedule() {
  static const bool reverse = [] {
    const char* v = std::getenv("CONFLUX_CUDA_EMU_SCHEDULE");
    if (v && *v && std::strcmp(v, "forward") != 0 && std::strcmp(v, "reverse") != 0)
      fatal("CONFLUX_CUDA_EMU_SCHEDULE=%s: expected forward or reverse", v);
    return v && std::strcmp(v, "reverse") == 0;
  }();
  return reverse;
}

void require_kernel(const char* what) {
  if (!g_running) fatal("%s called outside a kernel", what);
}

}  // namespace

void run_grid(const Config& cfg, Body body) {
  std::lock_guard lock(api_mutex());
  if (g_running) fatal("a kernel launched another kernel (dynamic parallelism is not emulated)");
  ensure_fault_handler();
  DeviceAccess access;
  Block& b = g_block;
  b.body = body;
  b.cfg = &cfg;
  b.n = cfg.block.x * cfg.block.y * cfg.block.z;
  b.threads.resize(b.n);
  b.warps.resize((b.n + 31) / 32);
  unsigned t = 0;
  for (unsigned z = 0; z < cfg.block.z; ++z)
    for (unsigned y = 0; y < cfg.block.y; ++y)
      for (unsigned x = 0; x < cfg.block.x; ++x) b.threads[t++].idx = {x, y, z};
  block_dim = cfg.block;
  grid_dim = cfg.grid;
  g_reverse = reverse_schedule();
  g_running = true;
  const uint64_t gx = cfg.grid.x, gy = cfg.grid.y, blocks = gx * gy * cfg.grid.z;
  for (uint64_t i = 0; i < blocks; ++i) {
    const uint64_t k = g_reverse ? blocks - 1 - i : i;  // linear block index, x fastest
    block_idx = {static_cast<unsigned>(k % gx), static_cast<unsigned>(k / gx % gy), static_cast<unsigned>(k / (gx * gy))};
    run_block();
  }
  g_running = false;
}

void sync_block() {
  require_kernel("__syncthreads");
  Block& b = g_block;
  b.at_syncthreads.push_back(b.current);
  if (b.at_syncthreads.size() == b.live) {
    release_syncthreads();  // the last arrival goes on without a switch
    return;
  }
  wait();
}

int lane_id() {
  require_kernel("a warp intrinsic");
  return g_block.current % 32;
}

void sync_warp(unsigned mask) {
  require_kernel("__syncwarp / __shfl_*_sync");
  Block& b = g_block;
  Warp& w = current_warp();
  const int warp = b.current / 32, lane = b.current % 32;
  if (!(mask & (1u << lane)))
    fatal("lane %d of warp %d called a warp barrier or shuffle with mask 0x%08x, which leaves it out, in %s", lane,
          warp, mask, where(*b.cfg).c_str());
  if (!w.arrived) w.mask = mask;
  else if (w.mask != mask)
    fatal("lanes of warp %d meet at a warp barrier or shuffle with different masks (0x%08x and 0x%08x) in %s", warp,
          w.mask, mask, where(*b.cfg).c_str());
  w.arrived |= 1u << lane;
  if (w.arrived == (w.mask & w.live)) {
    release_warp(w, warp);
    return;
  }
  wait();
}

// Two warp barriers: after the first every participant's value is in its slot; the second
// keeps a fast lane from overwriting its slot (next shuffle) before a slow one has read it.
uint64_t shuffle(unsigned mask, uint64_t bits, int src) {
  require_kernel("__shfl_*_sync");
  Warp& w = current_warp();
  const int lane = g_block.current % 32;
  w.slot[lane] = bits;
  sync_warp(mask);
  if (src < 0 || src >= 32 || !(w.took_part & (1u << src)))
    fatal("lane %d of warp %d shuffles from lane %d, which does not take part (mask 0x%08x; undefined on a GPU) in %s",
          lane, g_block.current / 32, src, mask, where(*g_block.cfg).c_str());
  const uint64_t got = w.slot[src];
  sync_warp(mask);
  return got;
}

bool address_in_kernel_stack_guard(const void* p) {
  const char* c = static_cast<const char*>(p);
  for (const Fiber* f : g_all)
    if (c >= f->mapping && c < f->mapping + (f->mapping_size - kFiberStackBytes)) return true;
  return false;
}

}  // namespace emu::detail
