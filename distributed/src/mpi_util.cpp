#include "mpi_util.h"

#include <climits>

namespace bg::dist::detail {

MPI_Comm duplicate_world() {
  MPI_Comm comm = MPI_COMM_NULL;
  check_mpi(MPI_Comm_dup(world_comm(), &comm), "bg::dist", "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  return comm;
}

void free_comm(MPI_Comm& comm) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  comm = MPI_COMM_NULL;
}

void check_mpi(int code, const char* op, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw Error(bg::detail::concat(op, ": ", what, " failed: ", std::string(message, length)));
}

MPI_Datatype mpi_type(Dtype dtype) {
  switch (dtype) {
    case kFloat32:
      return MPI_FLOAT;
    case kFloat64:
      return MPI_DOUBLE;
    case kInt64:
      return MPI_INT64_T;
    case kBool:
      return MPI_BYTE;
  }
  throw Error("bg::dist: unknown dtype");
}

int mpi_count(const char* op, const Tensor& t) {
  BG_CHECK(t.numel() <= INT_MAX, op, "MPI counts elements in an int: ", describe(t),
           " has more than ", INT_MAX, " elements; split it");
  return static_cast<int>(t.numel());
}

}  // namespace bg::dist::detail
