#pragma once
// Per-thread free lists for the small objects every op creates and backward frees in bulk
// (TensorImpl, Storage, graph nodes, through std::allocate_shared). glibc keeps only seven freed
// blocks of a size in its per-thread cache; freeing the nodes and tensors of a 300-op graph at
// once overflows it into the slow path of free(), which was a fifth of the cost of a small op.
#include <cstddef>

namespace backprop::pool {

/// At least `bytes`, aligned like malloc. Blocks above the largest size class go to malloc.
void* allocate(size_t bytes);
/// Returns a block from allocate(bytes) (same `bytes`); any thread may return any block.
void deallocate(void* p, size_t bytes) noexcept;

/// A standard allocator over the pool, for std::allocate_shared.
template <class T>
struct Allocator {
  using value_type = T;
  Allocator() noexcept = default;
  template <class U>
  Allocator(const Allocator<U>&) noexcept {}  // NOLINT: rebinding, as std::allocator does
  T* allocate(size_t n) { return static_cast<T*>(pool::allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { pool::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const Allocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const Allocator<U>&) const noexcept { return false; }
};

}  // namespace backprop::pool
