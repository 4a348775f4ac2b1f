// Reductions (sum, prod, max, min) and arg-reductions.
//
// As on the CPU (cpu/reduce.cpp), every reduction is brought to the form [A, R, C]: reduce the
// middle of a contiguous block, copying the input with its reduced dims last when they are not
// adjacent. Long rows (C = 1) are reduced by one block each; columns (C > 1) and short rows by one
// thread each, which keeps neighbouring threads on neighbouring addresses for columns. When the
// outputs are too few to keep the GPU busy, R is cut into segments that are reduced in a first pass
// and combined in a second. Every thread and block combines in a fixed order, so results are the
// same from run to run. Sums of float32 accumulate in float64, as on the CPU; max and min propagate
// NaN.

#include <algorithm>
#include <limits>
#include <type_traits>

#include "block_reduce.cuh"
#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <typename T>
__host__ __device__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  return false;
}

template <typename Acc>
struct Combine {
  ReduceOp op;
  __device__ Acc operator()(Acc acc, Acc x) const {
    switch (op) {
      case ReduceOp::Sum:
        return acc + x;
      case ReduceOp::Prod:
        return acc * x;
      case ReduceOp::Max:
        return (x > acc || is_nan(x)) && !is_nan(acc) ? x : acc;
      default:  // Min
        return (x < acc || is_nan(x)) && !is_nan(acc) ? x : acc;
    }
  }
};

template <typename T>
Acc<T> identity(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return Acc<T>(0);
    case ReduceOp::Prod:
      return Acc<T>(1);
    case ReduceOp::Max:
      return std::numeric_limits<T>::lowest();
    default:
      return std::numeric_limits<T>::max();
  }
}

// How one pass cuts the rows: output (a, s, c) of [A, segments, C] combines r in
// [s * length, min(R, (s + 1) * length)) of in[a, r, c].
struct Cut {
  int64_t A, R, C, segments, length;
};

template <typename In, typename Out, typename Acc>
__global__ void reduce_rows(Out* out, const In* in, Cut cut, Combine<Acc> combine, Acc identity) {
  __shared__ Acc scratch[kThreads];
  for (int64_t task = blockIdx.x; task < cut.A * cut.segments; task += gridDim.x) {
    const int64_t a = task / cut.segments, begin = task % cut.segments * cut.length;
    const int64_t end = begin + cut.length < cut.R ? begin + cut.length : cut.R;
    Acc acc = identity;
    for (int64_t r = begin + threadIdx.x; r < end; r += kThreads) {
      acc = combine(acc, static_cast<Acc>(in[a * cut.R + r]));
    }
    acc = block_reduce(acc, scratch, combine);
    if (threadIdx.x == 0) out[task] = static_cast<Out>(acc);
  }
}

template <typename In, typename Out, typename Acc>
__global__ void reduce_columns(Out* out, const In* in, Cut cut, Combine<Acc> combine,
                               Acc identity) {
  const int64_t total = cut.A * cut.segments * cut.C;
  for (int64_t task = blockIdx.x * int64_t{kThreads} + threadIdx.x; task < total;
       task += int64_t{gridDim.x} * kThreads) {
    const int64_t c = task % cut.C, rest = task / cut.C;
    const int64_t a = rest / cut.segments, begin = rest % cut.segments * cut.length;
    const int64_t end = begin + cut.length < cut.R ? begin + cut.length : cut.R;
    Acc acc = identity;
    for (int64_t r = begin; r < end; ++r) {
      acc = combine(acc, static_cast<Acc>(in[(a * cut.R + r) * cut.C + c]));
    }
    out[task] = static_cast<Out>(acc);
  }
}

template <typename In, typename Out, typename Acc>
void reduce_pass(Out* out, const In* in, const Cut& cut, ReduceOp op, Acc identity) {
  // Short rows (a row sum over a few classes) would leave most of a block idle: one thread each
  // (the columns kernel with C = 1) suits them better.
  constexpr int64_t kShortRow = 32;
  if (cut.C == 1 && cut.length >= kShortRow) {
    reduce_rows<In, Out, Acc>
        <<<blocks_for(cut.A * cut.segments * kThreads), kThreads, 0, current_stream()>>>(
            out, in, cut, Combine<Acc>{op}, identity);
  } else {
    reduce_columns<In, Out, Acc>
        <<<blocks_for(cut.A * cut.segments * cut.C), kThreads, 0, current_stream()>>>(
            out, in, cut, Combine<Acc>{op}, identity);
  }
  check_launch("reduce");
}

// Enough parallel work to fill a large GPU: blocks for rows, threads for columns.
constexpr int64_t kWantedBlocks = 1024;
constexpr int64_t kWantedThreads = 1 << 16;

template <typename T>
void reduce_arc(ReduceOp op, const Tensor& out, const Tensor& in, int64_t A, int64_t R, int64_t C) {
  T* out_data = static_cast<T*>(out.impl()->data());
  const T* in_data = static_cast<const T*>(in.impl()->data());
  const Acc<T> start = identity<T>(op);
  int64_t segments = 1;
  if (C == 1 && A < kWantedBlocks) {
    segments = std::min((R + 4 * kThreads - 1) / (4 * kThreads), (kWantedBlocks + A - 1) / A);
  } else if (C > 1 && A * C < kWantedThreads) {
    segments = std::min((R + 63) / 64, (kWantedThreads + A * C - 1) / (A * C));
  }
  if (segments <= 1) {
    reduce_pass(out_data, in_data, Cut{A, R, C, 1, R}, op, start);
    return;
  }
  const int64_t length = (R + segments - 1) / segments;
  const Tensor partial = empty_on({A * segments * C}, dtype_of<Acc<T>>, out.device());
  auto* partial_data = static_cast<Acc<T>*>(partial.impl()->data());
  reduce_pass(partial_data, in_data, Cut{A, R, C, segments, length}, op, start);
  reduce_pass(out_data, static_cast<const Acc<T>*>(partial_data), Cut{A, segments, C, 1, segments},
              op, start);
}

// ---- Arg-reductions -----------------------------------------------------------------------------

// Whether (v, i) beats the best so far (best, at): the first NaN wins, then the larger (smaller)
// value, then the earlier index. at == -1 means nothing yet.
template <typename T>
__device__ bool beats(T v, int64_t i, T best, int64_t at, bool want_max) {
  if (at < 0) return true;
  const bool v_nan = is_nan(v), best_nan = is_nan(best);
  if (v_nan || best_nan) return v_nan && (!best_nan || i < at);
  if (v == best) return i < at;
  return want_max ? v > best : v < best;
}

template <typename T>
struct Candidate {
  T value;
  int64_t index;
};

template <typename T>
struct Better {
  bool want_max;
  __device__ Candidate<T> operator()(Candidate<T> x, Candidate<T> y) const {
    return beats(y.value, y.index, x.value, x.index, want_max) ? y : x;
  }
};

template <typename T>
__global__ void arg_reduce_rows(int64_t* out, const T* in, int64_t A, int64_t R, bool want_max) {
  __shared__ Candidate<T> scratch[kThreads];
  for (int64_t a = blockIdx.x; a < A; a += gridDim.x) {
    Candidate<T> best{T(), -1};
    for (int64_t r = threadIdx.x; r < R; r += kThreads) {
      const T v = in[a * R + r];
      if (beats(v, r, best.value, best.index, want_max)) best = {v, r};
    }
    best = block_reduce(best, scratch, Better<T>{want_max});
    if (threadIdx.x == 0) out[a] = best.index < 0 ? 0 : best.index;
  }
}

template <typename T>
__global__ void arg_reduce_columns(int64_t* out, const T* in, int64_t A, int64_t R, int64_t C,
                                   bool want_max) {
  for (int64_t task = blockIdx.x * int64_t{kThreads} + threadIdx.x; task < A * C;
       task += int64_t{gridDim.x} * kThreads) {
    const T* p = in + task / C * R * C + task % C;
    Candidate<T> best{T(), -1};
    for (int64_t r = 0; r < R; ++r) {
      if (beats(p[r * C], r, best.value, best.index, want_max)) best = {p[r * C], r};
    }
    out[task] = best.index < 0 ? 0 : best.index;
  }
}

}  // namespace

void CudaBackend::reduce(ReduceOp op, const Tensor& out, const Tensor& in, const Shape& dims) {
  use_device(out.device(), "reduce");
  if (out.numel() == 0) return;
  if (reduce_separate_runs(*this, op, out, in, dims)) return;
  const ReductionBlock v = reduction_block(in, dims);
  switch (in.dtype()) {
    case Dtype::Float32:
      return reduce_arc<float>(op, out, v.data, v.A, v.R, v.C);
    case Dtype::Float64:
      return reduce_arc<double>(op, out, v.data, v.A, v.R, v.C);
    case Dtype::Int64:
      return reduce_arc<int64_t>(op, out, v.data, v.A, v.R, v.C);
    case Dtype::Bool:
      break;
  }
  throw Error("reduce: bool tensors are reduced as int64 by the frontend");
}

void CudaBackend::arg_reduce(ArgReduceOp op, const Tensor& out, const Tensor& in, int64_t dim) {
  use_device(out.device(), "arg_reduce");
  if (out.numel() == 0) return;
  const ReductionBlock v = reduction_block(in, {dim});
  const bool want_max = op == ArgReduceOp::Argmax;
  auto* result = static_cast<int64_t*>(out.impl()->data());
  dispatch_all(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(v.data.impl()->data());
    if (v.C == 1) {
      arg_reduce_rows<T><<<blocks_for(v.A * kThreads), kThreads, 0, current_stream()>>>(
          result, x, v.A, v.R, want_max);
    } else {
      arg_reduce_columns<T><<<blocks_for(v.A * v.C), kThreads, 0, current_stream()>>>(
          result, x, v.A, v.R, v.C, want_max);
    }
    check_launch("arg_reduce");
  });
}

}  // namespace bg::cuda
