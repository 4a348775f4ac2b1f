#include "bg/core/object_pool.h"

#include <cstdint>
#include <new>

#include "sanitizers.h"

namespace bg::detail {

// Note [Object pool]
// An op makes a handful of small objects: the output's TensorImpl and Storage record, its autograd
// node, the node's metadata. A training step of a small MLP makes and frees hundreds of them, more
// of one size than glibc's per-thread cache keeps (7), so most went through glibc's slower bins:
// a seed BBB step spent about 10% of its time in malloc and free.
//
// Each thread keeps freed blocks in per-size-class stacks (16-byte classes up to 1 KiB, at most
// 2 MiB in all) linked through the blocks themselves, and hands them out again LIFO, so
// a step reuses the blocks the step before freed, still in cache. Blocks come from operator new,
// one each, so a block may be freed on any thread, into that thread's stacks. When a thread ends,
// its stacks go back to operator delete; blocks it frees after that (during static destruction)
// go straight there too.
//
// Under AddressSanitizer the pool is bypassed, so a use after free is reported as without it.
namespace {

constexpr size_t kGranule = 16;
constexpr size_t kClasses = 64;  // blocks of 16, 32, ..., 1024 bytes
constexpr size_t kMaxCachedBytes = size_t{2} << 20;

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible, so it stays usable until the thread's storage is gone, after Drain ran.
struct ThreadCache {
  FreeBlock* top[kClasses];
  size_t cached_bytes;
  bool draining_registered;
  bool closed;  // the thread is ending: blocks go straight back to operator delete
};
constinit thread_local ThreadCache cache{};

size_t class_of(size_t nbytes) { return (nbytes - 1) / kGranule; }

// Empties the thread's stacks when the thread ends.
struct Drain {
  ~Drain() {
    cache.closed = true;
    for (size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* block = cache.top[c]) {
        cache.top[c] = block->next;
        ::operator delete(block);
      }
    }
    cache.cached_bytes = 0;
  }
};

void register_drain() {
  static thread_local Drain drain;
  (void)drain;
  cache.draining_registered = true;
}

}  // namespace

void* pool_allocate(size_t nbytes) {
  if (kBypassPools || nbytes == 0 || nbytes > kGranule * kClasses) return ::operator new(nbytes);
  const size_t c = class_of(nbytes);
  if (FreeBlock* block = cache.top[c]) {
    cache.top[c] = block->next;
    cache.cached_bytes -= (c + 1) * kGranule;
    return block;
  }
  return ::operator new((c + 1) * kGranule);
}

void pool_deallocate(void* ptr, size_t nbytes) noexcept {
  if (ptr == nullptr) return;
  if (kBypassPools || nbytes == 0 || nbytes > kGranule * kClasses) {
    ::operator delete(ptr);
    return;
  }
  const size_t c = class_of(nbytes), size = (c + 1) * kGranule;
  if (cache.closed || cache.cached_bytes + size > kMaxCachedBytes) {
    ::operator delete(ptr);
    return;
  }
  if (!cache.draining_registered) register_drain();
  auto* block = static_cast<FreeBlock*>(ptr);
  block->next = cache.top[c];
  cache.top[c] = block;
  cache.cached_bytes += size;
}

}  // namespace bg::detail
