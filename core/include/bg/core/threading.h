#pragma once
// CPU threads. All parallelism goes through one oneTBB pool; Eigen runs single-threaded inside it.
//
// Work is split into chunks whose boundaries depend only on the problem size, never on the thread
// count, and partial results are combined in a fixed order: every op gives bitwise the same result
// on 1 thread and on many.

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg {

/// Caps the number of threads CPU kernels use (at least 1).
void set_num_threads(int threads);
/// The current cap (by default, the number of cores).
int get_num_threads();

}  // namespace bg

BG_API_END
