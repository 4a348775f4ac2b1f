#pragma once
// The CUDA runtime as the backend uses it: errors turned into bg::Error, the current device, and
// one stream and one cuBLAS handle per device.
//
// Note [One stream per device]
// Every kernel, copy and cuBLAS call for a device is queued on that device's one stream, so work
// runs in the order it was issued and memory freed by one op can be handed to the next op at once
// (the caching allocator relies on it). The host waits only where it must read results: copies to
// the host (item(), to(kCPU)) synchronize the stream.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "bg/core/device.h"

namespace bg::cuda {

/// Throws bg::Error("<op>: CUDA error: <description> (<name>)") unless `status` is cudaSuccess.
void check(cudaError_t status, const char* op);

/// Throws bg::Error("<op>: cuBLAS error: <description>") unless `status` is CUBLAS_STATUS_SUCCESS.
void check_blas(cublasStatus_t status, const char* op);

/// Checks that the kernel just launched for `op` was launched (bad configurations, missing kernel
/// images for the GPU's architecture); errors while it runs surface at the next synchronization.
void check_launch(const char* op);

/// The number of usable GPUs (0 when there is no driver or device).
int visible_devices();

/// Makes `device` current for this thread (and checks that it exists), naming `op` on failure.
void use_device(Device device, const char* op);

/// The stream of the device use_device() made current on this thread (Note [One stream per
/// device]).
cudaStream_t current_stream();

/// The cuBLAS handle of that device, bound to its stream.
cublasHandle_t current_blas();

/// Waits for the current device's stream.
void sync_current_stream(const char* op);

}  // namespace bg::cuda
