#include "storage.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "backprop/tensor.hpp"
#include "block_cache.hpp"

namespace backprop {
namespace {

std::atomic<int64_t> g_in_use{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_allocated_bytes{0};

void count_allocation(int64_t bytes) {
  int64_t now = g_in_use.fetch_add(bytes) + bytes;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  g_allocations.fetch_add(1);
  g_allocated_bytes.fetch_add(bytes);
}

void* align64(void* p) {
  return reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63});
}

}  // namespace

Storage::Storage(size_t nbytes) : nbytes_(nbytes), owned_(true) {
  if (nbytes <= kInlineBytes) {
    data_ = align64(inline_);
  } else {
    raw_ = block_cache::allocate(nbytes + 64);
    data_ = align64(raw_);
  }
  count_allocation(static_cast<int64_t>(nbytes));
}

Storage::Storage(void* data, size_t nbytes, std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), owned_(false), release_(std::move(release)) {}

Storage::~Storage() {
  if (owned_) {
    if (raw_) block_cache::release(raw_, nbytes_ + 64);
    g_in_use.fetch_sub(static_cast<int64_t>(nbytes_));
  } else if (release_) {
    release_(data_);
  }
}

MemoryStats memory_stats() {
  return {g_in_use.load(), g_peak.load(), g_allocations.load(), g_allocated_bytes.load()};
}

void reset_peak_memory_stats() { g_peak.store(g_in_use.load()); }

}  // namespace backprop
