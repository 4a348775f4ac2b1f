#pragma once
// What the dist suite's CUDA cases share. NCCL runs one rank per GPU and refuses two ranks on one
// GPU, so the cases need as many GPUs as ranks; without them they return at once.

#include <bg/dist.h>
#include <doctest/doctest.h>

namespace bg::test {

/// Whether every rank of this job has a GPU of its own; says why not when it returns false. The
/// ranks of the suite run on one machine, so every rank gives the same answer and skips alike.
inline bool gpu_per_rank() {
  const int gpus = cuda::device_count();
  if (gpus >= dist::world_size()) return true;
  MESSAGE("skipped: ", gpus, " GPUs for ", dist::world_size(), " ranks (NCCL needs one per rank)");
  return false;
}

/// This rank's GPU: cuda:<rank>.
inline Device rank_gpu() { return Device::cuda(static_cast<int16_t>(dist::rank())); }

}  // namespace bg::test
