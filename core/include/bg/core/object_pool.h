#pragma once
// Memory for the small bookkeeping objects every op creates: tensor handles (TensorImpl), storage
// records, autograd nodes and their metadata (Note [Object pool] in object_pool.cpp).

#include <cstddef>
#include <memory>
#include <utility>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::detail {

/// `nbytes` of memory aligned like operator new's, from the calling thread's cache of freed blocks
/// of that size class when it has one.
void* pool_allocate(size_t nbytes);
/// Gives back a block from pool_allocate(nbytes), of the same nbytes (any thread may).
void pool_deallocate(void* ptr, size_t nbytes) noexcept;

/// A standard allocator over pool_allocate, for std::allocate_shared and containers.
template <typename T>
struct PoolAllocator {
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "over-aligned types need new");
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(pool_allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { pool_deallocate(p, n * sizeof(T)); }
  friend bool operator==(PoolAllocator, PoolAllocator) { return true; }
};

/// std::make_shared with the object and its reference counts in one pooled block.
template <typename T, typename... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>{}, std::forward<Args>(args)...);
}

}  // namespace bg::detail

BG_API_END
