#pragma once
// The CUDA backend's stream of a device, for libraries that queue their own GPU work (bg::dist's
// NCCL collectives) in order with the backend's kernels (Note [One stream per device] in
// cuda/src/runtime.h). Only code built with the CUDA backend can include this header.

#include <cuda_runtime.h>

#include "bg/core/api.h"
#include "bg/core/device.h"

BG_API_BEGIN

namespace bg::cuda {

/// Makes `device` current for this thread and returns the stream every op on it is queued on.
/// Throws bg::Error naming `op` when the device does not exist.
cudaStream_t device_stream(Device device, const char* op);

}  // namespace bg::cuda

BG_API_END
