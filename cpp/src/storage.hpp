#pragma once
// Reference-counted byte buffers. Owned buffers are 64-byte aligned and counted in the memory
// statistics; borrowed ones (NumPy, DLPack) run their release function instead.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace backprop {

class Storage {
 public:
  /// Allocates `nbytes` aligned to 64 bytes (uninitialised).
  explicit Storage(size_t nbytes);
  /// Borrows memory owned elsewhere.
  Storage(void* data, size_t nbytes, std::function<void(void*)> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  /// Shared by every view of this storage; bumped by in-place writes.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }
  /// Borrowed memory its owner marked read-only (a read-only NumPy array, a memory-mapped file):
  /// every in-place write refuses it, since writing could fault or change data the owner guards.
  bool read_only() const { return read_only_; }
  void set_read_only() { read_only_ = true; }

 private:
  void* data_;
  size_t nbytes_;
  bool owned_;
  bool read_only_ = false;
  std::function<void(void*)> release_;
  std::atomic<uint64_t> version_{0};
  // Scalars and other tiny tensors live inside the Storage object: one allocation fewer. The
  // 64-byte alignment is done by hand (see storage.cpp): an over-aligned type would send every
  // allocation through glibc's slow memalign path.
  static constexpr size_t kInlineBytes = 64;
  unsigned char inline_[kInlineBytes + 63];
  void* raw_ = nullptr;  // what malloc returned for a heap buffer
};

}  // namespace backprop
