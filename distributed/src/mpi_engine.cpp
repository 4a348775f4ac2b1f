// The collectives' engine for tensors in host memory: one blocking MPI call each, on world_comm().

#include "engine.h"
#include "mpi_util.h"

namespace bg::dist::detail {
namespace {

MPI_Op mpi_op(ReduceOp reduce) { return reduce == ReduceOp::Max ? MPI_MAX : MPI_SUM; }

class MpiEngine final : public Engine {
 public:
  void all_reduce(const char* op, const Tensor& in, const Tensor& out, ReduceOp reduce) override {
    // MPI asks for MPI_IN_PLACE rather than the same buffer twice.
    const void* send = in.impl()->data() == out.impl()->data() ? MPI_IN_PLACE : in.impl()->data();
    check_mpi(MPI_Allreduce(send, out.impl()->data(), mpi_count(op, out), mpi_type(out.dtype()),
                            mpi_op(reduce), world_comm()),
              op, "MPI_Allreduce");
  }

  void broadcast(const char* op, const Tensor& data, int root) override {
    check_mpi(MPI_Bcast(data.impl()->data(), mpi_count(op, data), mpi_type(data.dtype()), root,
                        world_comm()),
              op, "MPI_Bcast");
  }

  void all_gather(const char* op, const Tensor& in, const Tensor& out) override {
    const int count = mpi_count(op, in);
    check_mpi(MPI_Allgather(in.impl()->data(), count, mpi_type(in.dtype()), out.impl()->data(),
                            count, mpi_type(in.dtype()), world_comm()),
              op, "MPI_Allgather");
  }

  void reduce_scatter(const char* op, const Tensor& in, const Tensor& out,
                      ReduceOp reduce) override {
    check_mpi(MPI_Reduce_scatter_block(in.impl()->data(), out.impl()->data(), mpi_count(op, out),
                                       mpi_type(in.dtype()), mpi_op(reduce), world_comm()),
              op, "MPI_Reduce_scatter_block");
  }
};

}  // namespace

Engine& mpi_engine() {
  static MpiEngine engine;
  return engine;
}

}  // namespace bg::dist::detail
