#pragma once
// parallel_for: OpenMP above a grain size, a plain loop below it (or without OpenMP).
#include <algorithm>
#include <atomic>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace backprop::kernels {

/// Work (elements times a per-element cost, an add costing 1) below which a loop stays serial.
/// Measured on the 2-core development machine for float32 add: 24K elements 4.3 us on one thread
/// and 4.1 on two, 32K 5.3 and 5.4, 40K 6.4 and 5.8, 48K 7.7 and 7.0; exp (cost 4) gains from 16K
/// elements on. Below this a parallel region's start-up costs more than it saves.
constexpr int64_t kGrainSize = 32768;

/// The team size set by set_num_threads, or 0 for OpenMP's default. OpenMP's own setting is
/// per thread (omp_set_num_threads in one thread leaves the others as they were), while
/// set_num_threads is process-wide, as in PyTorch: so the kernels read it from here.
inline std::atomic<int> g_num_threads{0};

inline int max_threads() {
#ifdef _OPENMP
  int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

inline bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

/// Calls f(begin, end) over [0, n) in chunks; chunks run on the OpenMP team when the total
/// work (n * cost_per_item) exceeds the grain size.
template <class F>
void parallel_for(int64_t n, int64_t cost_per_item, F&& f) {
  if (n <= 0) return;
#ifdef _OPENMP
  int64_t work = n * std::max<int64_t>(cost_per_item, 1);
  int threads = max_threads();
  if (work > kGrainSize && threads > 1 && !in_parallel_region()) {
    int64_t chunks = std::min<int64_t>(threads, std::max<int64_t>(1, work / kGrainSize));
#pragma omp parallel num_threads(static_cast<int>(chunks))
    {
      int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t begin = n * t / nt, end = n * (t + 1) / nt;
      if (begin < end) f(begin, end);
    }
    return;
  }
#endif
  f(int64_t{0}, n);
}

}  // namespace backprop::kernels
