#pragma once
// The NCCL communicator of this process, and what the NCCL sources share; internal.
//
// Note [One GPU per rank]
// NCCL runs one rank per GPU: two ranks on one GPU are refused. The communicator is made by the
// first collective on a CUDA tensor (jobs that never use a GPU never start NCCL, which takes
// seconds and GPU memory) and is bound to that tensor's GPU: each rank chooses its GPU by where it
// puts its tensors (on one machine, typically cuda:<rank % device_count()>), and bg::dist never
// moves data between GPUs behind the user's back. A later collective on another GPU is an error.
// All of this process's NCCL work (the free collectives and DataParallel's buckets) goes through
// this one communicator, queued on the CUDA backend's stream of that GPU, so it runs in order with
// the kernels that produce and consume the data and the host does not wait for it. The
// communicator lives as long as the process, like the backend's streams (cuda/src/runtime.cpp).

#include <cuda_runtime.h>
#include <nccl.h>

#include "bg/core.h"
#include "bg/core/tensor_impl.h"

namespace bg::dist::detail {

/// Throws bg::Error("<op>: <what> failed: <NCCL's message>") unless `result` is ncclSuccess.
void check_nccl(ncclResult_t result, const char* op, const char* what);

/// The NCCL type of one element of `dtype` (bool travels as bytes).
ncclDataType_t nccl_type(Dtype dtype);

/// Where this process's NCCL work is queued.
struct NcclQueue {
  ncclComm_t comm;
  cudaStream_t stream;
};

/// The communicator over all ranks and the stream of `device`, made current on this thread.
/// Makes the communicator on first use: every rank must get here in the same collective (agree()
/// made sure). Throws bg::Error naming `op` when `device` is not the GPU the communicator was
/// made on.
NcclQueue nccl_queue(const char* op, Device device);

}  // namespace bg::dist::detail
