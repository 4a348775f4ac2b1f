// The collectives' engine for tensors on a GPU: one NCCL call each, queued on the CUDA backend's
// stream of the tensors' GPU (Note [One GPU per rank] in communicator.h). Calls return once the
// work is queued; the ops that follow on that stream see its result.

#include "engine.h"

#include "communicator.h"

namespace bg::dist::detail {
namespace {

ncclRedOp_t nccl_op(ReduceOp reduce) { return reduce == ReduceOp::Max ? ncclMax : ncclSum; }

size_t count_of(const Tensor& t) { return static_cast<size_t>(t.numel()); }

class NcclEngine final : public Engine {
 public:
  void all_reduce(const char* op, const Tensor& in, const Tensor& out, ReduceOp reduce) override {
    const NcclQueue queue = nccl_queue(op, out.device());
    check_nccl(ncclAllReduce(in.impl()->data(), out.impl()->data(), count_of(out),
                             nccl_type(out.dtype()), nccl_op(reduce), queue.comm, queue.stream),
               op, "ncclAllReduce");
  }

  void broadcast(const char* op, const Tensor& data, int root) override {
    const NcclQueue queue = nccl_queue(op, data.device());
    check_nccl(ncclBroadcast(data.impl()->data(), data.impl()->data(), count_of(data),
                             nccl_type(data.dtype()), root, queue.comm, queue.stream),
               op, "ncclBroadcast");
  }

  void all_gather(const char* op, const Tensor& in, const Tensor& out) override {
    const NcclQueue queue = nccl_queue(op, out.device());
    check_nccl(ncclAllGather(in.impl()->data(), out.impl()->data(), count_of(in),
                             nccl_type(in.dtype()), queue.comm, queue.stream),
               op, "ncclAllGather");
  }

  void reduce_scatter(const char* op, const Tensor& in, const Tensor& out,
                      ReduceOp reduce) override {
    const NcclQueue queue = nccl_queue(op, out.device());
    check_nccl(ncclReduceScatter(in.impl()->data(), out.impl()->data(), count_of(out),
                                 nccl_type(in.dtype()), nccl_op(reduce), queue.comm, queue.stream),
               op, "ncclReduceScatter");
  }
};

}  // namespace

Engine& nccl_engine(const char* op, Device device) {
  // Makes the communicator, or throws for a GPU that is not this rank's, before the caller
  // allocates its result.
  nccl_queue(op, device);
  static NcclEngine engine;
  return engine;
}

}  // namespace bg::dist::detail
