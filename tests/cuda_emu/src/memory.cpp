// Device memory: one arena of address space, reserved once (PROT_NONE, MAP_NORESERVE), out of
// which cudaMalloc hands 256-byte aligned blocks (first fit over freed ranges, else the top).
//
// The arena is readable and writable only while a DeviceAccess exists (kernels, cudaMemcpy*,
// cuBLAS); the rest of the time it is PROT_NONE, so host code that dereferences a device
// pointer faults here as it would on a GPU (where it is a segfault too), and the fault
// handler below says so. New allocations are filled with 0xFF bytes (NaN for floats, -1 for
// integers), as a GPU gives no zeroed memory: a kernel that reads what nobody wrote shows up.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "internal.h"

namespace emu::detail {
namespace {

constexpr size_t kReserved = size_t{64} << 30;  // address space for all devices together
constexpr size_t kCapacity = size_t{16} << 30;  // per emulated device, like a 16 GiB GPU
constexpr size_t kAlign = 256;                  // cudaMalloc's alignment
// Protection changes cover whole 2 MiB steps: with transparent huge pages the arena's resident
// memory is then mapped by few page-table entries, and the mprotect calls around every kernel
// and copy stay cheap (with 4 KiB pages they cost ~0.1 ms each once tensors are resident).
constexpr size_t kProtectStep = size_t{2} << 20;

struct Block {
  size_t size;       // carved from the arena (rounded up to kAlign)
  size_t requested;  // asked for: the bound every range check uses, so small overruns show
  int device;
};

struct Arena {
  char* base = nullptr;
  size_t top = 0;                     // bytes of the arena ever handed out (high-water mark)
  size_t accessible = 0;              // bytes from base currently PROT_READ | PROT_WRITE
  std::map<size_t, size_t> free;      // offset -> size: freed ranges below top, coalesced
  std::map<size_t, Block> live;       // offset -> block
  std::vector<size_t> used;           // bytes allocated per device
  int access_depth = 0;               // DeviceAccess nesting
};

Arena g_arena;

size_t page_size() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}
size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

bool reserve() {
  if (g_arena.base) return true;
  // One step more than needed, so that the arena can start on a huge-page boundary.
  void* p = mmap(nullptr, kReserved + kProtectStep, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  g_arena.base = reinterpret_cast<char*>(round_up(reinterpret_cast<uintptr_t>(p), kProtectStep));
  madvise(g_arena.base, kReserved, MADV_HUGEPAGE);  // a hint: fine if the system has no THP
  g_arena.used.assign(static_cast<size_t>(device_count()), 0);
  return true;
}

// While device access is on, keep [base, base + top) accessible as top grows.
void cover_top() {
  Arena& a = g_arena;
  if (a.access_depth == 0 || a.top <= a.accessible) return;
  const size_t want = round_up(a.top, kProtectStep);
  if (mprotect(a.base + a.accessible, want - a.accessible, PROT_READ | PROT_WRITE) != 0)
    fatal("mprotect of device memory failed");
  a.accessible = want;
}

// First fit among the freed ranges, else the top of the arena; the offset, or SIZE_MAX.
size_t carve(size_t bytes) {
  Arena& a = g_arena;
  for (auto it = a.free.begin(); it != a.free.end(); ++it) {
    if (it->second < bytes) continue;
    const size_t offset = it->first, rest = it->second - bytes;
    a.free.erase(it);
    if (rest) a.free.emplace(offset + bytes, rest);
    return offset;
  }
  if (bytes > kReserved - a.top) return SIZE_MAX;
  const size_t offset = a.top;
  a.top += bytes;
  return offset;
}

void give_back(size_t offset, size_t size) {
  Arena& a = g_arena;
  // Return whole pages to the OS (the next allocation there gets fresh poison anyway).
  const size_t page = page_size();
  const size_t lo = round_up(offset, page), hi = (offset + size) / page * page;
  if (hi > lo) madvise(a.base + lo, hi - lo, MADV_DONTNEED);
  auto next = a.free.lower_bound(offset);
  if (next != a.free.end() && offset + size == next->first) {
    size += next->second;
    next = a.free.erase(next);
  }
  if (next != a.free.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += size;
      return;
    }
  }
  a.free.emplace(offset, size);
}

// ---- fault diagnostics ------------------------------------------------------------------------

struct sigaction g_previous;  // the handler ours hands over to
bool g_installed = false;

void say(const char* text) { (void)!write(STDERR_FILENO, text, strlen(text)); }

void on_segv(int sig, siginfo_t* info, void* context) {
  const void* addr = info->si_addr;
  char msg[320];
  msg[0] = 0;
  if (in_arena(addr)) {
    const size_t offset = static_cast<size_t>(static_cast<const char*>(addr) - g_arena.base);
    if (g_arena.access_depth == 0)
      std::snprintf(msg, sizeof msg,
                    "\nconflux cuda emulator: host code dereferenced device memory (address %p, arena offset %zu): "
                    "device memory is only reachable through kernels and cudaMemcpy* (a GPU faults here too)\n",
                    addr, offset);
    else
      std::snprintf(msg, sizeof msg,
                    "\nconflux cuda emulator: device code accessed unallocated device memory (address %p, arena "
                    "offset %zu, beyond every allocation): an illegal address on a GPU\n",
                    addr, offset);
  } else if (address_in_kernel_stack_guard(addr)) {
    std::snprintf(msg, sizeof msg,
                  "\nconflux cuda emulator: an emulated GPU thread overflowed its %zu KiB stack (address %p)\n",
                  size_t{256}, addr);
  }
  say(msg);
  // Hand over: to a previous handler (a test framework's, which names the test), or to the
  // default action when the faulting instruction runs again.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  signal(SIGSEGV, SIG_DFL);
}

}  // namespace

cudaError_t device_malloc(void** ptr, size_t bytes, int device) {
  std::lock_guard lock(api_mutex());
  ensure_fault_handler();
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (!reserve()) return record(cudaErrorMemoryAllocation);
  Arena& a = g_arena;
  if (bytes > kCapacity - a.used[device]) return record(cudaErrorMemoryAllocation);
  const size_t size = round_up(bytes, kAlign);
  const size_t offset = carve(size);
  if (offset == SIZE_MAX) return record(cudaErrorMemoryAllocation);
  a.live.emplace(offset, Block{size, bytes, device});
  a.used[device] += size;
  {
    DeviceAccess access;
    cover_top();
    std::memset(a.base + offset, 0xFF, size);
  }
  *ptr = a.base + offset;
  return cudaSuccess;
}

cudaError_t device_free(void* ptr) {
  std::lock_guard lock(api_mutex());
  if (!ptr) return cudaSuccess;
  Arena& a = g_arena;
  if (!in_arena(ptr)) return record(cudaErrorInvalidValue);
  auto it = a.live.find(static_cast<size_t>(static_cast<char*>(ptr) - a.base));
  if (it == a.live.end()) return record(cudaErrorInvalidValue);  // not the start of a live block
  a.used[it->second.device] -= it->second.size;
  give_back(it->first, it->second.size);
  a.live.erase(it);
  return cudaSuccess;
}

bool in_arena(const void* p) {
  const char* c = static_cast<const char*>(p);
  return g_arena.base && c >= g_arena.base && c < g_arena.base + kReserved;
}

bool find_allocation(const void* p, Allocation* out) {
  if (!in_arena(p)) return false;
  const size_t offset = static_cast<size_t>(static_cast<const char*>(p) - g_arena.base);
  auto it = g_arena.live.upper_bound(offset);
  if (it == g_arena.live.begin()) return false;
  --it;
  if (offset > it->first + it->second.requested) return false;
  if (out) *out = {g_arena.base + it->first, it->second.requested, it->second.device};
  return true;
}

bool device_range(const void* p, size_t bytes, Allocation* out) {
  Allocation a;
  if (!find_allocation(p, &a)) return false;
  const size_t offset = static_cast<size_t>(static_cast<const char*>(p) - a.base);
  if (bytes > a.size - offset) return false;
  if (out) *out = a;
  return true;
}

DeviceAccess::DeviceAccess() {
  Arena& a = g_arena;
  if (a.access_depth++ == 0) cover_top();
}

DeviceAccess::~DeviceAccess() {
  Arena& a = g_arena;
  if (--a.access_depth == 0 && a.accessible) {
    mprotect(a.base, a.accessible, PROT_NONE);
    a.accessible = 0;
  }
}

void ensure_fault_handler() {
  struct sigaction current;
  sigaction(SIGSEGV, nullptr, &current);
  if (g_installed && (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == &on_segv) return;
  // A stack overflow on a fiber needs the handler on another stack; use the one a test
  // framework set up, else our own.
  stack_t ss;
  if (sigaltstack(nullptr, &ss) == 0 && (ss.ss_flags & SS_DISABLE)) {
    static std::vector<char> alt(size_t{64} << 10);
    ss.ss_sp = alt.data();
    ss.ss_size = alt.size();
    ss.ss_flags = 0;
    sigaltstack(&ss, nullptr);
  }
  struct sigaction ours {};
  ours.sa_sigaction = &on_segv;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  g_previous = current;
  sigaction(SIGSEGV, &ours, nullptr);
  g_installed = true;
}

}  // namespace emu::detail
