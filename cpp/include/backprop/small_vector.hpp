#pragma once
/// \file small_vector.hpp
/// A vector of trivially copyable values that keeps its first N elements inside the object.
///
/// Tensor shapes and strides rarely have more than a handful of dims, and a small op creates
/// several of them (the output's shape and strides, the gradient's, the node's input metadata):
/// keeping them inline saves two heap allocations per tensor, which was a large part of the
/// cost of an op on small tensors. It offers the std::vector API the library uses, converts
/// from and to std::vector<T>, and compares with it.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace backprop {

template <class T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable<T>::value, "SmallVector holds trivially copyable values only");

 public:
  using value_type = T;
  using size_type = size_t;
  using difference_type = std::ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using pointer = T*;
  using const_pointer = const T*;
  using iterator = T*;
  using const_iterator = const T*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  SmallVector() noexcept = default;
  explicit SmallVector(size_t n) { resize(n); }
  SmallVector(size_t n, const T& value) { assign(n, value); }
  SmallVector(std::initializer_list<T> init) { assign(init.begin(), init.end()); }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  SmallVector(It first, It last) {
    assign(first, last);
  }
  // Implicit both ways, so that code written against std::vector<T> keeps compiling.
  SmallVector(const std::vector<T>& v) { assign(v.begin(), v.end()); }  // NOLINT
  operator std::vector<T>() const { return std::vector<T>(begin(), end()); }  // NOLINT

  SmallVector(const SmallVector& other) { assign(other.begin(), other.end()); }
  SmallVector(SmallVector&& other) noexcept { take(other); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  SmallVector& operator=(std::initializer_list<T> init) {
    assign(init.begin(), init.end());
    return *this;
  }
  ~SmallVector() { release(); }

  // ---- access ---------------------------------------------------------------------------
  T* data() noexcept { return ptr(); }
  const T* data() const noexcept { return ptr(); }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_t capacity() const noexcept { return heap_ ? capacity_ : N; }
  T& operator[](size_t i) { return ptr()[i]; }
  const T& operator[](size_t i) const { return ptr()[i]; }
  T& at(size_t i) {
    if (i >= size_) throw std::out_of_range("SmallVector::at");
    return ptr()[i];
  }
  const T& at(size_t i) const {
    if (i >= size_) throw std::out_of_range("SmallVector::at");
    return ptr()[i];
  }
  T& front() { return ptr()[0]; }
  const T& front() const { return ptr()[0]; }
  T& back() { return ptr()[size_ - 1]; }
  const T& back() const { return ptr()[size_ - 1]; }

  iterator begin() noexcept { return ptr(); }
  iterator end() noexcept { return ptr() + size_; }
  const_iterator begin() const noexcept { return ptr(); }
  const_iterator end() const noexcept { return ptr() + size_; }
  const_iterator cbegin() const noexcept { return ptr(); }
  const_iterator cend() const noexcept { return ptr() + size_; }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }

  // ---- modifiers ------------------------------------------------------------------------
  void reserve(size_t n) {
    if (n > capacity()) grow_to(n);
  }
  void clear() noexcept { size_ = 0; }
  void resize(size_t n) { resize(n, T()); }
  void resize(size_t n, const T& value) {
    reserve(n);
    for (size_t i = size_; i < n; ++i) ptr()[i] = value;
    size_ = n;
  }
  void assign(size_t n, const T& value) {
    clear();
    resize(n, value);
  }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  void assign(It first, It last) {
    size_t n = static_cast<size_t>(std::distance(first, last));
    // The source may live in this vector (v.assign(v.begin() + 1, v.end())): copy through a
    // temporary before storage may move.
    if (n > capacity()) {
      SmallVector tmp;
      tmp.grow_to(n);
      std::copy(first, last, tmp.ptr());
      tmp.size_ = n;
      *this = std::move(tmp);
      return;
    }
    T* out = ptr();
    size_t i = 0;
    for (; first != last; ++first, ++i) out[i] = *first;
    size_ = n;
  }
  void assign(std::initializer_list<T> init) { assign(init.begin(), init.end()); }
  void push_back(const T& value) {
    if (size_ == capacity()) {
      T copy = value;  // `value` may point into this vector
      grow_to(size_ * 2 + 1);
      ptr()[size_++] = copy;
      return;
    }
    ptr()[size_++] = value;
  }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    push_back(T(std::forward<Args>(args)...));
    return back();
  }
  void pop_back() { --size_; }
  iterator insert(const_iterator pos, const T& value) { return insert(pos, size_t{1}, value); }
  iterator insert(const_iterator pos, size_t count, const T& value) {
    size_t at = static_cast<size_t>(pos - begin());
    T copy = value;
    reserve(size_ + count);
    T* p = ptr();
    std::memmove(p + at + count, p + at, (size_ - at) * sizeof(T));
    for (size_t i = 0; i < count; ++i) p[at + i] = copy;
    size_ += count;
    return p + at;
  }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  iterator insert(const_iterator pos, It first, It last) {
    size_t at = static_cast<size_t>(pos - begin());
    SmallVector src(first, last);  // the range may alias this vector
    reserve(size_ + src.size());
    T* p = ptr();
    std::memmove(p + at + src.size(), p + at, (size_ - at) * sizeof(T));
    std::copy(src.begin(), src.end(), p + at);
    size_ += src.size();
    return p + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<T> init) { return insert(pos, init.begin(), init.end()); }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    size_t at = static_cast<size_t>(first - begin()), n = static_cast<size_t>(last - first);
    T* p = ptr();
    std::memmove(p + at, p + at + n, (size_ - at - n) * sizeof(T));
    size_ -= n;
    return p + at;
  }
  void swap(SmallVector& other) noexcept {
    SmallVector tmp(std::move(other));
    other = std::move(*this);
    *this = std::move(tmp);
  }

  // ---- comparison -----------------------------------------------------------------------
  friend bool operator==(const SmallVector& a, const SmallVector& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const SmallVector& a, const SmallVector& b) { return !(a == b); }
  friend bool operator<(const SmallVector& a, const SmallVector& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const SmallVector& a, const std::vector<T>& b) {
    return a.size_ == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator==(const std::vector<T>& a, const SmallVector& b) { return b == a; }
  friend bool operator!=(const SmallVector& a, const std::vector<T>& b) { return !(a == b); }
  friend bool operator!=(const std::vector<T>& a, const SmallVector& b) { return !(b == a); }

 private:
  T* ptr() noexcept { return heap_ ? heap_ : inline_; }
  const T* ptr() const noexcept { return heap_ ? heap_ : inline_; }

  void grow_to(size_t n) {
    n = std::max(n, 2 * capacity());
    T* fresh = static_cast<T*>(std::malloc(n * sizeof(T)));
    if (!fresh) throw std::bad_alloc();
    if (size_) std::memcpy(fresh, ptr(), size_ * sizeof(T));
    std::free(heap_);
    heap_ = fresh;
    capacity_ = n;
  }
  void release() noexcept {
    std::free(heap_);
    heap_ = nullptr;
    size_ = 0;
  }
  // Moves other's elements here (this holds nothing) and leaves other empty.
  void take(SmallVector& other) noexcept {
    size_ = other.size_;
    if (other.heap_) {
      heap_ = other.heap_;
      capacity_ = other.capacity_;
      other.heap_ = nullptr;
    } else if (size_) {
      std::memcpy(inline_, other.inline_, size_ * sizeof(T));
    }
    other.size_ = 0;
  }

  T* heap_ = nullptr;  // null while the elements fit inline
  size_t size_ = 0;
  size_t capacity_ = 0;  // of heap_
  T inline_[N];
};

}  // namespace backprop
