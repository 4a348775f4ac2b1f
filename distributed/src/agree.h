#pragma once
// Making sure every rank calls the same collective on the same kind of tensor before data moves.

#include <cstdint>

#include "mpi_util.h"

namespace bg::dist::detail {

/// Which collective a rank is calling, with its argument (a ReduceOp, or the root rank).
struct Call {
  enum class Kind : int64_t { AllReduce, Broadcast, AllGather, ReduceScatter };
  Kind kind;
  int64_t argument = 0;
  /// In-place collectives refuse tensors that require grad in grad mode: part of the comparison,
  /// so that every rank reports it, not just the one that has it.
  bool in_place = false;
};

/// What every rank passed: all-gathers the call and the tensor's dtype, device and shape over
/// `comm`, and throws bg::Error on every rank when they differ, naming what each rank passed.
/// Devices are compared by type only (each rank's GPU is its own). Afterwards the caller's own
/// checks give the same answer on every rank, so they may throw too. Also rejects, on every rank
/// alike, undefined tensors and in-place calls on tensors that require grad in grad mode.
void agree(MPI_Comm comm, const char* op, const Call& call, const Tensor& t);

}  // namespace bg::dist::detail
