// Fused softmax and log_softmax. The input is seen as [A, D, C] with the softmax dim D in the
// middle (copied to contiguous first if needed). With C = 1 (the last dim: the usual case) each
// block normalizes one row, its threads sharing the max and the sum; otherwise each thread
// normalizes one column. As on the CPU: subtract the max (so exp never overflows), then
//   softmax = e / sum(e),   log_softmax = (x - max) - log(sum(e)).

#include <cmath>

#include "block_reduce.cuh"
#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

template <typename T>
struct Max {
  __device__ T operator()(T a, T b) const { return a > b || a != a ? a : b; }
};

template <typename T>
struct Add {
  __device__ T operator()(T a, T b) const { return a + b; }
};

template <typename T>
__global__ void softmax_rows(T* out, const T* in, int64_t A, int64_t D, bool log_output) {
  __shared__ T scratch[kThreads];
  for (int64_t a = blockIdx.x; a < A; a += gridDim.x) {
    const T* x = in + a * D;
    T* y = out + a * D;
    T max = -INFINITY;
    for (int64_t d = threadIdx.x; d < D; d += kThreads) max = Max<T>()(max, x[d]);
    max = block_reduce(max, scratch, Max<T>());
    T sum = 0;
    for (int64_t d = threadIdx.x; d < D; d += kThreads) sum += exp(x[d] - max);
    sum = block_reduce(sum, scratch, Add<T>());
    const T log_sum = log(sum);
    for (int64_t d = threadIdx.x; d < D; d += kThreads) {
      const T shifted = x[d] - max;
      y[d] = log_output ? shifted - log_sum : exp(shifted) / sum;
    }
  }
}

template <typename T>
__global__ void softmax_columns(T* out, const T* in, int64_t A, int64_t D, int64_t C,
                                bool log_output) {
  for (int64_t task = blockIdx.x * int64_t{kThreads} + threadIdx.x; task < A * C;
       task += int64_t{gridDim.x} * kThreads) {
    const int64_t first = task / C * D * C + task % C;
    const T* x = in + first;
    T* y = out + first;
    T max = -INFINITY;
    for (int64_t d = 0; d < D; ++d) max = Max<T>()(max, x[d * C]);
    T sum = 0;
    for (int64_t d = 0; d < D; ++d) sum += exp(x[d * C] - max);
    const T log_sum = log(sum);
    for (int64_t d = 0; d < D; ++d) {
      const T shifted = x[d * C] - max;
      y[d * C] = log_output ? shifted - log_sum : exp(shifted) / sum;
    }
  }
}

}  // namespace

void CudaBackend::softmax(const Tensor& out, const Tensor& in, int64_t dim, bool log) {
  use_device(out.device(), "softmax");
  if (out.numel() == 0) return;
  const Tensor src = contiguous_on_device(in);
  int64_t A = 1, C = 1;
  for (int64_t d = 0; d < in.dim(); ++d) {
    if (d < dim) A *= in.size(d);
    if (d > dim) C *= in.size(d);
  }
  const int64_t D = in.dim() == 0 ? 1 : in.size(dim);
  dispatch_floating(in.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    T* y = static_cast<T*>(out.impl()->data());
    const T* x = static_cast<const T*>(src.impl()->data());
    if (C == 1) {
      softmax_rows<T><<<blocks_for(A * kThreads), kThreads, 0, current_stream()>>>(y, x, A, D, log);
    } else {
      softmax_columns<T><<<blocks_for(A * C), kThreads, 0, current_stream()>>>(y, x, A, D, C, log);
    }
    check_launch("softmax");
  });
}

}  // namespace bg::cuda
