// The thread pool behind parallel_for: every chunk runs exactly once, whoever claims it; errors
// come back to the caller; nested and concurrent loops and a forked child run correctly.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../src/kernels/parallel.hpp"

namespace bk = backprop::kernels;

namespace {

int64_t parallel_sum(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n), 0);
  bk::parallel_for(n, 1 << 20, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[static_cast<size_t>(i)] += i;
  });
  int64_t total = 0;
  for (int64_t v : out) total += v;
  return total;
}

struct ThreadsGuard {
  int before = bk::max_threads();
  ~ThreadsGuard() { bk::set_max_threads(before); }
};

}  // namespace

TEST(ThreadPool, EveryIndexOnceAtEveryTeamSize) {
  ThreadsGuard guard;
  for (int threads : {1, 2, 3, 8}) {
    bk::set_max_threads(threads);
    for (int64_t n : {1, 2, 7, 64, 1000, 100000}) EXPECT_EQ(parallel_sum(n), n * (n - 1) / 2) << threads << " " << n;
  }
}

TEST(ThreadPool, ChunkErrorsReachTheCaller) {
  ThreadsGuard guard;
  bk::set_max_threads(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(bk::parallel_for(1000, 1 << 20,
                                [&](int64_t b, int64_t) {
                                  ran++;
                                  if (b == 0) throw std::runtime_error("chunk failed");
                                }),
               std::runtime_error);
  EXPECT_GE(ran.load(), 1);
  EXPECT_EQ(parallel_sum(1000), 1000 * 999 / 2);  // the pool still works afterwards
}

TEST(ThreadPool, NestedLoopsRunSeriallyInsideAChunk) {
  ThreadsGuard guard;
  bk::set_max_threads(2);
  // With the adjustment to the machine's load on, a busy CPU elsewhere would run the loop on
  // the caller alone, outside any team.
  bk::set_dynamic_threads(false);
  std::atomic<int64_t> total{0};
  bk::parallel_for(8, 1 << 20, [&](int64_t b, int64_t e) {
    EXPECT_TRUE(bk::in_parallel_region());
    for (int64_t i = b; i < e; ++i) total += parallel_sum(100);
  });
  bk::set_dynamic_threads(true);
  EXPECT_EQ(total.load(), 8 * (100 * 99 / 2));
  EXPECT_FALSE(bk::in_parallel_region());
}

TEST(ThreadPool, ConcurrentCallersEachGetTheirOwnResult) {
  ThreadsGuard guard;
  bk::set_max_threads(2);
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int rep = 0; rep < 200; ++rep) {
        int64_t n = 500 + t * 37 + rep;
        if (parallel_sum(n) != n * (n - 1) / 2) wrong++;
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ThreadPool, ForkedChildRunsLoops) {
  ThreadsGuard guard;
  bk::set_max_threads(2);
  ASSERT_EQ(parallel_sum(10000), int64_t{10000} * 9999 / 2);  // the parent's workers exist now
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(parallel_sum(10000) == int64_t{10000} * 9999 / 2 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Every CPU kept busy by threads that are not the pool's: a loop's worker gets preempted in the
// middle of a chunk, its caller waits for a time slice, and the loops after it must stop
// counting on a second thread.
TEST(ThreadPool, TeamShrinksWhileEveryCpuIsBusy) {
  ThreadsGuard guard;
  bk::set_max_threads(2);
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  unsigned cpus = std::max(2u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < cpus; ++i)
    busy.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  bool shrank = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!shrank && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(parallel_sum(2'000'000), int64_t{2'000'000} * 1'999'999 / 2);
    shrank = bk::available_threads() == 1;
  }
  stop = true;
  for (auto& t : busy) t.join();
  EXPECT_TRUE(shrank);
  EXPECT_EQ(parallel_sum(100000), 100000LL * 99999 / 2);
}
