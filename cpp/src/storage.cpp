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

void* align_up(void* p, uintptr_t alignment) {
  return reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(p) + alignment - 1) & ~(alignment - 1));
}

// Buffers from this size on start on a page boundary. The heap hands out large blocks at any
// offset within a page; when an output starts a little past its input modulo 4 KiB, the CPU
// takes each load for a possible reload of the store just before it (4K aliasing) and an
// elementwise loop runs up to 1.5x slower (AVX2 exp, 1e5 floats). With every large buffer at
// offset 0, x[i] and y[i] share their low address bits and loads never trail a matching store.
constexpr size_t kPageAlignBytes = size_t{64} << 10;
constexpr size_t kPage = 4096;

size_t padding_for(size_t nbytes) { return nbytes >= kPageAlignBytes ? kPage : 64; }

}  // namespace

Storage::Storage(size_t nbytes) : nbytes_(nbytes), owned_(true) {
  if (nbytes <= kInlineBytes) {
    data_ = align_up(inline_, 64);
  } else {
    raw_ = block_cache::allocate(nbytes + padding_for(nbytes));
    data_ = align_up(raw_, padding_for(nbytes));
  }
  count_allocation(static_cast<int64_t>(nbytes));
}

Storage::Storage(void* data, size_t nbytes, std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), owned_(false), release_(std::move(release)) {}

Storage::~Storage() {
  if (owned_) {
    if (raw_) block_cache::release(raw_, nbytes_ + padding_for(nbytes_));
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
