// The collectives on tensors: agree on what is exchanged (agree.h), then one MPI call.

#include "bg/dist/collectives.h"

#include "agree.h"

namespace bg::dist {
namespace {

using detail::Call;
using detail::check_mpi;
using detail::mpi_count;
using detail::mpi_type;

// MPI's reduction for `op` on `dtype`, after checking the pair is supported (the same answer on
// every rank, as agree() made the dtypes equal).
MPI_Op mpi_op(const char* name, ReduceOp op, Dtype dtype) {
  BG_CHECK(dtype != kBool, name, "cannot reduce bool tensors; convert them to int64 first");
  BG_CHECK(op != ReduceOp::Mean || is_floating(dtype), name,
           "the mean needs a float32 or float64 tensor, got ", dtype_name(dtype),
           " (reduce with the sum and divide)");
  return op == ReduceOp::Max ? MPI_MAX : MPI_SUM;
}

// The sum becomes the mean: one division, after the exchange.
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

// Writes into `t` through `write(data)` on a contiguous buffer: `t` itself when it is contiguous,
// otherwise a contiguous copy that is copied back. Bumps the version counter, as every in-place
// write does, so autograd notices if `t` was saved for backward.
template <typename Write>
void write_in_place(Tensor& t, Write write) {
  if (t.is_contiguous()) {
    write(t.impl()->data());
    t.impl()->storage()->bump_version();
    return;
  }
  Tensor buffer = t.contiguous();
  write(buffer.impl()->data());
  NoGradGuard no_grad;
  t.copy_(buffer);
}

}  // namespace

Tensor all_reduce(const Tensor& t, ReduceOp op) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "all_reduce", {Call::Kind::AllReduce, static_cast<int64_t>(op)}, t);
  const MPI_Op reduce = mpi_op("all_reduce", op, t.dtype());
  const Tensor in = t.contiguous();
  Tensor out = empty(t.sizes(), t.dtype());
  check_mpi(MPI_Allreduce(in.impl()->data(), out.impl()->data(), mpi_count("all_reduce", t),
                          mpi_type(t.dtype()), reduce, comm),
            "all_reduce", "MPI_Allreduce");
  finish_mean(out, op, size_of(comm));
  return out;
}

Tensor& all_reduce_(Tensor& t, ReduceOp op) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "all_reduce_", {Call::Kind::AllReduce, static_cast<int64_t>(op), true}, t);
  const MPI_Op reduce = mpi_op("all_reduce_", op, t.dtype());
  write_in_place(t, [&](void* data) {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, mpi_count("all_reduce_", t), mpi_type(t.dtype()),
                            reduce, comm),
              "all_reduce_", "MPI_Allreduce");
  });
  finish_mean(t, op, size_of(comm));
  return t;
}

Tensor& broadcast_(Tensor& t, int root) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "broadcast_", {Call::Kind::Broadcast, root, true}, t);
  const int world = size_of(comm);
  BG_CHECK(root >= 0 && root < world, "broadcast_", "root ", root, " is not a rank of this ", world,
           "-process job");
  write_in_place(t, [&](void* data) {
    check_mpi(MPI_Bcast(data, mpi_count("broadcast_", t), mpi_type(t.dtype()), root, comm),
              "broadcast_", "MPI_Bcast");
  });
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
  const int world = size_of(comm);
  Shape sizes = t.sizes();
  sizes.insert(sizes.begin(), world);
  Tensor out = empty(sizes, t.dtype());
  const Tensor in = t.contiguous();
  const int count = mpi_count("all_gather", t);
  check_mpi(MPI_Allgather(in.impl()->data(), count, mpi_type(t.dtype()), out.impl()->data(), count,
                          mpi_type(t.dtype()), comm),
            "all_gather", "MPI_Allgather");
  return out;
}

Tensor reduce_scatter(const Tensor& t, ReduceOp op) {
  MPI_Comm comm = detail::world_comm();
  detail::agree(comm, "reduce_scatter", {Call::Kind::ReduceScatter, static_cast<int64_t>(op)}, t);
  const int world = size_of(comm);
  BG_CHECK(t.dim() >= 1 && t.sizes()[0] % world == 0, "reduce_scatter", "the first dim of ",
           describe(t), " must split evenly over the ", world, " ranks");
  const MPI_Op reduce = mpi_op("reduce_scatter", op, t.dtype());
  Shape sizes = t.sizes();
  sizes[0] /= world;
  Tensor out = empty(sizes, t.dtype());
  const Tensor in = t.contiguous();
  check_mpi(
      MPI_Reduce_scatter_block(in.impl()->data(), out.impl()->data(),
                               mpi_count("reduce_scatter", out), mpi_type(t.dtype()), reduce, comm),
      "reduce_scatter", "MPI_Reduce_scatter_block");
  finish_mean(out, op, world);
  return out;
}

}  // namespace bg::dist
