#pragma once
// How the data of a collective moves between ranks: MPI for tensors in host memory, NCCL for
// tensors on a GPU. collectives.cpp does everything that is the same for both (checking the ranks
// agree, contiguous buffers, results, the mean) and hands the exchange itself to an Engine.

#include "bg/core.h"
#include "bg/dist/collectives.h"

namespace bg::dist::detail {

/// One way of moving data between ranks. Every tensor passed in is contiguous, on the device the
/// engine serves, and of a dtype the operation supports (collectives.cpp checked); `op` names the
/// collective in error messages.
class Engine {
 public:
  virtual ~Engine() = default;

  /// Writes into `out` the element-wise sum (Sum and Mean: the caller divides) or maximum (Max)
  /// of every rank's `in`. `in` and `out` have the same size and may be the same tensor.
  virtual void all_reduce(const char* op, const Tensor& in, const Tensor& out, ReduceOp reduce) = 0;

  /// Overwrites `data` on every rank with rank `root`'s.
  virtual void broadcast(const char* op, const Tensor& data, int root) = 0;

  /// Writes every rank's `in` into `out`, rank after rank (`out` holds world_size() times `in`).
  virtual void all_gather(const char* op, const Tensor& in, const Tensor& out) = 0;

  /// Reduces every rank's `in` as all_reduce does and writes rank r's r-th chunk of the result
  /// into `out` (`in` holds world_size() times `out`).
  virtual void reduce_scatter(const char* op, const Tensor& in, const Tensor& out,
                              ReduceOp reduce) = 0;
};

/// The engine for host memory: MPI on world_comm().
Engine& mpi_engine();

/// The engine for tensors on `device`, a GPU: NCCL, on the CUDA backend's stream of that device.
/// Throws bg::Error naming `op` in a build without NCCL or without the CUDA backend, or when
/// `device` is not this process's GPU (Note [One GPU per rank] in nccl/communicator.h).
Engine& nccl_engine(const char* op, Device device);

/// The engine for tensors on `device`.
inline Engine& engine_for(const char* op, Device device) {
  return device.is_cpu() ? mpi_engine() : nccl_engine(op, device);
}

}  // namespace bg::dist::detail
