#pragma once
// The task arena of bayesgrad's CPU work (Note [Our own arena], parallel.h). It is outside the
// copies of the kernels (Note [One backend per instruction set], cpu_backend.h): threading.cpp
// defines it once, and every copy runs its work there.

#include <tbb/task_arena.h>

#include <memory>

namespace bg::cpu {

/// The arena bayesgrad's CPU work runs in (threading.cpp), created on first use.
std::shared_ptr<tbb::task_arena> arena();

}  // namespace bg::cpu
