// DataParallel's buckets summed over MPI: non-blocking MPI_Iallreduce, tested from each gradient
// hook (Open MPI has no progress thread), and the blocking MPI_Allreduce for the last bucket
// (Note [Overlapping the gradient exchange] in reducer.cpp says why).

#include <vector>

#include "mpi_util.h"
#include "transport.h"

namespace bg::dist::detail {
namespace {

class MpiTransport final : public Transport {
 public:
  explicit MpiTransport(size_t buckets)
      : requests_(buckets, MPI_REQUEST_NULL), comm_(duplicate_world()) {}

  ~MpiTransport() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      for (MPI_Request& request : requests_) {
        if (request != MPI_REQUEST_NULL) MPI_Wait(&request, MPI_STATUS_IGNORE);
      }
    }
    free_comm(comm_);
  }

  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  void start(size_t index, const Tensor& flat) override {
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, flat.impl()->data(), static_cast<int>(flat.numel()),
                             mpi_type(flat.dtype()), MPI_SUM, comm_, &requests_[index]),
              "DataParallel", "MPI_Iallreduce");
  }

  void reduce(const Tensor& flat) override {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, flat.impl()->data(), static_cast<int>(flat.numel()),
                            mpi_type(flat.dtype()), MPI_SUM, comm_),
              "DataParallel", "MPI_Allreduce");
  }

  void progress() override {
    for (MPI_Request& request : requests_) {
      if (request == MPI_REQUEST_NULL) continue;
      int done = 0;
      check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "DataParallel", "MPI_Test");
    }
  }

  void wait(size_t index) override {
    check_mpi(MPI_Wait(&requests_[index], MPI_STATUS_IGNORE), "DataParallel", "MPI_Wait");
  }

 private:
  std::vector<MPI_Request> requests_;  // bucket -> its exchange in flight, or MPI_REQUEST_NULL
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace

std::unique_ptr<Transport> mpi_transport(size_t buckets) {
  return std::make_unique<MpiTransport>(buckets);
}

}  // namespace bg::dist::detail
