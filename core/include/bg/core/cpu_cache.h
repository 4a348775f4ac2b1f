#pragma once
// The CPU allocator's caches of freed blocks (Note [CPU block caches] in storage.cpp): blocks under
// 128 KiB in power-of-two size classes, up to 32 MiB in all, and larger ones by whole pages, up to
// 256 MiB. A tensor's memory freed on one step is handed out again on the next; these functions
// say how much is kept and give it back.

#include <cstddef>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg {

/// What the CPU allocator keeps for reuse: the bytes and blocks of each cache.
struct CpuCacheStats {
  size_t small_bytes = 0;  ///< blocks under 128 KiB
  size_t small_blocks = 0;
  size_t large_bytes = 0;  ///< blocks of 128 KiB and more
  size_t large_blocks = 0;
};

/// The CPU allocator's caches now.
CpuCacheStats cpu_cache_stats();

/// Returns every block the CPU allocator keeps for reuse to the system (live tensors keep theirs).
void release_cpu_cache();

}  // namespace bg

BG_API_END
