#pragma once
// Large tensor buffers, kept for reuse after they are freed.
//
// A training step frees and allocates the same few large buffers (activations, gradients) every
// iteration. Returned to malloc, they go back to the kernel (glibc unmaps or trims them), and the
// next step pays a page fault and a page of zeroing for every 4 KiB it touches: for
// exp(x).sum().backward() on 1e6 floats that was two thirds of the step. Freed blocks of at least
// kMinBlockBytes are kept here, up to kMaxCachedBytes in all, and handed out again for a request
// of the same rounded size; the oldest are released first when the cap is reached.
#include <cstddef>

namespace backprop::block_cache {

/// Buffers smaller than this go straight to malloc, whose own free lists serve them well.
constexpr size_t kMinBlockBytes = size_t{1} << 18;
/// The most memory kept idle for reuse.
constexpr size_t kMaxCachedBytes = size_t{256} << 20;

/// The size a request of `nbytes` is served with (rounded to whole pages, so that sizes close
/// to each other share blocks).
size_t block_size(size_t nbytes);
/// A block of exactly `block_size(nbytes)` bytes; throws std::bad_alloc when memory runs out.
void* allocate(size_t nbytes);
/// Takes back a block `allocate(nbytes)` returned.
void release(void* block, size_t nbytes);
/// Frees every idle block (memory pressure, tests).
void empty();
/// Bytes held idle now.
size_t cached_bytes();

}  // namespace backprop::block_cache
