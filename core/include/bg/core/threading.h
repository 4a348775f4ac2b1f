#pragma once
// CPU threads. All of bayesgrad's parallelism runs in its own oneTBB task arena; Eigen runs
// single-threaded inside it. The arena's size limits bayesgrad only: an application's own TBB work
// keeps all its threads.
//
// Work is split into chunks whose boundaries depend only on the problem size, never on the thread
// count, and partial results are combined in a fixed order: every op gives bitwise the same result
// on 1 thread and on many.

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg {

/// Caps the number of threads bayesgrad's CPU kernels use (at least 1). Results do not depend on
/// it.
void set_num_threads(int threads);
/// The current cap. By default the environment variable BG_NUM_THREADS (a whole number, at least 1;
/// anything else is a bg::Error at first use), else the number of cores the process may use.
int get_num_threads();

/// Flushes denormal floats to zero (x86-64's FTZ and DAZ modes) in the calling thread and in
/// bayesgrad's worker threads, or stops flushing them (`on` false, the default): as
/// torch.set_flush_denormal. Values below the smallest normal float (about 1.2e-38 in float32)
/// then read and compute as zero: faster where values underflow (x86 CPUs run arithmetic on
/// denormals through slow microcode assists), but no longer IEEE's gradual underflow, so results
/// can differ from the default's in their smallest values. CPU arithmetic only (the CUDA kernels
/// keep theirs). Returns false, changing nothing, on a CPU without such a mode (not x86-64).
bool set_flush_denormal(bool on);

}  // namespace bg

BG_API_END
