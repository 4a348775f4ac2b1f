#pragma once
// What the dist sources share about MPI; internal (MPI types never reach bg::dist's headers).

#include <mpi.h>

#include <string>

#include "bg/core.h"
#include "bg/core/tensor_impl.h"

namespace bg::dist::detail {

/// The communicator of the free collectives: a duplicate of MPI_COMM_WORLD, so that messages of
/// a user's own MPI calls never mix with ours. Throws if init() was not called.
MPI_Comm world_comm();

/// A new communicator over the same ranks as world_comm() (for DataParallel, whose non-blocking
/// collectives must not interleave with the free collectives), returning MPI errors instead of
/// aborting. Release it with free_comm().
MPI_Comm duplicate_world();
/// Frees a communicator made by duplicate_world(); does nothing once MPI is finalized.
void free_comm(MPI_Comm& comm);

/// Throws bg::Error "<op>: <what> failed: <MPI's message>" unless `code` is MPI_SUCCESS.
void check_mpi(int code, const char* op, const char* what);

/// The MPI datatype of one element of `dtype` (bool travels as bytes).
MPI_Datatype mpi_type(Dtype dtype);

/// The element count of `t` as MPI's int; throws naming `op` when it does not fit.
int mpi_count(const char* op, const Tensor& t);

}  // namespace bg::dist::detail
