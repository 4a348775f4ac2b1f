#pragma once
// The processes of a distributed job: start-up, identity, synchronization.
//
//   mpirun -np 2 build/release/examples/dist_train
//
//   int main() {
//     bg::dist::init();                    // rank and world size come from the launcher
//     if (bg::dist::rank() == 0) std::printf("%d processes\n", bg::dist::world_size());
//   }
//
// A program that calls init() also runs without mpirun, as a job of one process (rank 0 of 1),
// so the same binary serves a laptop and a cluster.

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::dist {

/// Joins the job the launcher (mpirun, srun) started, or starts a one-process job without one.
/// Calling it again does nothing. MPI is shut down at exit (or by finalize()). From then on an
/// exception that escapes main() on any rank aborts the whole job with its message, rather than
/// leaving the other ranks waiting forever in a collective.
void init();

/// Shuts MPI down (collectives cannot be used afterwards). Runs at exit when init() started MPI;
/// call it earlier to release the network. Does nothing when MPI is not running.
void finalize();

/// True between init() and finalize().
bool is_initialized();

/// This process's index in the job, 0 .. world_size() - 1.
int rank();

/// The number of processes in the job.
int world_size();

/// Returns once every rank has called it.
void barrier();

}  // namespace bg::dist

BG_API_END
