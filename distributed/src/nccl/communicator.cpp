// This process's NCCL communicator (Note [One GPU per rank] in communicator.h).

#include "communicator.h"

#include <string>

#include "bg/cuda/stream.h"
#include "mpi_util.h"

namespace bg::dist::detail {
namespace {

struct Communicator {
  ncclComm_t comm = nullptr;
  Device device;
};

Communicator& communicator() {
  static Communicator c;
  return c;
}

// Makes the communicator on `device` (current on this thread). NCCL's ranks find each other
// through an id that rank 0 draws and MPI hands out. Rank 0 sends its result along with the id,
// so that a failure there is an error on every rank instead of the others waiting for an id.
ncclComm_t make_comm(const char* op) {
  MPI_Comm world = world_comm();
  int rank = 0, size = 0;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  struct {
    ncclUniqueId id;
    ncclResult_t result;
  } root{};
  if (rank == 0) root.result = ncclGetUniqueId(&root.id);
  check_mpi(MPI_Bcast(&root, sizeof root, MPI_BYTE, 0, world), op, "MPI_Bcast (of the NCCL id)");
  check_nccl(root.result, op, "ncclGetUniqueId (on rank 0)");
  ncclComm_t comm = nullptr;
  check_nccl(ncclCommInitRank(&comm, size, root.id, rank), op, "ncclCommInitRank");
  return comm;
}

}  // namespace

void check_nccl(ncclResult_t result, const char* op, const char* what) {
  if (result == ncclSuccess) return;
  std::string message = bg::detail::concat(op, ": ", what, " failed: ", ncclGetErrorString(result));
  // NCCL's last error says more than the code's string (which peer, which call), when it has one.
  const char* detail = ncclGetLastError(nullptr);
  if (detail != nullptr && *detail != '\0') message += bg::detail::concat(" (", detail, ")");
  throw Error(message);
}

ncclDataType_t nccl_type(Dtype dtype) {
  switch (dtype) {
    case kFloat32:
      return ncclFloat32;
    case kFloat64:
      return ncclFloat64;
    case kInt64:
      return ncclInt64;
    case kBool:
      return ncclUint8;
  }
  throw Error("bg::dist: unknown dtype");
}

NcclQueue nccl_queue(const char* op, Device device) {
  Communicator& c = communicator();
  BG_CHECK(c.comm == nullptr || device == c.device, op, "this rank's NCCL communicator is on ",
           c.device.str(), ", not ", device.str(),
           ": bg::dist runs one GPU per rank; keep every tensor passed to collectives on one GPU");
  const cudaStream_t stream = bg::cuda::device_stream(device, op);
  if (c.comm == nullptr) {
    c.comm = make_comm(op);
    c.device = device;
  }
  return {c.comm, stream};
}

}  // namespace bg::dist::detail
