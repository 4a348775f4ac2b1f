#pragma once
// The choice of the CPU backend's copy for this CPU (Note [One backend per instruction set]).

#include "bg/core/backend.h"

namespace bg::cpu {

/// The copy of the CPU backend for this CPU's instruction set (or BG_CPU_KERNELS'), chosen on
/// the first call.
Backend& dispatched_backend();

}  // namespace bg::cpu
