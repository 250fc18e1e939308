#pragma once
// The library's own worker threads. A parallel loop is cut into chunks that the calling thread
// and the workers claim one at a time; the caller never waits for a worker that has not claimed
// a chunk. So a worker the OS has descheduled (another job on the machine, OpenBLAS threads
// still spinning after a NumPy call) costs nothing: the caller does its share instead. An OpenMP
// team cannot do that, since its closing barrier waits for every thread of the team.
#include <cstdint>

namespace backprop::kernels {

/// Threads that parallel loops may use, the caller included (set_num_threads; defaults to the
/// number of CPUs this process may run on).
int max_threads();
/// Sets the team size for the whole process (n >= 1).
void set_max_threads(int n);
/// Threads a loop starting now should use: max_threads(), less the CPUs that other processes'
/// runnable threads are keeping busy (another job), and at least 1. A team larger than the
/// CPUs free to it waits at every loop's end for a thread the OS has preempted, which made 2
/// threads slower than 1. Read from the kernel's counts of runnable threads at most every 10 ms,
/// and 1 for a while after a loop's caller had to wait for a worker preempted in the middle of a
/// chunk; OMP_DYNAMIC=false turns both off.
int available_threads();
/// Turns that adjustment on or off for the whole process, over OMP_DYNAMIC (omp_set_dynamic's
/// counterpart): off, every loop gets max_threads().
void set_dynamic_threads(bool on);
/// Whether the calling thread is running a chunk of a parallel loop (nested loops run serially).
bool in_parallel_region();

/// Runs chunk(c, context) for c in [0, chunks) on the caller and up to max_threads() - 1
/// workers, and returns when every chunk has run. If another loop already holds the workers (a
/// second Python thread, say) or the caller is itself a chunk, the chunks run on the caller. An
/// exception thrown by a chunk is rethrown here after the others finished.
void run_chunks(int64_t chunks, void (*chunk)(int64_t c, void* context), void* context);

}  // namespace backprop::kernels
