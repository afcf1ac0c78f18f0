// kill -9 at any moment (issue 17): conflux-uea trains as a child process (the built binary,
// CONFLUX_UEA_BIN), is sent SIGKILL at seeded random moments and at chosen points of the
// checkpoint protocol (apps/common/run_state.h), and is restarted with --resume each time until
// the run completes. After every kill: state.json parses and names a complete checkpoint, no
// file under a checkpoint name is partial, at most one checkpoint interval of work is lost, and
// the next session resumes from exactly the committed step. At the end the parameters, best.h5
// and the metrics equal those of an uninterrupted run bit for bit. A second case makes a
// checkpoint write fail (the file-size limit: a full disk) and checks that it fails loudly and
// keeps the previous checkpoint.
//
// The child is fork + exec of the binary, not a fork that keeps running the test's code: the
// test process has thread-pool threads, and after fork only async-signal-safe calls are safe
// until exec. The kill points at file operations come from inotify on the run directory: the
// child is killed as soon as the event is read, so each point is "at or just after" the event;
// what the directory held at the kill (temporary files) is recorded and printed.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app_testing.h"
#include "apps/common/cli.h"
#include "apps/common/run_state.h"
#include "apps/uea/uea.h"
#include "nn/checkpoint.h"

namespace fs = std::filesystem;
using cfx::testing::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::string ckpt_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "ckpt_%06lld.h5", static_cast<long long>(step));
  return buf;
}

bool is_ckpt_name(const std::string& n) {  // ckpt_<6 digits>.h5, exactly what run_state writes
  if (n.size() != 14 || n.rfind("ckpt_", 0) != 0 || n.substr(11) != ".h5") return false;
  for (size_t i = 5; i < 11; ++i)
    if (n[i] < '0' || n[i] > '9') return false;
  return true;
}

// One conflux-uea process; SIGKILLed (by its pid) and reaped if the test leaves early.
struct Child {
  pid_t pid = -1;
  int status = 0;
  Clock::time_point start;

  // stdout and stderr go to `log`; fsize_limit: RLIMIT_FSIZE with SIGXFSZ ignored, so a write
  // past it fails with EFBIG as on a full disk instead of killing the process.
  Child(const std::vector<std::string>& args, const fs::path& log, std::optional<rlim_t> fsize_limit = std::nullopt) {
    std::vector<std::string> all{CONFLUX_UEA_BIN};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_path = log.string();
    start = Clock::now();
    pid = ::fork();
    REQUIRE_MESSAGE(pid >= 0, "fork: ", std::strerror(errno));
    if (pid == 0) {  // only async-signal-safe calls until exec
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      if (fsize_limit) {
        const rlimit r{*fsize_limit, *fsize_limit};
        ::setrlimit(RLIMIT_FSIZE, &r);
        ::signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
  }
  bool exited() {  // non-blocking
    if (pid <= 0) return true;
    if (::waitpid(pid, &status, WNOHANG) == pid) pid = -1;
    return pid <= 0;
  }
  void kill9() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    pid = -1;
  }
  int wait() {
    if (pid > 0) ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool killed_by_sigkill() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }
};

// inotify on the run directory: opens (a temporary file being written or fsync'ed), creations
// and renames onto a name (a checkpoint or state.json committed).
class DirWatch {
 public:
  explicit DirWatch(const fs::path& dir) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    REQUIRE_MESSAGE(fd_ >= 0, "inotify_init1: ", std::strerror(errno));
    REQUIRE_MESSAGE(::inotify_add_watch(fd_, dir.c_str(), IN_OPEN | IN_CREATE | IN_MOVED_TO) >= 0,
                    "inotify_add_watch ", dir.string(), ": ", std::strerror(errno));
  }
  ~DirWatch() { ::close(fd_); }
  DirWatch(const DirWatch&) = delete;
  DirWatch& operator=(const DirWatch&) = delete;

  struct Event {
    uint32_t mask;
    std::string name;
  };
  // The events that arrive within `wait_ms` (none when it passes first).
  std::vector<Event> poll(double wait_ms) {
    pollfd p{fd_, POLLIN, 0};
    const timespec ts{static_cast<time_t>(wait_ms / 1000), static_cast<long>(std::fmod(wait_ms, 1000.0) * 1e6)};
    std::vector<Event> out;
    if (::ppoll(&p, 1, &ts, nullptr) <= 0) return out;
    alignas(inotify_event) char buf[16384];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf + i);
        if (e->len > 0) out.push_back({e->mask, std::string(e->name)});
        i += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
    return out;
  }

 private:
  int fd_;
};

// Where a session is killed.
enum class Point {
  timer,          // a random delay after the start
  mid_epoch,      // a random delay after the session's first checkpoint: in a step or an evaluation
  ckpt_write,     // ckpt_<step>.h5.tmp opened by HDF5 (being written)
  ckpt_fsync,     // ... opened again, to be fsync'ed (written, not yet renamed)
  ckpt_renamed,   // ckpt_<step>.h5 renamed into place, state.json not yet written
  state_write,    // state.json.tmp opened
  state_renamed,  // state.json committed (old checkpoints being pruned)
  log_truncate,   // metrics.jsonl.tmp opened: --resume dropping the lines after the checkpoint
  best_write,     // best.h5.tmp opened (an evaluation improved the best)
  after_last,     // the last checkpoint renamed, then a random delay (final evaluation, summary)
};

const char* point_name(Point p) {
  switch (p) {
    case Point::timer: return "timer";
    case Point::mid_epoch: return "random delay after a checkpoint";
    case Point::ckpt_write: return "ckpt .tmp opened (HDF5 write)";
    case Point::ckpt_fsync: return "ckpt .tmp reopened (fsync)";
    case Point::ckpt_renamed: return "ckpt renamed, before state.json";
    case Point::state_write: return "state.json.tmp opened";
    case Point::state_renamed: return "state.json committed (pruning)";
    case Point::log_truncate: return "metrics.jsonl.tmp opened (resume truncation)";
    case Point::best_write: return "best.h5.tmp opened";
    case Point::after_last: return "after the last ckpt";
  }
  return "?";
}

struct Kill {
  Point point;
  int skip = 0;            // matching events to let pass first
  double delay_ms = 0;     // after the event (timer: after the start)
  bool torn_log = false;   // after the kill, leave a torn last line in metrics.jsonl
};

// A step checkpoint renamed into place (committed, though state.json may not name it yet).
bool is_ckpt_commit(const DirWatch::Event& e) { return (e.mask & IN_MOVED_TO) && is_ckpt_name(e.name); }

// Whether inotify event `e` is (one more occurrence of) point `p`; `opens` counts opens per name
// (HDF5's create is a checkpoint temporary's first open, the fsync its second).
bool matches(Point p, const DirWatch::Event& e, std::map<std::string, int>& opens, const std::string& last_ckpt) {
  const std::string& n = e.name;
  const bool ckpt_tmp = n.size() == 18 && n.substr(14) == ".tmp" && is_ckpt_name(n.substr(0, 14));
  const int open_no = (e.mask & IN_OPEN) ? ++opens[n] : 0;
  switch (p) {
    case Point::ckpt_write: return ckpt_tmp && open_no == 1;
    case Point::ckpt_fsync: return ckpt_tmp && open_no == 2;
    case Point::ckpt_renamed:
    case Point::mid_epoch: return is_ckpt_commit(e);
    case Point::state_write: return open_no == 1 && n == "state.json.tmp";
    case Point::state_renamed: return (e.mask & IN_MOVED_TO) && n == "state.json";
    case Point::log_truncate: return open_no == 1 && n == "metrics.jsonl.tmp";
    case Point::best_write: return open_no == 1 && n == "best.h5.tmp";
    case Point::after_last: return (e.mask & IN_MOVED_TO) && n == last_ckpt;
    case Point::timer: return false;
  }
  return false;
}

// Lines of a metrics file; a torn last line (a write cut short) is skipped and reported.
std::vector<std::map<std::string, cfx::app::JsonValue>> read_metrics(const fs::path& f, bool* torn = nullptr) {
  std::vector<std::map<std::string, cfx::app::JsonValue>> rows;
  if (torn) *torn = false;
  if (!fs::exists(f)) return rows;
  std::istringstream in(cfx::app::read_file(f));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      rows.push_back(cfx::app::parse_json_object(line));
    } catch (const std::exception&) {
      REQUIRE_MESSAGE(in.peek() == EOF, "unparsable line in the middle of ", f.string(), ": ", line);
      if (torn) *torn = true;
    }
  }
  return rows;
}

// (step, split, loss, acc) of every line: what must not depend on the kills (not the timings).
std::vector<std::string> metrics_key(const fs::path& f) {
  std::vector<std::string> out;
  for (const auto& r : cfx::testing::read_jsonl(f)) {  // every line whole
    std::ostringstream s;
    s.precision(17);
    s << cfx::testing::num(r.at("step")) << " " << cfx::testing::str(r.at("split")) << " "
      << cfx::testing::num(r.at("loss")) << " " << cfx::testing::num(r.at("acc"));
    if (r.count("final")) s << (std::get<bool>(r.at("final")) ? " final" : "");
    out.push_back(s.str());
  }
  return out;
}

// Every tensor of two checkpoints, byte for byte.
void check_bit_identical(const fs::path& a, const fs::path& b) {
  const auto ta = cfx::nn::load_tensors(a), tb = cfx::nn::load_tensors(b);
  REQUIRE(ta.size() == tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    INFO(a.filename().string(), " ", ta[i].first);
    REQUIRE(ta[i].first == tb[i].first);
    REQUIRE(ta[i].second.dtype() == tb[i].second.dtype());
    REQUIRE(ta[i].second.shape() == tb[i].second.shape());
    const cfx::Tensor x = ta[i].second.contiguous(), y = tb[i].second.contiguous();
    CHECK(std::memcmp(x.raw_data(), y.raw_data(), static_cast<size_t>(x.numel()) * cfx::itemsize(x.dtype())) == 0);
  }
}

std::string file_text(const fs::path& f) { return fs::exists(f) ? cfx::app::read_file(f) : std::string("(no log)"); }

constexpr int64_t kEpochs = 20, kPerEpoch = 5;  // 40 series / batch 8; a checkpoint every epoch; room for every kill point under load

void generate(const fs::path& data) {
  REQUIRE(cfx::uea::run({"generate", "--out", data.string(), "--dataset", "Synthetic", "--train", "40", "--test", "20",
                         "--channels", "3", "--classes", "3", "--min-len", "100", "--max-len", "200"}) == 0);
}

// A run of ~2 s on 2 cores: 40 steps of ~40 ms, a 0.5 MB checkpoint every 5 steps.
std::vector<std::string> train_args(const fs::path& data, const fs::path& out, int64_t epochs = kEpochs,
                                    int64_t eval_every = 2) {
  return {"train", "--dataset", "Synthetic", "--data", data.string(), "--out", out.string(), "--epochs",
          std::to_string(epochs), "--batch-size", "8", "--d-model", "32", "--heads", "4", "--d-ff", "64",
          "--eval-every", std::to_string(eval_every), "--checkpoint-every", "1", "--keep-checkpoints", "2", "--log-every", "1000",
          "--threads", "2", "--seed", "3"};
}

}  // namespace

TEST_CASE("conflux-uea kill -9 at any moment: every resume continues from the last commit; the end is bit-identical") {
  TempDir tmp("kill_resume");
  const fs::path data = tmp.path / "data", ref = tmp.path / "ref", run = tmp.path / "run";
  generate(data);
  fs::create_directories(run);  // watched before the first session starts

  // ---- the uninterrupted run, same flags, timed by its checkpoint commits: a session's start-up
  // (exec, loading the data, the evaluation at epoch 0) is several epochs long at these sizes, so
  // the random delays below are fractions of an epoch measured between commits
  fs::create_directories(ref);
  std::vector<double> commits_ms;  // when each step checkpoint was renamed into place
  Child reference(train_args(data, ref), tmp.path / "ref.log");
  {
    DirWatch ref_watch(ref);
    while (!reference.exited())
      for (const auto& e : ref_watch.poll(1.0))
        if (is_ckpt_commit(e)) commits_ms.push_back(ms_since(reference.start));
  }
  REQUIRE_MESSAGE(reference.wait() == 0, file_text(tmp.path / "ref.log"));
  const double ref_ms = ms_since(reference.start);
  REQUIRE(commits_ms.size() == static_cast<size_t>(kEpochs));
  const double epoch_ms = (commits_ms.back() - commits_ms.front()) / (kEpochs - 1);
  const double startup_ms = std::max(commits_ms.front() - epoch_ms, 0.0);
  const std::string last = ckpt_name(kEpochs * kPerEpoch);
  const fs::path ref_final = ref / last;
  const size_t n_tensors = cfx::nn::load_tensors(ref_final).size();

  // ---- the kill plan: every protocol point, random delays, a seeded generator
  std::mt19937 rng(20240917);
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  std::vector<Kill> plan = {
      {Point::timer, 0, uniform(0, 20)},  // during start-up: before any checkpoint (exec, loading)
      {Point::mid_epoch, 0, uniform(0.3 * epoch_ms, 1.5 * epoch_ms)},
      {Point::ckpt_write, 1, 0},
      {Point::ckpt_write, 0, 0, /*torn_log=*/true},
      {Point::ckpt_fsync, 0, 0},
      {Point::ckpt_renamed, 0, 0},
      {Point::state_write, 0, 0},
      {Point::mid_epoch, 0, uniform(0.3 * epoch_ms, 1.5 * epoch_ms)},
      {Point::state_renamed, 0, 0},
      {Point::log_truncate, 0, 0},
      {Point::ckpt_write, 0, uniform(0, 2)},
      {Point::best_write, 0, 0},
      {Point::mid_epoch, 0, uniform(0.3 * epoch_ms, 1.5 * epoch_ms)},
      {Point::after_last, 0, uniform(0, 30)},
  };

  std::optional<cfx::app::RunState> committed;  // what state.json said before the session
  std::vector<std::string> report;
  int kills = 0, sessions = 0;
  bool done = false;
  for (size_t k = 0; !done; ++k) {
    const bool resume = fs::exists(run / "state.json");
    auto args = train_args(data, run);
    if (resume) args.push_back("--resume");
    const fs::path log = tmp.path / ("session_" + std::to_string(sessions++) + ".log");
    std::map<std::string, fs::file_time_type> old_tmps;  // left by earlier kills
    for (const auto& e : fs::directory_iterator(run))
      if (e.path().extension() == ".tmp") old_tmps[e.path().filename().string()] = e.last_write_time();
    DirWatch watch(run);
    Child child(args, log);
    REQUIRE(sessions <= 40);

    // ---- wait for the kill point (or, for a point that does not come, the deadline below)
    std::string what = "completed";
    if (k < plan.size()) {
      const Kill& kill = plan[k];
      std::map<std::string, int> opens;
      int seen = 0;
      bool hit = kill.point == Point::timer;
      // A point that does not come (no new best) must not let the session finish: it is given
      // up at the session's (skip + 2)-th checkpoint commit, by which every other point has come
      // (events, not a clock: a loaded machine slows the session, not the order of its events).
      int commits = 0;
      bool given_up = false;
      double fire_at = kill.point == Point::timer ? kill.delay_ms : -1;
      while (!child.exited() && !given_up) {
        const double now = ms_since(child.start);
        if (fire_at >= 0 && now >= fire_at) break;
        REQUIRE_MESSAGE(now < 120e3, "session ", sessions, " ran 2 minutes without reaching its kill point:\n",
                        file_text(log));
        const double wait = fire_at >= 0 ? std::min(fire_at - now, 1.0) : 1.0;
        for (const auto& e : watch.poll(std::max(wait, 0.0))) {
          if (hit) continue;
          if (matches(kill.point, e, opens, last)) {
            if (seen++ == kill.skip) {
              hit = true;
              fire_at = ms_since(child.start) + kill.delay_ms;
            }
          } else if (is_ckpt_commit(e) && kill.point != Point::after_last && ++commits >= kill.skip + 2) {
            given_up = true;
            break;
          }
        }
      }
      const double at = ms_since(child.start);
      const bool finished_first = child.exited();
      if (!finished_first) child.kill9();
      // The child may finish between the poll and the signal (kill of a zombie does nothing):
      // then this session completed on its own, and the code below takes it as such.
      // Every point but a new best comes before its deadline; one that does not was not tried.
      CHECK_MESSAGE((hit || kill.point == Point::best_write || finished_first), "kill ", k + 1, " (",
                    point_name(kill.point), ") not reached by checkpoint commit ", commits);
      if (child.killed_by_sigkill()) {
        ++kills;
        std::vector<std::string> tmps;
        for (const auto& e : fs::directory_iterator(run)) {
          const std::string name = e.path().filename().string();
          if (e.path().extension() != ".tmp") continue;
          const auto it = old_tmps.find(name);
          tmps.push_back(it != old_tmps.end() && it->second == e.last_write_time() ? name + " (stale)" : name);
        }
        std::ostringstream s;
        s.precision(4);
        s << "kill " << kills << ": " << point_name(kill.point) << (kill.skip ? " (2nd)" : "")
          << (hit ? "" : " [not reached: killed at a later checkpoint commit]") << " at +" << at << " ms;";
        s << " temporaries at the kill:";
        if (tmps.empty()) s << " none";
        for (const auto& t : tmps) s << " " << t;
        what = s.str();
      }
    }
    if (what == "completed") {
      const int rc = child.wait();
      REQUIRE_MESSAGE(rc == 0, "session ", sessions, " failed (rc ", rc, "):\n", file_text(log));
      done = true;
    }

    // ---- the session started where state.json said (never from a temporary)
    const std::string log_text = file_text(log);
    if (resume) {
      const std::string expect = "resuming " + (run / committed->checkpoint).string() + " at step " +
                                 std::to_string(committed->step) + " ";
      const bool printed = log_text.find("resuming ") != std::string::npos;
      CHECK_MESSAGE((!printed || log_text.find(expect) != std::string::npos), "expected '", expect, "' in\n", log_text);
      if (done) CHECK_MESSAGE(printed, log_text);
    }

    // ---- what the kill left: a readable commit point naming a complete checkpoint
    std::optional<cfx::app::RunState> now;
    try {
      now = cfx::app::read_run_state(run);
    } catch (const std::exception& e) {
      FAIL("state.json unreadable after ", what, ": ", e.what());
    }
    if (committed) {
      REQUIRE_MESSAGE(now.has_value(), "state.json vanished after ", what);
      CHECK(now->step >= committed->step);
    }
    std::ostringstream s;
    s << what;
    if (now) {
      INFO(what);
      CHECK(now->checkpoint == ckpt_name(now->step));
      REQUIRE(fs::exists(run / now->checkpoint));
      CHECK(cfx::nn::load_tensors(run / now->checkpoint).size() == n_tensors);
      // No file under a checkpoint name is partial. (Their number is not bounded: a kill between
      // a checkpoint's rename and state.json leaves a complete, uncommitted one, which the
      // resumed run writes again at that step.)
      for (const auto& e : fs::directory_iterator(run))
        if (is_ckpt_name(e.path().filename().string())) CHECK(cfx::nn::load_tensors(e.path()).size() == n_tensors);
      // at most one checkpoint interval of work lost
      bool torn = false;
      int64_t logged = 0;
      for (const auto& r : read_metrics(run / "metrics.jsonl", &torn))
        if (cfx::testing::str(r.at("split")) == "train")
          logged = std::max(logged, static_cast<int64_t>(cfx::testing::num(r.at("step"))));
      CHECK(logged - now->step <= kPerEpoch);
      s << " state.json step " << (committed ? committed->step : 0) << " -> " << now->step << ", logged step "
        << logged << (torn ? " (torn last line)" : "");
    } else {
      s << " no state.json yet (restart without --resume)";
    }
    if (k < plan.size() && plan[k].torn_log && !done) {
      // A SIGKILL (or a full disk) inside write(2) can leave part of a line: the next --resume
      // must drop it like the other lines after the checkpoint.
      std::FILE* f = std::fopen((run / "metrics.jsonl").c_str(), "a");
      REQUIRE(f != nullptr);
      std::fputs("{\"step\": 17, \"split\": \"tra", f);
      std::fclose(f);
      s << "; metrics.jsonl given a torn last line";
    }
    report.push_back(s.str());
    MESSAGE(s.str());
    committed = now;
  }

  // ---- the interrupted run ends as the uninterrupted one
  CHECK(kills >= 10);
  MESSAGE(kills, " kills, ", sessions, " sessions; uninterrupted run ", ref_ms, " ms (start-up ", startup_ms,
          " ms, then ", epoch_ms, " ms per epoch)");
  const auto final_state = cfx::app::read_run_state(run);
  REQUIRE(final_state.has_value());
  CHECK(final_state->step == kEpochs * kPerEpoch);
  CHECK(final_state->checkpoint == last);
  CHECK(final_state->best == cfx::app::read_run_state(ref)->best);
  CHECK(final_state->best_step == cfx::app::read_run_state(ref)->best_step);
  check_bit_identical(ref_final, run / last);
  check_bit_identical(ref / "best.h5", run / "best.h5");
  CHECK(metrics_key(ref / "metrics.jsonl") == metrics_key(run / "metrics.jsonl"));
  std::string left;  // a later save of the same file reuses its temporary; none is ever read
  for (const auto& e : fs::directory_iterator(run))
    if (e.path().extension() == ".tmp") left += " " + e.path().filename().string();
  MESSAGE("temporaries left in the finished run directory:", left.empty() ? " none" : left);
}

TEST_CASE("conflux-uea kill/resume: a checkpoint write that fails (disk full) fails loudly, keeps the last checkpoint") {
  // A read-only run directory would do for an ordinary user, but the tests run as root, whom
  // chmod does not stop; a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes write(2) fail
  // with EFBIG for any user, part-way through the file, as a full disk does.
  TempDir tmp("kill_disk_full");
  const fs::path data = tmp.path / "data", run = tmp.path / "run", ref = tmp.path / "ref";
  generate(data);
  auto one_epoch = train_args(data, run, 1);
  REQUIRE_MESSAGE(Child(one_epoch, tmp.path / "a.log").wait() == 0, file_text(tmp.path / "a.log"));
  const fs::path good = run / ckpt_name(kPerEpoch);
  REQUIRE(fs::exists(good));
  const auto ckpt_bytes = static_cast<rlim_t>(fs::file_size(good));

  // 3 epochs, evaluations at epochs 0, 1 and 3 only: the checkpoint at epoch 2 is the first
  // large file written. Half a checkpoint is room for metrics.jsonl and config.json.
  auto three = train_args(data, run, 3, 5);
  three.push_back("--resume");
  const rlim_t limit = ckpt_bytes / 2;
  const int rc = Child(three, tmp.path / "b.log", limit).wait();
  const std::string log = file_text(tmp.path / "b.log");
  // main's "error: ..." exit. (Exit 139 here was HDF5 1.10.8's atexit handler touching the file of
  // the failed close, HDFFV-11052; nn/checkpoint.cpp turns that handler off.)
  CHECK_MESSAGE(rc == 1, log);
  const std::string failed = (run / ckpt_name(2 * kPerEpoch)).string();
  REQUIRE_MESSAGE(log.find("error:") != std::string::npos, log);
  CHECK_MESSAGE(log.find(failed) != std::string::npos, log);  // names the file
  MESSAGE("limit ", limit, " bytes (checkpoint ", ckpt_bytes, "), exit ", rc, ": ", log.substr(log.find("error:")));
  CHECK(fs::file_size(run / "metrics.jsonl") < limit);

  const auto state = cfx::app::read_run_state(run);
  REQUIRE(state.has_value());
  CHECK(state->step == kPerEpoch);
  CHECK(state->checkpoint == good.filename().string());
  CHECK(cfx::nn::load_tensors(good).size() > 0);
  CHECK(!fs::exists(failed));
  CHECK(!fs::exists(failed + ".tmp"));  // the temporary is removed

  // space again: the resumed run ends as one that never failed
  REQUIRE_MESSAGE(Child(three, tmp.path / "c.log").wait() == 0, file_text(tmp.path / "c.log"));
  REQUIRE_MESSAGE(Child(train_args(data, ref, 3, 5), tmp.path / "d.log").wait() == 0, file_text(tmp.path / "d.log"));
  check_bit_identical(ref / ckpt_name(3 * kPerEpoch), run / ckpt_name(3 * kPerEpoch));
}
