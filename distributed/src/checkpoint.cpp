#include "bg/dist/checkpoint.h"

#include <cstring>
#include <exception>
#include <string>

#include "bg/dist/process.h"
#include "mpi_util.h"

namespace bg::dist {

void on_rank0(const std::function<void()>& write) {
  MPI_Comm comm = detail::world_comm();
  // Rank 0's outcome: empty when `write` succeeded, else the start of its error message.
  char failure[512] = {};
  if (rank() == 0) {
    try {
      write();
    } catch (const std::exception& e) {
      std::strncpy(failure, e.what()[0] != '\0' ? e.what() : "unknown error", sizeof failure - 1);
    } catch (...) {
      std::strncpy(failure, "an exception that is not a std::exception", sizeof failure - 1);
    }
  }
  detail::check_mpi(MPI_Bcast(failure, sizeof failure, MPI_CHAR, 0, comm), "on_rank0", "MPI_Bcast");
  BG_CHECK(failure[0] == '\0', "on_rank0", "rank 0 failed to write: ", failure);
}

}  // namespace bg::dist
