// DataParallel's buckets summed over NCCL, on this rank's GPU (Note [One GPU per rank] in
// communicator.h). ncclAllReduce is queued on the CUDA backend's stream, after the copies that
// filled the bucket and before the ops that read the sum, so the stream's order is all the
// waiting there is: the host never blocks, and the backward pass goes on queuing kernels.

#include "transport.h"

#include "communicator.h"

namespace bg::dist::detail {
namespace {

class NcclTransport final : public Transport {
 public:
  void start(size_t /*index*/, const Tensor& flat) override { reduce(flat); }

  void reduce(const Tensor& flat) override {
    const NcclQueue queue = nccl_queue("DataParallel", flat.device());
    check_nccl(
        ncclAllReduce(flat.impl()->data(), flat.impl()->data(), static_cast<size_t>(flat.numel()),
                      nccl_type(flat.dtype()), ncclSum, queue.comm, queue.stream),
        "DataParallel", "ncclAllReduce");
  }

  // NCCL advances on the GPU by itself, and the stream orders everything after it.
  void progress() override {}
  void wait(size_t /*index*/) override {}
};

}  // namespace

std::unique_ptr<Transport> nccl_transport(const char* op, Device device) {
  nccl_queue(op, device);  // makes the communicator, or throws for a GPU that is not this rank's
  return std::make_unique<NcclTransport>();
}

}  // namespace bg::dist::detail
