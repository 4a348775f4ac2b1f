#pragma once
// Combining one value per thread of a block, in a fixed tree order (so results do not vary from
// run to run), through shared memory.

#include "elementwise.cuh"

namespace bg::cuda {

/// Combines the values of a block's kThreads threads with `combine`; every thread gets the result.
/// `scratch` is shared memory of kThreads elements.
template <typename T, typename Combine>
__device__ T block_reduce(T value, T* scratch, const Combine& combine) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (unsigned step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step)
      scratch[threadIdx.x] = combine(scratch[threadIdx.x], scratch[threadIdx.x + step]);
    __syncthreads();
  }
  const T result = scratch[0];
  __syncthreads();  // the scratch may be reused right after
  return result;
}

}  // namespace bg::cuda
