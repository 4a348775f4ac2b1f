#pragma once
// Deterministic parallel loops over oneTBB.
//
// Note [Deterministic chunks]
// Work on [0, n) is cut into chunks of `grain` items. The cut depends only on n and grain, never on
// the thread count, and each chunk is computed the same way whichever thread runs it. Reductions
// combine the per-chunk results in chunk order. So 1 thread and 16 threads produce the same bits.
// Small problems (a single chunk) run inline, without touching the thread pool.
//
// Note [Our own arena]
// Parallel work runs in bayesgrad's own tbb::task_arena, sized by set_num_threads (or
// BG_NUM_THREADS): the limit applies to bayesgrad only, never to the application's own TBB work
// (which a process-wide tbb::global_control would cap too), and the arena isolates bayesgrad's
// tasks from the application's.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>

#include "cpu/arena.h"

namespace bg::cpu::BG_CPU_ISA {

/// Items per chunk for cheap elementwise work: large enough that a chunk outweighs scheduling.
inline constexpr int64_t kElementwiseGrain = 32768;

/// Calls fn(begin, end) for every chunk of [0, n).
template <typename Fn>
void parallel_for(int64_t n, int64_t grain, const Fn& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (n <= grain) {
    fn(int64_t{0}, n);
    return;
  }
  const int64_t chunks = (n + grain - 1) / grain;
  arena()->execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<int64_t>(0, chunks, 1),
        [&](const tbb::blocked_range<int64_t>& range) {
          for (int64_t c = range.begin(); c < range.end(); ++c) {
            fn(c * grain, std::min(n, (c + 1) * grain));
          }
        },
        tbb::simple_partitioner());
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
