#include "thread_pool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace backprop::kernels {
namespace {

thread_local bool t_in_chunk = false;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Feedback from the loops themselves, beside the runnable counts (available_threads). Those are
// a sample taken every 10 ms: a competitor that comes and goes between samples slips through,
// and so does a thread pool in our own process that the counts leave out but that does hold on
// to its CPU (one that spins without yielding). Either way a loop starts a worker on a CPU the
// competitor holds, and the cost shows at the loop's end: the caller, done with its own chunks,
// waits for a worker the OS preempted in the middle of one, for a scheduler time slice (a
// millisecond or more) instead of the fraction of a chunk an unhindered worker needs. When two
// of the last three loops that used the team had such a wait, loops run on the caller alone for
// a back-off period, which doubles while the waits recur and returns to its start after a run
// of clean loops. A single wait is not enough: on a virtual machine the host preempts a CPU now
// and then, which no choice of team size avoids.
constexpr int64_t kPreemptedSlackNs = 200'000;  // far above a wake-up, below a time slice
constexpr int64_t kFirstBackoffNs = 20'000'000;
constexpr int64_t kLongestBackoffNs = 1'000'000'000;
constexpr int kCleanLoopsToReset = 16;
std::atomic<int64_t> g_serial_until_ns{0};
std::atomic<int64_t> g_backoff_ns{kFirstBackoffNs};
std::atomic<int> g_clean_loops{0};
std::atomic<unsigned> g_recent_waits{0};  // one bit per team loop, newest lowest

void record_team_wait(int64_t wait_ns, int64_t caller_ns, int64_t caller_chunks) {
  int64_t per_chunk = caller_chunks > 0 ? caller_ns / caller_chunks : caller_ns;
  bool preempted = wait_ns > 2 * per_chunk + kPreemptedSlackNs;
  unsigned recent = ((g_recent_waits.load(std::memory_order_relaxed) << 1) | (preempted ? 1u : 0u)) & 7u;
  g_recent_waits.store(recent, std::memory_order_relaxed);
  if (!preempted) {
    // Once per run of clean loops: the back-off only grows again after a wait, which restarts
    // the count.
    if (g_clean_loops.fetch_add(1, std::memory_order_relaxed) + 1 == kCleanLoopsToReset)
      g_backoff_ns.store(kFirstBackoffNs, std::memory_order_relaxed);
    return;
  }
  g_clean_loops.store(0, std::memory_order_relaxed);
  if ((recent & 1u) + ((recent >> 1) & 1u) + ((recent >> 2) & 1u) < 2) return;
  g_recent_waits.store(0, std::memory_order_relaxed);
  int64_t backoff = g_backoff_ns.load(std::memory_order_relaxed);
  g_serial_until_ns.store(now_ns() + backoff, std::memory_order_relaxed);
  g_backoff_ns.store(std::min(2 * backoff, kLongestBackoffNs), std::memory_order_relaxed);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// How long an idle worker keeps polling for the next loop before it sleeps. The loops of one
// training step follow each other within microseconds, and a futex wake costs about as much as
// a small loop; beyond this a worker would only burn a core that another job could use.
constexpr auto kWorkerSpin = std::chrono::microseconds(50);

int threads_from_environment() {
  // OMP_NUM_THREADS keeps the meaning it had when the loops ran on OpenMP (and has in PyTorch).
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<int> g_threads{0};  // 0 until first asked: the environment decides then

class Pool {
 public:
  void run(int64_t chunks, void (*chunk)(int64_t, void*), void* context, int workers_wanted) {
    std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
    if (!submit.owns_lock()) {  // another thread's loop holds the workers
      run_serial(chunks, chunk, context);
      return;
    }
    start_workers(workers_wanted);
    chunks_ = chunks;
    chunk_ = chunk;
    context_ = context;
    error_ = nullptr;
    next_.store(0, std::memory_order_relaxed);
    closed_.store(false);
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    t_in_chunk = true;
    int64_t started = now_ns();
    int64_t own_chunks = claim_and_run();
    int64_t own_done = now_ns();
    t_in_chunk = false;
    // Workers that have not claimed a chunk by now find the loop closed and leave it alone; only
    // those already running one are waited for.
    closed_.store(true);
    bool waited = false;
    for (int spins = 0; active_.load() != 0; ++spins) {
      waited = true;
      if (spins < 4096)
        cpu_relax();
      else
        std::this_thread::yield();
    }
    record_team_wait(waited ? now_ns() - own_done : 0, own_done - started, own_chunks);
    if (error_) std::rethrow_exception(error_);
  }

  static void run_serial(int64_t chunks, void (*chunk)(int64_t, void*), void* context) {
    bool outer = t_in_chunk;
    t_in_chunk = true;
    try {
      for (int64_t c = 0; c < chunks; ++c) chunk(c, context);
    } catch (...) {
      t_in_chunk = outer;
      throw;
    }
    t_in_chunk = outer;
  }

 private:
  void start_workers(int wanted) {
    // Workers are never joined: the pool lives until the process ends (a join in a static
    // destructor could wait on a thread the exiting runtime has already stopped).
    for (; started_.load() < wanted; started_.fetch_add(1)) std::thread([this] { worker(); }).detach();
  }

  /// Runs chunks until none is left; returns how many this thread ran.
  int64_t claim_and_run() {
    for (int64_t ran = 0;; ++ran) {
      int64_t c = next_.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks_) return ran;
      try {
        chunk_(c, context_);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  void worker() {
    t_in_chunk = true;
    uint64_t seen = generation_.load();
    for (;;) {
      uint64_t current = wait_for_next(seen);
      seen = current;
      active_.fetch_add(1);
      // Checked after announcing itself: the caller either sees this worker as active and waits
      // for it, or has closed the loop, which this worker then sees (both are sequentially
      // consistent, so one of the two must hold).
      if (!closed_.load() && generation_.load() == current) claim_and_run();
      active_.fetch_sub(1);
    }
  }

  uint64_t wait_for_next(uint64_t seen) {
    auto deadline = std::chrono::steady_clock::now() + kWorkerSpin;
    for (int spins = 0;; ++spins) {
      uint64_t g = generation_.load();
      if (g != seen) return g;
      if ((spins & 63) == 63 && std::chrono::steady_clock::now() > deadline) break;
      cpu_relax();
    }
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    sleepers_.fetch_add(1);
    wake_.wait(lock, [&] { return generation_.load() != seen; });
    sleepers_.fetch_sub(1);
    return generation_.load();
  }

  std::mutex submit_;  // one loop at a time uses the workers
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<bool> closed_{true};
  std::atomic<int> active_{0};
  std::atomic<int> sleepers_{0};
  int64_t chunks_ = 0;
  void (*chunk_)(int64_t, void*) = nullptr;
  void* context_ = nullptr;
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::atomic<int> started_{0};
};

std::atomic<Pool*> g_pool{nullptr};
std::once_flag g_atfork_once;

Pool& pool() {
  std::call_once(g_atfork_once, [] {
    // A forked child has none of the parent's threads: it starts a pool of its own on first use.
    // The parent's pool is left allocated in the child on purpose (its mutexes may be held).
    pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr); });
  });
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  static std::mutex create;
  std::lock_guard<std::mutex> lock(create);
  p = g_pool.load(std::memory_order_acquire);
  if (!p) {
    p = new Pool();  // never deleted: see start_workers
    g_pool.store(p, std::memory_order_release);
  }
  return *p;
}

}  // namespace

int max_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n > 0) return n;
  int expected = 0;
  g_threads.compare_exchange_strong(expected, threads_from_environment());
  return g_threads.load(std::memory_order_relaxed);
}

void set_max_threads(int n) { g_threads.store(std::max(1, n), std::memory_order_relaxed); }

bool in_parallel_region() { return t_in_chunk; }

namespace {

int cpus_of_this_process() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// The machine's runnable threads now (the fourth field of /proc/loadavg, "running/total"), or
// -1 where that cannot be read.
int runnable_threads() {
  int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = buf;
  for (int field = 0; field < 3; ++field) {
    while (*p && *p != ' ') ++p;
    while (*p == ' ') ++p;
  }
  if (*p < '0' || *p > '9') return -1;
  return std::atoi(p);
}

// Runnable threads of this process now (state R in /proc/self/task/*/stat), or -1 where that
// cannot be read. They are subtracted from the machine's count: threads of our own process are
// the caller, our workers, and other libraries' pools (OpenBLAS after a NumPy call), whose
// spinning yields the CPU; measured after a NumPy matmul, treating them as busy CPUs made a
// training step 1.2x slower than using both cores beside them.
int runnable_threads_of_this_process() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return -1;
  int running = 0;
  char path[300], stat[512];  // a task name (a thread id) is at most 255 bytes
  while (const dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] < '0' || task->d_name[0] > '9') continue;
    std::snprintf(path, sizeof(path), "/proc/self/task/%s/stat", task->d_name);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // the thread has just exited
    ssize_t n = ::read(fd, stat, sizeof(stat) - 1);
    ::close(fd);
    if (n <= 0) continue;
    stat[n] = '\0';
    // The state follows the command name, which is in parentheses and may itself hold ") ".
    const char* close_paren = std::strrchr(stat, ')');
    if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'R') ++running;
  }
  ::closedir(tasks);
  return running;
}

std::atomic<int> g_dynamic_set{-1};  // set_dynamic_threads: -1 until called, then 0 or 1

bool dynamic_from_environment() {
  const char* env = std::getenv("OMP_DYNAMIC");
  if (!env) return true;
  std::string v(env);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return !(v == "false" || v == "0" || v == "no" || v == "off");
}

// One reading is a snapshot: a kernel thread or a short-lived process shows up in a fraction of
// them on an idle machine. A competitor that matters (another job) is there in every reading,
// so the team shrinks by the fewest others seen over the last kWindow readings. A reading costs
// about 15 us per thread of this process, so it is taken at most every 10 ms.
constexpr int64_t kResampleNs = 10'000'000;
constexpr int kWindow = 4;
std::atomic<int64_t> g_next_sample_ns{0};
std::atomic<int> g_others[kWindow];
std::atomic<unsigned> g_sample_count{0};

}  // namespace

int available_threads() {
  int threads = max_threads();
  if (threads <= 1) return threads;
  static const bool from_environment = dynamic_from_environment();
  int set = g_dynamic_set.load(std::memory_order_relaxed);
  bool dynamic = set < 0 ? from_environment : set != 0;
  static const int cpus = cpus_of_this_process();
  if (!dynamic) return threads;
  int64_t now = now_ns();
  if (now < g_serial_until_ns.load(std::memory_order_relaxed)) return 1;
  int64_t due = g_next_sample_ns.load(std::memory_order_relaxed);
  if (now >= due && g_next_sample_ns.compare_exchange_strong(due, now + kResampleNs)) {
    int running = runnable_threads();
    int ours = running >= 0 ? runnable_threads_of_this_process() : -1;
    if (ours >= 0) {
      // This thread is runnable in both counts (so at least 1 of ours); the rest of the
      // machine's is other processes' work.
      int others = std::max(0, running - std::max(1, ours));
      unsigned sample = g_sample_count.fetch_add(1, std::memory_order_relaxed);
      // The first reading fills the window: slots still at their initial 0 would read as an idle
      // machine for the first kWindow readings, and beside a busy process a short run spent
      // them (its first 40 ms, 60% of the loops there) on a team that had to wait for it.
      for (int slot = 0; slot < (sample == 0 ? kWindow : 1); ++slot)
        g_others[(sample + slot) % kWindow].store(others, std::memory_order_relaxed);
    }
  }
  int fewest = g_others[0].load(std::memory_order_relaxed);
  for (int i = 1; i < kWindow; ++i) fewest = std::min(fewest, g_others[i].load(std::memory_order_relaxed));
  return std::min(threads, std::max(1, cpus - fewest));
}

void set_dynamic_threads(bool on) { g_dynamic_set.store(on ? 1 : 0, std::memory_order_relaxed); }

void run_chunks(int64_t chunks, void (*chunk)(int64_t c, void* context), void* context) {
  int threads = t_in_chunk ? 1 : available_threads();
  if (chunks <= 1 || threads <= 1 || t_in_chunk) {
    Pool::run_serial(chunks, chunk, context);
    return;
  }
  pool().run(chunks, chunk, context, static_cast<int>(std::min<int64_t>(threads, chunks)) - 1);
}

}  // namespace backprop::kernels
