#pragma once
// The caching allocator: GPU memory for one device, kept for reuse instead of returned.
//
// cudaMalloc and cudaFree are slow (cudaFree also waits for the whole device), and a training step
// allocates and frees the same sizes over and over. Freed blocks go onto a free list per size
// class and are handed out again for the next request of that class. Reuse needs no waiting:
// every op of a device runs on its one stream in issue order (Note [One stream per device]), so
// the next user of a block is queued after the last user that freed it.
//
// Size classes: multiples of 512 bytes up to 1 MiB; above, four classes per power of two (at most
// a quarter of a block unused). When cudaMalloc fails, the cached blocks are released and the
// request is tried once more.

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "bg/core/storage.h"

namespace bg::cuda {

class CachingAllocator final : public Allocator {
 public:
  explicit CachingAllocator(int device_index) : device_index_(device_index) {}

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;

  /// The size class (the bytes actually reserved) of a request of `nbytes`.
  static size_t size_class(size_t nbytes);

 private:
  // Returns every cached block to the driver (called with the mutex held).
  void release_cached();

  int device_index_;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_blocks_;
  size_t cached_bytes_ = 0;
};

}  // namespace bg::cuda
