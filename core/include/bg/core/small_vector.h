#pragma once
// SmallVector: a vector that keeps its first N elements inline, without touching the heap.
//
// Sizes and strides of almost every tensor have at most a handful of dims, and ops create many of
// them; storing them inline removes most of the memory allocations an op makes. Only trivially
// copyable element types are supported, which keeps the class short.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <type_traits>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg {

template <typename T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>, "SmallVector holds trivially copyable types");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;
  using reverse_iterator = std::reverse_iterator<T*>;
  using const_reverse_iterator = std::reverse_iterator<const T*>;

  SmallVector() = default;
  explicit SmallVector(size_t count, const T& value = T()) { assign_fill(count, value); }
  SmallVector(std::initializer_list<T> values) { assign_range(values.begin(), values.end()); }
  template <std::input_iterator It>
  SmallVector(It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }
  SmallVector(const SmallVector& other) { assign_range(other.begin(), other.end()); }
  SmallVector(SmallVector&& other) noexcept { take(other); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) {
      size_ = 0;
      assign_range(other.begin(), other.end());
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  ~SmallVector() { release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& front() { return data_[0]; }
  const T& front() const { return data_[0]; }
  T& back() { return data_[size_ - 1]; }
  const T& back() const { return data_[size_ - 1]; }

  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  reverse_iterator rbegin() { return reverse_iterator(end()); }
  reverse_iterator rend() { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }

  void reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    T* grown = new T[capacity];
    std::memcpy(grown, data_, size_ * sizeof(T));
    release();
    data_ = grown;
    capacity_ = capacity;
  }
  void resize(size_t count, const T& value = T()) {
    reserve(count);
    for (size_t i = size_; i < count; ++i) data_[i] = value;
    size_ = count;
  }
  void clear() { size_ = 0; }
  void push_back(const T& value) {
    if (size_ == capacity_) {
      const T copy = value;  // `value` may live in the buffer that reserve() frees
      reserve(2 * capacity_);
      data_[size_++] = copy;
      return;
    }
    data_[size_++] = value;
  }
  void pop_back() { --size_; }

  T* insert(const T* position, const T& value) { return insert(position, &value, &value + 1); }
  T* insert(const T* position, std::initializer_list<T> values) {
    return insert(position, values.begin(), values.end());
  }
  template <std::forward_iterator It>
  T* insert(const T* position, It first, It last) {
    const size_t at = static_cast<size_t>(position - data_);
    const auto count = static_cast<size_t>(std::distance(first, last));
    SmallVector inserted(first, last);  // the range may point into this vector
    if (size_ + count > capacity_) reserve(std::max(size_ + count, 2 * capacity_));
    std::memmove(data_ + at + count, data_ + at, (size_ - at) * sizeof(T));
    std::memcpy(data_ + at, inserted.data(), count * sizeof(T));
    size_ += count;
    return data_ + at;
  }
  T* erase(const T* position) {
    const size_t at = static_cast<size_t>(position - data_);
    std::memmove(data_ + at, data_ + at + 1, (size_ - at - 1) * sizeof(T));
    --size_;
    return data_ + at;
  }

  friend bool operator==(const SmallVector& a, const SmallVector& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  bool is_inline() const { return data_ == inline_; }
  void release() {
    if (!is_inline()) delete[] data_;
    data_ = inline_;
    capacity_ = N;
  }
  template <typename It>
  void assign_range(It first, It last) {
    reserve(static_cast<size_t>(std::distance(first, last)));
    size_ = 0;
    for (; first != last; ++first) data_[size_++] = *first;
  }
  void assign_fill(size_t count, const T& value) {
    reserve(count);
    std::fill(data_, data_ + count, value);
    size_ = count;
  }
  // Steals other's heap buffer, or copies its inline elements.
  void take(SmallVector& other) {
    if (other.is_inline()) {
      std::memcpy(inline_, other.inline_, other.size_ * sizeof(T));
      data_ = inline_;
      capacity_ = N;
    } else {
      data_ = other.data_;
      capacity_ = other.capacity_;
      other.data_ = other.inline_;
      other.capacity_ = N;
    }
    size_ = other.size_;
    other.size_ = 0;
  }

  T inline_[N];
  T* data_ = inline_;
  size_t size_ = 0;
  size_t capacity_ = N;
};

}  // namespace bg

BG_API_END
