// The collectives on tensors: agree on what is exchanged (agree.h), then one exchange by the
// engine of the tensors' device (engine.h: MPI for the CPU, NCCL for GPUs).

#include "bg/dist/collectives.h"

#include "agree.h"
#include "engine.h"

namespace bg::dist {
namespace {

using detail::Call;
using detail::Engine;
using detail::engine_for;

// Checks that `op` can reduce `dtype` (the same answer on every rank, as agree() made the dtypes
// equal).
void check_reducible(const char* name, ReduceOp op, Dtype dtype) {
  BG_CHECK(dtype != kBool, name, "cannot reduce bool tensors; convert them to int64 first");
  BG_CHECK(op != ReduceOp::Mean || is_floating(dtype), name,
           "the mean needs a float32 or float64 tensor, got ", dtype_name(dtype),
           " (reduce with the sum and divide)");
}

// The sum becomes the mean: one division, after the exchange, on the tensor's device.
void finish_mean(Tensor& t, ReduceOp op, int world) {
  if (op != ReduceOp::Mean) return;
  NoGradGuard no_grad;
  t.div_(static_cast<double>(world));
}

int size_of(MPI_Comm comm) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  return size;
}

// Writes into `t` through `write(buffer)` on a contiguous tensor: `t` itself when it is
// contiguous, otherwise a contiguous copy that is copied back. Bumps the version counter, as
// every in-place write does, so autograd notices if `t` was saved for backward.
template <typename Write>
void write_in_place(Tensor& t, Write write) {
  if (t.is_contiguous()) {
    write(t);
    t.impl()->storage()->bump_version();
    return;
  }
  Tensor buffer = t.contiguous();
  write(buffer);
  NoGradGuard no_grad;
  t.copy_(buffer);
}

}  // namespace

Tensor all_reduce(const Tensor& t, ReduceOp op) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "all_reduce", {Call::Kind::AllReduce, static_cast<int64_t>(op)}, t);
  check_reducible("all_reduce", op, t.dtype());
  Engine& engine = engine_for("all_reduce", t.device());
  Tensor out = empty(t.sizes(), t.options());
  engine.all_reduce("all_reduce", t.contiguous(), out, op);
  finish_mean(out, op, size_of(comm));
  return out;
}

Tensor& all_reduce_(Tensor& t, ReduceOp op) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "all_reduce_", {Call::Kind::AllReduce, static_cast<int64_t>(op), true}, t);
  check_reducible("all_reduce_", op, t.dtype());
  Engine& engine = engine_for("all_reduce_", t.device());
  write_in_place(t, [&](const Tensor& data) { engine.all_reduce("all_reduce_", data, data, op); });
  finish_mean(t, op, size_of(comm));
  return t;
}

Tensor& broadcast_(Tensor& t, int root) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "broadcast_", {Call::Kind::Broadcast, root, true}, t);
  const int world = size_of(comm);
  BG_CHECK(root >= 0 && root < world, "broadcast_", "root ", root, " is not a rank of this ", world,
           "-process job");
  Engine& engine = engine_for("broadcast_", t.device());
  write_in_place(t, [&](const Tensor& data) { engine.broadcast("broadcast_", data, root); });
  return t;
}

Tensor broadcast(const Tensor& t, int root) {
  // A copy to receive into: only the root's values survive, but every rank needs the buffer.
  Tensor out = t.defined() ? t.detach().clone() : Tensor();
  return broadcast_(out, root);
}

Tensor all_gather(const Tensor& t) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "all_gather", {Call::Kind::AllGather}, t);
  Engine& engine = engine_for("all_gather", t.device());
  Shape sizes = t.sizes();
  sizes.insert(sizes.begin(), size_of(comm));
  Tensor out = empty(sizes, t.options());
  engine.all_gather("all_gather", t.contiguous(), out);
  return out;
}

Tensor reduce_scatter(const Tensor& t, ReduceOp op) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "reduce_scatter", {Call::Kind::ReduceScatter, static_cast<int64_t>(op)}, t);
  const int world = size_of(comm);
  BG_CHECK(t.dim() >= 1 && t.sizes()[0] % world == 0, "reduce_scatter", "the first dim of ",
           describe(t), " must split evenly over the ", world, " ranks");
  check_reducible("reduce_scatter", op, t.dtype());
  Engine& engine = engine_for("reduce_scatter", t.device());
  Shape sizes = t.sizes();
  sizes[0] = t.size(0) / world;
  Tensor out = empty(sizes, t.options());
  engine.reduce_scatter("reduce_scatter", t.contiguous(), out, op);
  finish_mean(out, op, world);
  return out;
}

}  // namespace bg::dist
