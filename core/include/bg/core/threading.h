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

}  // namespace bg

BG_API_END
