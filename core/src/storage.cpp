#include "bg/core/storage.h"

#include "bg/core/cpu_cache.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "sanitizers.h"

#ifdef BG_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace bg {

namespace {

// Under AddressSanitizer the blocks a cache keeps are poisoned until handed out again: a read or
// write through a dangling pointer into one is reported as it would be after free().
#ifdef BG_ASAN
void poison(void* p, size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
void unpoison(void* p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
void poison(void*, size_t) {}
void unpoison(void*, size_t) {}
#endif

// Note [CPU block caches]
// Freed blocks are kept for reuse, in two caches behind one mutex:
// - Small blocks (under 128 KiB), in power-of-two size classes from 64 bytes, up to 32 MiB in all.
//   A small training step allocates and frees hundreds of tiny tensors; aligned_alloc serves them
//   through glibc's slow memalign path, and glibc hands the top of its heap back to the system
//   and takes it again, page fault by page fault: a seed BBB step spent about 20% of its time
//   there. Each class is a LIFO stack, so the block handed out is the one freed last (still in
//   the cache).
// - Large blocks (128 KiB, glibc's mmap threshold, and up), by size rounded to whole pages, up to
//   256 MiB in all. glibc serves them with mmap, or trims them off the top of the heap once freed,
//   so a training loop that allocates the same large tensors every step (a convolution's columns:
//   megabytes) would pay a page fault per 4 KiB touched, every step: a LeNet step spent 0.55 of
//   its 2.8 ms in the kernel that way.
// A block freed when its cache is full goes back to the system; release_cpu_cache() empties both.
class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    const size_t size = rounded(nbytes);
    if (void* p = take(size)) {
      unpoison(p, size);
      return p;
    }
    void* p = std::aligned_alloc(kAlignment, size);
    if (!p) throw std::bad_alloc();
    return p;
  }

  void deallocate(void* ptr, size_t nbytes) override {
    if (ptr == nullptr) return;
    const size_t size = rounded(nbytes);
    {
      std::lock_guard lock(mutex_);
      if (size < kLargeFrom) {
        if (small_bytes_ + size <= kSmallLimit) {
          poison(ptr, size);
          small_[small_class(size)].push_back(ptr);
          small_bytes_ += size;
          return;
        }
      } else if (large_bytes_ + size <= kLargeLimit) {
        poison(ptr, size);
        large_.emplace(size, ptr);
        large_bytes_ += size;
        return;
      }
    }
    std::free(ptr);
  }

  CpuCacheStats stats() {
    std::lock_guard lock(mutex_);
    size_t small_blocks = 0;
    for (const auto& stack : small_) small_blocks += stack.size();
    return {small_bytes_, small_blocks, large_bytes_, large_.size()};
  }

  void release() {
    std::vector<std::pair<void*, size_t>> blocks;
    {
      std::lock_guard lock(mutex_);
      for (size_t c = 0; c < small_.size(); ++c) {
        for (void* p : small_[c]) blocks.emplace_back(p, kAlignment << c);
        small_[c].clear();
      }
      for (const auto& [size, p] : large_) blocks.emplace_back(p, size);
      large_.clear();
      small_bytes_ = large_bytes_ = 0;
    }
    for (const auto& [p, size] : blocks) {
      unpoison(p, size);
      std::free(p);
    }
  }

 private:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kLargeFrom = size_t{128} << 10;
  static constexpr size_t kSmallLimit = size_t{32} << 20;
  static constexpr size_t kLargeLimit = size_t{256} << 20;
  static constexpr int kSmallClasses = 11;  // 64 B, 128 B, ..., 64 KiB

  // Small sizes round up to their class (a power of two, at least the alignment, which
  // aligned_alloc wants a multiple of); sizes in (64 KiB, 128 KiB) to 128 KiB, the smallest large
  // block; large sizes to whole pages.
  static size_t rounded(size_t n) {
    if (n > kLargeFrom) return (n + 4095) / 4096 * 4096;
    return std::max(std::bit_ceil(n), kAlignment);
  }
  static size_t small_class(size_t size) { return std::countr_zero(size) - 6; }

  // A cached block of exactly `size` bytes (already rounded), or null.
  void* take(size_t size) {
    std::lock_guard lock(mutex_);
    if (size < kLargeFrom) {
      auto& stack = small_[small_class(size)];
      if (stack.empty()) return nullptr;
      void* p = stack.back();
      stack.pop_back();
      small_bytes_ -= size;
      return p;
    }
    auto it = large_.find(size);
    if (it == large_.end()) return nullptr;
    void* p = it->second;
    large_.erase(it);
    large_bytes_ -= size;
    return p;
  }

  std::mutex mutex_;
  std::array<std::vector<void*>, kSmallClasses> small_;
  size_t small_bytes_ = 0;
  std::multimap<size_t, void*> large_;
  size_t large_bytes_ = 0;
};

CpuAllocator& the_cpu_allocator() {
  // Never destroyed: tensors freed during static destruction may still return memory to it.
  static CpuAllocator* allocator = new CpuAllocator;
  return *allocator;
}

}  // namespace

Allocator& cpu_allocator() { return the_cpu_allocator(); }

CpuCacheStats cpu_cache_stats() { return the_cpu_allocator().stats(); }

void release_cpu_cache() { the_cpu_allocator().release(); }

Storage::Storage(size_t nbytes, Device device, Allocator& allocator)
    : data_(allocator.allocate(nbytes)), nbytes_(nbytes), device_(device), allocator_(&allocator) {}

Storage::Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter)
    : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)) {}

Storage::~Storage() {
  if (allocator_ != nullptr) {
    allocator_->deallocate(data_, nbytes_);
  } else if (deleter_) {
    deleter_(data_);
  }
}

}  // namespace bg
