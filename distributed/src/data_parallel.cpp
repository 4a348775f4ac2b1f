#include "bg/dist/data_parallel.h"

#include <unordered_set>

#include "bg/dist/collectives.h"
#include "bg/dist/process.h"
#include "reducer.h"

namespace bg::dist {

// Note [KL scaling across ranks]
// bayes::elbo_loss(nll, bnn, N) = nll + KL / N, with nll the mean over the batch and N the size of
// the whole training set. On R ranks, rank r computes nll_r (the mean over its B examples) +
// KL / N, and DataParallel averages the gradients:
//
//   (1/R) sum_r d(nll_r + KL/N) = d((1/(R B)) sum of the R B examples' nll) + d(KL/N),
//
// the gradient of elbo_loss over one global batch of R B examples. So each rank passes the full
// dataset size N (not its shard's N / R): the KL is added once per rank and the averaging divides
// it back to once. The noise: one process draws one weight sample per forward pass for the whole
// batch. When every rank seeds its generator alike (bg::manual_seed(s) on all ranks) the ranks draw
// the same eps, and R ranks x B examples compute exactly what one process computes on R B
// examples (tests/distributed checks it). With a different seed per rank, each rank draws its own
// sample: still an unbiased gradient of the ELBO, with less variance (R samples instead of one),
// but no longer equal to a single-process run.

namespace {

// Parameters that require grad, each once (a module may register one tensor under two names).
std::vector<Tensor> trainable_parameters(const nn::Module& module) {
  std::vector<Tensor> out;
  std::unordered_set<const TensorImpl*> seen;
  for (const Tensor& p : module.parameters()) {
    if (p.requires_grad() && seen.insert(p.impl()).second) out.push_back(p);
  }
  return out;
}

// A module's persistent buffers: its state_dict without its parameters.
std::vector<Tensor> persistent_buffers(const nn::Module& module) {
  const nn::OrderedDict<Tensor> parameters = module.named_parameters();
  std::vector<Tensor> out;
  for (const auto& item : module.state_dict()) {
    if (!parameters.contains(item.key())) out.push_back(item.value());
  }
  return out;
}

// Throws on every rank unless every rank has the same number of parameters and buffers (the
// shapes are compared by the broadcasts that follow).
void check_same_model(const std::vector<Tensor>& parameters, const std::vector<Tensor>& buffers) {
  const Tensor all = all_gather(
      tensor({static_cast<int64_t>(parameters.size()), static_cast<int64_t>(buffers.size())}));
  const int64_t* counts = all.data_ptr<int64_t>();  // [world_size, 2]
  bool same = true;
  std::string per_rank;
  for (int64_t r = 0; r < all.sizes()[0]; ++r) {
    same = same && counts[2 * r] == counts[0] && counts[2 * r + 1] == counts[1];
    per_rank += bg::detail::concat(r == 0 ? "" : "; ", "rank ", r, " has ", counts[2 * r],
                                   " parameters and ", counts[2 * r + 1], " buffers");
  }
  BG_CHECK(same, "DataParallel", "every rank must build the same model, but ", per_rank);
}

}  // namespace

DataParallelImpl::DataParallelImpl(nn::AnyModule module, DataParallelOptions options)
    : nn::Module("DataParallel"), module_(std::move(module)), options_(options) {
  BG_CHECK(module_.ptr() != nullptr, "DataParallel", "no module was given");
  BG_CHECK(options_.bucket_cap_mb() > 0, "DataParallel", "bucket_cap_mb must be positive, got ",
           options_.bucket_cap_mb());
  const std::vector<Tensor> parameters = trainable_parameters(*module_.ptr());
  buffers_ = persistent_buffers(*module_.ptr());
  check_same_model(parameters, buffers_);
  // The buckets live on the parameters' device: MPI sums them on the CPU, NCCL on this rank's GPU.
  for (const Tensor& p : parameters) {
    BG_CHECK(
        p.device() == parameters[0].device(), "DataParallel", "parameter ", describe(p),
        " is not on ", parameters[0].device().str(),
        " like the first; every parameter must be on one device (the CPU, or this rank's GPU)");
  }
  {
    NoGradGuard no_grad;
    for (Tensor p : parameters) broadcast_(p, 0);
  }
  broadcast_buffers();
  // A job of one process has nothing to average: no buckets, no hooks, no copies.
  if (world_size() > 1) {
    reducer_ = detail::Reducer::create(parameters,
                                       static_cast<size_t>(options_.bucket_cap_mb() * 1024 * 1024));
  }
  register_module("module", module_.ptr());
}

void DataParallelImpl::broadcast_buffers() {
  // One message per dtype rather than one per buffer: a BNN has two prior buffers per parameter,
  // and each collective costs a latency.
  NoGradGuard no_grad;
  for (Dtype dtype : {kFloat32, kFloat64, kInt64, kBool}) {
    std::vector<Tensor> group;
    for (const Tensor& b : buffers_) {
      if (b.dtype() == dtype) group.push_back(b.reshape({-1}));
    }
    if (group.empty()) continue;
    Tensor packed = cat(group, 0);
    broadcast_(packed, 0);
    int64_t offset = 0;
    for (Tensor b : buffers_) {
      if (b.dtype() != dtype) continue;
      b.copy_(packed.narrow(0, offset, b.numel()).view(b.sizes()));
      offset += b.numel();
    }
  }
}

Tensor DataParallelImpl::forward(const Tensor& input) {
  if (reducer_) reducer_->check_idle();
  if (options_.broadcast_buffers() && is_training()) broadcast_buffers();
  return module_.forward(input);
}

std::vector<int64_t> DataParallelImpl::bucket_sizes() const {
  return reducer_ ? reducer_->bucket_sizes() : std::vector<int64_t>{};
}

}  // namespace bg::dist
