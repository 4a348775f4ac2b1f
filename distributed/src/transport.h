#pragma once
// How DataParallel's gradient buckets are summed over ranks: MPI for buckets in host memory, NCCL
// for buckets on a GPU. The Reducer decides when (Note [Overlapping the gradient exchange] in
// reducer.cpp); a Transport does the exchange.

#include <memory>

#include "bg/core.h"

namespace bg::dist::detail {

/// Sums the reducer's buckets over all ranks, in place. Buckets are flat, contiguous tensors on
/// the transport's device, numbered 0 .. n-1 in the order they are exchanged; every rank starts
/// them in that order.
class Transport {
 public:
  virtual ~Transport() = default;

  /// Starts summing bucket `index`, `flat`, and returns without waiting for the other ranks.
  virtual void start(size_t index, const Tensor& flat) = 0;

  /// Sums `flat` now: the last bucket, whose gradients arrive when nothing is left to overlap it
  /// with.
  virtual void reduce(const Tensor& flat) = 0;

  /// Moves the started sums along (called after each gradient arrives).
  virtual void progress() = 0;

  /// Returns once the sum of bucket `index` is what the ops that follow read (at once for a
  /// bucket that was not started).
  virtual void wait(size_t index) = 0;
};

/// MPI: for `buckets` buckets in host memory, on a communicator of its own. Destroying it waits
/// for the exchanges still in flight (a pass cut short by an exception), as their buffers are
/// about to go.
std::unique_ptr<Transport> mpi_transport(size_t buckets);

/// NCCL: for buckets on `device`, this rank's GPU. Throws bg::Error naming `op` in a build
/// without NCCL or without the CUDA backend.
std::unique_ptr<Transport> nccl_transport(const char* op, Device device);

/// The transport for `buckets` buckets on `device`.
inline std::unique_ptr<Transport> make_transport(const char* op, Device device, size_t buckets) {
  return device.is_cpu() ? mpi_transport(buckets) : nccl_transport(op, device);
}

}  // namespace bg::dist::detail
