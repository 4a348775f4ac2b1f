#pragma once
// What a program asks about CUDA devices. Declared in core so that the same code compiles with and
// without the CUDA backend: in a build without it (BG_CUDA=OFF, or no nvcc), is_built() and
// is_available() are false, and creating a tensor on a CUDA device throws a bg::Error saying so.

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::cuda {

/// True when the program has the CUDA backend: bayesgrad was built with it, and the backend
/// registered itself at start (every program that links bg::core in such a build has it).
bool is_built();

/// True when the program has the CUDA backend and at least one GPU is present.
bool is_available();

/// The number of GPUs the backend can use (0 without the backend, a driver or a GPU).
int device_count();

/// Waits until all work queued on every GPU is done (kernels run asynchronously: item(), to(kCPU)
/// and copies to the host wait by themselves; this is for timing and for handing memory to other
/// libraries).
void synchronize();

}  // namespace bg::cuda

BG_API_END
