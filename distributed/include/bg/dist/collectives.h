#pragma once
// Collectives: operations every rank calls together, on CPU or CUDA tensors.
//
//   Tensor total = dist::all_reduce(local_count);               // the sum over ranks, on every
//   rank dist::broadcast_(weights, /*root=*/0);                      // rank 0's values everywhere
//   Tensor all = dist::all_gather(x);                           // [world_size, ...x's shape]
//   Tensor mine = dist::reduce_scatter(x);                      // this rank's chunk of the sum
//
// Every rank must call the same collectives in the same order with tensors of the same shape,
// dtype and device type. Before any data moves, each collective compares what every rank passed
// (one small all-gather over MPI of the op, its argument, dtype, device and shape), so a mistake
// on one rank is a bg::Error on every rank naming each rank's tensor, never a hang or a silent
// wrong answer.
//
// CPU tensors are exchanged by MPI. CUDA tensors are exchanged by NCCL, in a build with the CUDA
// backend and NCCL (otherwise they throw, saying which is missing), one GPU per rank: each rank
// keeps its tensors on a GPU of its own (on one machine, typically cuda:<rank>), and the first
// collective on a CUDA tensor binds the rank to that GPU. A CUDA collective is queued on the
// GPU's stream and returns without waiting for it; the ops that follow on that GPU see its
// result.
//
// Collectives are not recorded by autograd: their results do not require grad.

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::dist {

/// How all_reduce and reduce_scatter combine the ranks' values.
enum class ReduceOp {
  Sum,   ///< element-wise sum
  Mean,  ///< element-wise sum divided by world_size() (floating-point dtypes only)
  Max,   ///< element-wise maximum
};

/// The element-wise reduction of `t` over all ranks, on every rank (a new tensor; `t` unchanged).
/// float32, float64 and int64 tensors.
Tensor all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum);

/// all_reduce into `t` itself (no new tensor). As every in-place op, it refuses a tensor that
/// requires grad while grad mode is on (use NoGradGuard).
Tensor& all_reduce_(Tensor& t, ReduceOp op = ReduceOp::Sum);

/// Rank `root`'s `t`, on every rank (a new tensor). Every rank passes a tensor of the same shape.
Tensor broadcast(const Tensor& t, int root = 0);

/// Overwrites `t` on every rank with rank `root`'s `t` (same rule on grad mode as all_reduce_).
Tensor& broadcast_(Tensor& t, int root = 0);

/// Every rank's `t` stacked along a new first dim, [world_size(), ...t's shape], on every rank.
Tensor all_gather(const Tensor& t);

/// Reduces `t` over ranks and returns this rank's chunk of the result along dim 0: rank r gets
/// rows [r * n / world_size(), (r + 1) * n / world_size()) of the reduced [n, ...] tensor. `t`'s
/// first dim must be divisible by world_size().
Tensor reduce_scatter(const Tensor& t, ReduceOp op = ReduceOp::Sum);

}  // namespace bg::dist

BG_API_END
