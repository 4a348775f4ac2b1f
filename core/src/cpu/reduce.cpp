// Reductions (sum, prod, max, min) and arg-reductions on the CPU.
//
// Every reduction is brought to the form [A, R, C]: reduce the middle of a contiguous block. A
// contiguous input whose reduced dims are adjacent already has that form (row sums: C = 1; column
// sums such as a bias gradient: A = 1); any other input is first copied with its reduced dims moved
// last (C = 1). Partial results are combined in a fixed order (Note [Deterministic chunks]).

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "ops/op_utils.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// Elements per block of a long row: each block is reduced with Eigen's vectorized reduction.
constexpr int64_t kBlock = 4096;

// float32 sums accumulate in float64: a few more cycles per element, far smaller rounding error.
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <typename T>
struct Reducer {
  ReduceOp op;

  Acc<T> identity() const {
    switch (op) {
      case ReduceOp::Sum:
        return Acc<T>(0);
      case ReduceOp::Prod:
        return Acc<T>(1);
      case ReduceOp::Max:
        return std::numeric_limits<T>::lowest();
      case ReduceOp::Min:
        return std::numeric_limits<T>::max();
    }
    return Acc<T>(0);
  }

  // acc (op) x, propagating NaN for max and min.
  Acc<T> combine(Acc<T> acc, Acc<T> x) const {
    switch (op) {
      case ReduceOp::Sum:
        return acc + x;
      case ReduceOp::Prod:
        return acc * x;
      case ReduceOp::Max:
        return (x > acc || x != x) && acc == acc ? x : acc;
      case ReduceOp::Min:
        return (x < acc || x != x) && acc == acc ? x : acc;
    }
    return acc;
  }

  // Reduces one contiguous block.
  Acc<T> block(const T* p, int64_t n) const {
    Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> x(p, n);
    switch (op) {
      case ReduceOp::Sum:
        return x.template cast<Acc<T>>().sum();
      case ReduceOp::Prod:
        return x.template cast<Acc<T>>().prod();
      case ReduceOp::Max:
        return x.template maxCoeff<Eigen::PropagateNaN>();
      case ReduceOp::Min:
        return x.template minCoeff<Eigen::PropagateNaN>();
    }
    return identity();
  }

  // Reduces a contiguous row of any length, block by block, the blocks in parallel when the row
  // is long and `parallel` is set; the blocks are combined in order either way.
  Acc<T> row(const T* p, int64_t n, bool parallel) const {
    if (n == 0) return identity();
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    if (blocks == 1) return block(p, n);
    std::vector<Acc<T>> partial(static_cast<size_t>(blocks));
    auto reduce_blocks = [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        partial[static_cast<size_t>(b)] = block(p + b * kBlock, std::min(kBlock, n - b * kBlock));
      }
    };
    if (parallel)
      parallel_for(blocks, 8, reduce_blocks);
    else
      reduce_blocks(0, blocks);
    Acc<T> acc = identity();
    for (Acc<T> v : partial) acc = combine(acc, v);
    return acc;
  }
};

template <typename T>
void reduce_arc(ReduceOp op, T* out, const T* in, int64_t A, int64_t R, int64_t C) {
  const Reducer<T> reducer{op};
  if (C == 1) {
    if (A == 1) {
      out[0] = static_cast<T>(reducer.row(in, R, /*parallel=*/true));
      return;
    }
    const int64_t rows_per_chunk =
        std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(R, 1));
    parallel_for(A, rows_per_chunk, [&](int64_t begin, int64_t end) {
      for (int64_t a = begin; a < end; ++a)
        out[a] = static_cast<T>(reducer.row(in + a * R, R, false));
    });
    return;
  }
  // Columns: accumulate whole rows of C, vectorized along C, over r in order.
  constexpr int64_t kColumnChunk = 1024;
  const int64_t chunks_per_a = (C + kColumnChunk - 1) / kColumnChunk;
  const int64_t tasks_per_chunk =
      std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(R * kColumnChunk, 1));
  parallel_for(A * chunks_per_a, tasks_per_chunk, [&](int64_t begin, int64_t end) {
    std::array<Acc<T>, kColumnChunk> acc;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t a = task / chunks_per_a;
      const int64_t c0 = (task % chunks_per_a) * kColumnChunk;
      const int64_t width = std::min(kColumnChunk, C - c0);
      std::fill_n(acc.begin(), width, reducer.identity());
      for (int64_t r = 0; r < R; ++r) {
        const T* row = in + (a * R + r) * C + c0;
        if (op == ReduceOp::Sum) {
          for (int64_t c = 0; c < width; ++c) acc[c] += row[c];
        } else {
          for (int64_t c = 0; c < width; ++c) acc[c] = reducer.combine(acc[c], row[c]);
        }
      }
      for (int64_t c = 0; c < width; ++c) out[a * C + c0 + c] = static_cast<T>(acc[c]);
    }
  });
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& out, const Tensor& in, const Shape& dims) {
  if (reduce_separate_runs(*this, op, out, in, dims)) return;
  const ReductionBlock v = reduction_block(in, dims);
  switch (in.dtype()) {
    case Dtype::Float32:
      return reduce_arc(op, out.data_ptr<float>(), v.data.data_ptr<float>(), v.A, v.R, v.C);
    case Dtype::Float64:
      return reduce_arc(op, out.data_ptr<double>(), v.data.data_ptr<double>(), v.A, v.R, v.C);
    case Dtype::Int64:
      return reduce_arc(op, out.data_ptr<int64_t>(), v.data.data_ptr<int64_t>(), v.A, v.R, v.C);
    case Dtype::Bool:
      break;
  }
  throw Error("reduce: bool tensors are reduced as int64 by the frontend");
}

void CpuBackend::arg_reduce(ArgReduceOp op, const Tensor& out, const Tensor& in, int64_t dim) {
  const ReductionBlock v = reduction_block(in, {dim});
  int64_t* result = out.data_ptr<int64_t>();
  const bool want_max = op == ArgReduceOp::Argmax;
  dispatch_all(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(v.data.impl()->data());
    const int64_t R = v.R, C = v.C;
    parallel_for(v.A * C, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(R, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t task = begin; task < end; ++task) {
                     const T* p = x + (task / C) * R * C + task % C;
                     int64_t best = 0;
                     for (int64_t r = 1; r < R; ++r) {
                       const T value = p[r * C], current = p[best * C];
                       if (current != current) break;  // the first NaN wins
                       if (value != value || (want_max ? value > current : value < current))
                         best = r;
                     }
                     result[task] = best;
                   }
                 });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
