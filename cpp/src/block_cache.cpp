#include "block_cache.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace backprop::block_cache {
namespace {

struct Block {
  void* ptr;
  size_t bytes;
};

struct Cache {
  std::mutex mutex;
  std::vector<Block> idle;  // oldest first
  size_t idle_bytes = 0;
};

std::atomic<Cache*> g_cache{nullptr};

Cache& cache() {
  Cache* c = g_cache.load(std::memory_order_acquire);
  if (c) return *c;
  static std::once_flag once;
  std::call_once(once, [] {
    // Never destroyed: tensors held by Python objects may be freed after static destructors
    // ran. A forked child starts an empty cache: another thread may have held the parent's
    // mutex at the fork (its idle blocks are left to the child's copy of the heap).
    g_cache.store(new Cache, std::memory_order_release);
    pthread_atfork(nullptr, nullptr, [] { g_cache.store(new Cache, std::memory_order_release); });
  });
  return *g_cache.load(std::memory_order_acquire);
}

constexpr size_t kPage = 4096;

}  // namespace

size_t block_size(size_t nbytes) { return (nbytes + kPage - 1) / kPage * kPage; }

void* allocate(size_t nbytes) {
  size_t bytes = block_size(nbytes);
  if (bytes >= kMinBlockBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    // Newest first: the block freed last is the likeliest to be in cache and mapped.
    for (size_t i = c.idle.size(); i-- > 0;) {
      if (c.idle[i].bytes != bytes) continue;
      void* ptr = c.idle[i].ptr;
      c.idle.erase(c.idle.begin() + static_cast<std::ptrdiff_t>(i));
      c.idle_bytes -= bytes;
      return ptr;
    }
  }
  void* ptr = std::malloc(bytes);
  if (!ptr) {
    empty();
    ptr = std::malloc(bytes);
    if (!ptr) throw std::bad_alloc();
  }
  return ptr;
}

void release(void* block, size_t nbytes) {
  size_t bytes = block_size(nbytes);
  if (bytes < kMinBlockBytes || bytes > kMaxCachedBytes / 2) {
    std::free(block);
    return;
  }
  std::vector<void*> evicted;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.idle.push_back({block, bytes});
    c.idle_bytes += bytes;
    size_t drop = 0;
    while (c.idle_bytes > kMaxCachedBytes) {
      c.idle_bytes -= c.idle[drop].bytes;
      evicted.push_back(c.idle[drop].ptr);
      ++drop;
    }
    c.idle.erase(c.idle.begin(), c.idle.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  for (void* p : evicted) std::free(p);
}

void empty() {
  std::vector<Block> idle;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    idle.swap(c.idle);
    c.idle_bytes = 0;
  }
  for (const Block& b : idle) std::free(b.ptr);
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.idle_bytes;
}

}  // namespace backprop::block_cache
