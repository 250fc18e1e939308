#pragma once
// parallel_for: the library's thread pool above a grain size, a plain loop below it.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "thread_pool.hpp"

namespace backprop::kernels {

/// Work (elements times a per-element cost, an add costing 1) below which a loop stays serial.
/// Measured on the 2-core development machine for float32 add: 24K elements 4.3 us on one thread
/// and 4.1 on two, 32K 5.3 and 5.4, 40K 6.4 and 5.8, 48K 7.7 and 7.0; exp (cost 4) gains from 16K
/// elements on. Below this a parallel region's start-up costs more than it saves.
constexpr int64_t kGrainSize = 32768;

/// Chunks per thread a loop is cut into by default. Threads claim chunks one at a time, so with
/// several each, a thread that starts late (descheduled, or still waking) takes only what is left
/// and the caller waits at most for one small chunk instead of for a whole share.
constexpr int64_t kChunksPerThread = 4;

/// Calls f(begin, end) over [0, n) in chunks; chunks run on the thread pool when the total work
/// (n * cost_per_item) exceeds the grain size. `chunks_per_thread` is 1 where each chunk carries
/// a fixed cost of its own (GEMM packs an operand per chunk).
template <class F>
void parallel_for(int64_t n, int64_t cost_per_item, F&& f, int64_t chunks_per_thread = kChunksPerThread) {
  if (n <= 0) return;
  int64_t cost = std::max<int64_t>(cost_per_item, 1);
  int64_t work = n > INT64_MAX / cost ? INT64_MAX : n * cost;
  if (work > kGrainSize && !in_parallel_region()) {
    int threads = available_threads();
    int64_t per = std::max<int64_t>(1, chunks_per_thread);
    int64_t chunks = std::min<int64_t>({threads * per, n, std::max<int64_t>(1, work / (kGrainSize / per))});
    if (threads > 1 && chunks > 1) {
      using Fn = std::remove_reference_t<F>;
      struct Loop {
        Fn* f;
        int64_t n, chunks;
      } loop{&f, n, chunks};
      run_chunks(
          chunks,
          [](int64_t c, void* context) {
            const Loop& l = *static_cast<Loop*>(context);
            int64_t base = l.n / l.chunks, extra = l.n % l.chunks;
            int64_t begin = c * base + std::min(c, extra), end = begin + base + (c < extra ? 1 : 0);
            if (begin < end) (*l.f)(begin, end);
          },
          &loop);
      return;
    }
  }
  f(int64_t{0}, n);
}

}  // namespace backprop::kernels
