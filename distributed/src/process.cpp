// Start-up and shut-down of the MPI job, and the rule that an uncaught exception ends all of it.

#include "bg/dist/process.h"

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "mpi_util.h"

namespace bg::dist {
namespace {

struct State {
  bool initialized = false;
  bool owns_mpi = false;  // false when the program had started MPI itself before init()
  MPI_Comm world = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
};

State& state() {
  static State s;
  return s;
}

// Note [Uncaught exceptions end the job]
// In a collective every rank waits for all the others. If one rank dies of an exception while the
// others are inside (or about to enter) a collective, they would wait forever: the job hangs
// instead of failing. So once init() ran, std::terminate (which an exception escaping main()
// reaches) prints the exception on stderr and calls MPI_Abort, which makes the launcher kill
// every rank and exit with an error. Errors bayesgrad can detect on all ranks at once (shapes or
// dtypes that differ across ranks) are thrown on every rank instead; see collectives.cpp.
std::terminate_handler previous_terminate = nullptr;

[[noreturn]] void abort_job() {
  const State& s = state();
  const char* what = "unknown exception";
  try {
    if (std::exception_ptr error = std::current_exception()) std::rethrow_exception(error);
    what = "std::terminate called without an active exception";
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr, "bayesgrad dist: rank %d of %d: uncaught exception: %s\n", s.rank, s.size,
               what);
  std::fprintf(stderr, "bayesgrad dist: aborting the job on all %d ranks\n", s.size);
  std::fflush(stderr);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

void finalize_at_exit() { finalize(); }

}  // namespace

void init() {
  State& s = state();
  if (s.initialized) return;
  int running = 0, finalized = 0;
  MPI_Initialized(&running);
  MPI_Finalized(&finalized);
  BG_CHECK(!finalized, "init", "MPI was shut down (finalize()); it cannot restart in this process");
  if (!running) {
    // Hooks call MPI from whichever thread runs backward(), one thread at a time: SERIALIZED.
    int provided = 0;
    detail::check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "init",
                      "MPI_Init_thread");
    BG_CHECK(provided >= MPI_THREAD_SERIALIZED, "init",
             "this MPI library does not support MPI_THREAD_SERIALIZED (it provides level ",
             provided, ")");
    s.owns_mpi = true;
  }
  detail::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &s.world), "init", "MPI_Comm_dup");
  MPI_Comm_set_errhandler(s.world, MPI_ERRORS_RETURN);
  MPI_Comm_rank(s.world, &s.rank);
  MPI_Comm_size(s.world, &s.size);
  s.initialized = true;
  if (previous_terminate == nullptr) previous_terminate = std::set_terminate(abort_job);
  static const bool registered = std::atexit(finalize_at_exit) == 0;
  (void)registered;
}

void finalize() {
  State& s = state();
  if (!s.initialized) return;
  detail::free_comm(s.world);
  s.initialized = false;
  std::set_terminate(previous_terminate);
  previous_terminate = nullptr;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (s.owns_mpi && !finalized) MPI_Finalize();
}

bool is_initialized() { return state().initialized; }

int rank() {
  detail::world_comm();
  return state().rank;
}

int world_size() {
  detail::world_comm();
  return state().size;
}

void barrier() { detail::check_mpi(MPI_Barrier(detail::world_comm()), "barrier", "MPI_Barrier"); }

namespace detail {

MPI_Comm world_comm() {
  BG_CHECK(state().initialized, "bg::dist",
           "MPI is not running: call bg::dist::init() first (and not after finalize())");
  return state().world;
}

}  // namespace detail
}  // namespace bg::dist
