#include "core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/detail/static_tls.h"

namespace cfx {
namespace {

CFX_STATIC_TLS thread_local bool in_parallel_region = false;

int default_num_threads() {
  if (const char* env = std::getenv("CONFLUX_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// Workers sleep on a condition variable; a parallel_for publishes one job (a function of
// the chunk index) and a chunk count, the caller takes chunks too, and waits until all done.
class ThreadPool {
 public:
  explicit ThreadPool(int n) : size_(n) {
    for (int i = 0; i + 1 < n; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return size_; }

  void run(int64_t chunks, const std::function<void(int64_t)>& job) {
    std::unique_lock lock(run_mutex_);  // one parallel region at a time
    {
      std::lock_guard g(mutex_);
      job_ = &job;
      next_ = 0;
      total_ = chunks;
      done_ = 0;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    take_chunks();
    std::unique_lock g(mutex_);
    finished_.wait(g, [&] { return done_ == total_; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock g(mutex_);
        wake_.wait(g, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      take_chunks();
    }
  }

  void take_chunks() {
    in_parallel_region = true;
    for (;;) {
      int64_t chunk;
      const std::function<void(int64_t)>* job;
      {
        std::lock_guard g(mutex_);
        if (!job_ || next_ >= total_) break;
        chunk = next_++;
        job = job_;
      }
      std::exception_ptr err;
      try {
        (*job)(chunk);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard g(mutex_);
      if (err && !error_) error_ = err;
      if (++done_ == total_) finished_.notify_all();
    }
    in_parallel_region = false;
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, finished_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t next_ = 0, total_ = 0, done_ = 0;
  uint64_t generation_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

std::mutex pool_mutex;
std::unique_ptr<ThreadPool>& pool_slot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}

ThreadPool& pool() {
  std::lock_guard lock(pool_mutex);
  auto& p = pool_slot();
  if (!p) p = std::make_unique<ThreadPool>(default_num_threads());
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  std::lock_guard lock(pool_mutex);
  pool_slot() = std::make_unique<ThreadPool>(n > 0 ? n : default_num_threads());
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  ThreadPool& p = pool();
  const int64_t chunks = std::min<int64_t>(p.size(), (n + grain - 1) / grain);
  if (chunks <= 1 || in_parallel_region) {
    fn(begin, end);
    return;
  }
  const int64_t per = (n + chunks - 1) / chunks;
  p.run(chunks, [&](int64_t c) {
    const int64_t lo = begin + c * per, hi = std::min(end, lo + per);
    if (lo < hi) fn(lo, hi);
  });
}

}  // namespace cfx
