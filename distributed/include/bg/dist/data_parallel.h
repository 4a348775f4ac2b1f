#pragma once
// DataParallel: the same model on every rank, each rank training on its own share of the data,
// the gradients averaged across ranks so that every rank takes the same optimizer step.
//
//   bg::dist::init();
//   bg::manual_seed(0);
//   bayes::BayesianModule bnn(net);               // any module: plain, Bayesian, user-defined
//   dist::DataParallel model(bnn);                 // copies rank 0's parameters to every rank
//   optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
//   for (const data::Example& batch : loader) {    // loader over a data::DistributedSampler
//     opt.zero_grad();
//     Tensor loss = bayes::elbo_loss(cross_entropy(model(batch.data), batch.target), bnn, n);
//     loss.backward();                             // returns with the averaged gradients
//     opt.step();
//   }
//
// With a mean-reduced loss, averaging the ranks' gradients gives the gradient of the mean over
// the global batch: 2 ranks x 32 examples train like 1 process x 64. Gradients are exchanged in
// buckets, each started while backward is still running (Note [Overlapping the gradient exchange]
// in reducer.cpp). Parameters a rank did not use in a pass count as zero gradients there.
// Accumulating over several backward passes before a step works too: the averaging is linear.
// A model on a GPU (each rank's own: model->to(Device::cuda(rank))) has its buckets on that GPU,
// averaged by NCCL (collectives.h); a model on the CPU, by MPI.
//
// For a BNN, the parameters are the variational ones (mu, rho of each posterior): they are what
// autograd reaches and what gets averaged. The KL term and the noise draws: see
// bayes::elbo_loss and Note [KL scaling across ranks] in data_parallel.cpp.

#include <cstdint>
#include <memory>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/module.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::dist {

namespace detail {
class Reducer;
}

struct DataParallelOptions {
  /// The size of a bucket of gradients sent as one message (PyTorch's default, 25 MB). Smaller
  /// buckets start sending earlier in backward; larger ones pay the per-message latency less often.
  BG_ARG(double, bucket_cap_mb) = 25.0;
  /// Copies rank 0's persistent buffers (BatchNorm's running statistics) to every rank before
  /// each forward pass in training mode, as PyTorch does; otherwise only at construction.
  BG_ARG(bool, broadcast_buffers) = true;
};

class DataParallelImpl : public nn::Module {
 public:
  /// Wraps `module` (registered as the child "module") and copies rank 0's parameters and
  /// persistent buffers to every rank. Every rank must build the same model; a different number
  /// or shape of parameters on some rank is an error on every rank. Needs bg::dist::init().
  explicit DataParallelImpl(nn::AnyModule module, DataParallelOptions options = {});

  /// Runs the wrapped module. The next backward() through the result averages the gradients.
  Tensor forward(const Tensor& input);

  /// The wrapped module (save checkpoints from it: its names have no "module." prefix).
  const std::shared_ptr<nn::Module>& module() const { return module_.ptr(); }

  /// Elements per gradient bucket, in the order the buckets are exchanged (none in a job of one
  /// process, which has nothing to exchange).
  std::vector<int64_t> bucket_sizes() const;

  const DataParallelOptions& options() const { return options_; }

 private:
  void broadcast_buffers();

  nn::AnyModule module_;
  DataParallelOptions options_;
  std::vector<Tensor> buffers_;  // persistent buffers, broadcast from rank 0
  std::shared_ptr<detail::Reducer> reducer_;
};
BG_MODULE(DataParallel);

}  // namespace bg::dist

BG_API_END
