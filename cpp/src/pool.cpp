#include "pool.hpp"

#include <cstdint>
#include <cstdlib>
#include <new>

namespace backprop::pool {
namespace {

constexpr size_t kGranule = 64;
constexpr size_t kClasses = 16;  // blocks of 64, 128, ..., 1024 bytes
// A thread keeps at most this many free blocks of a class: enough for the tensors and nodes of a
// few thousand ops. The classes an op uses (TensorImpl, Storage, nodes: 192-512 bytes) then hold
// a few MB at most after a huge graph; the rest goes back to malloc.
constexpr size_t kMaxFree = 4096;

struct Block {
  Block* next;
};

// Plain data, so that one TLS lookup reaches all of it and it stays readable while the thread
// exits (blocks freed then, after the lists were emptied, go straight to free()).
struct FreeLists {
  Block* head[kClasses];
  uint32_t count[kClasses];
  bool registered;  // the Reaper of this thread exists
  bool gone;        // the Reaper has run: no more pooling on this thread
};
thread_local FreeLists t_lists;

void drain(FreeLists& lists) {
  for (size_t c = 0; c < kClasses; ++c) {
    while (Block* b = lists.head[c]) {
      lists.head[c] = b->next;
      std::free(b);
    }
    lists.count[c] = 0;
  }
}

// Created on a thread's first pooled allocation; its destructor returns the thread's free blocks.
struct Reaper {
  ~Reaper() {
    t_lists.gone = true;
    drain(t_lists);
  }
};

FreeLists& lists_for_allocation() {
  FreeLists& lists = t_lists;
  if (!lists.registered) {
    lists.registered = true;
    thread_local Reaper reaper;
    (void)reaper;
  }
  return lists;
}

inline size_t size_class(size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }

}  // namespace

void* allocate(size_t bytes) {
  size_t c = size_class(bytes);
  if (c < kClasses) {
    FreeLists& lists = lists_for_allocation();
    if (lists.gone) {
      // fall through to malloc
    } else if (Block* b = lists.head[c]) {
      lists.head[c] = b->next;
      --lists.count[c];
      return b;
    }
  }
  // Every block of a class has the class's full size, so that any thread's list can take it.
  void* p = std::malloc(c < kClasses ? (c + 1) * kGranule : bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

void deallocate(void* p, size_t bytes) noexcept {
  if (!p) return;
  size_t c = size_class(bytes);
  if (c < kClasses) {
    FreeLists& lists = t_lists;
    // A thread that never allocated from the pool has no Reaper: it keeps nothing.
    if (lists.registered && !lists.gone && lists.count[c] < kMaxFree) {
      Block* b = static_cast<Block*>(p);
      b->next = lists.head[c];
      lists.head[c] = b;
      ++lists.count[c];
      return;
    }
  }
  std::free(p);
}

}  // namespace backprop::pool
