// DataParallel: 2 ranks x 32 examples give the gradients of 1 process x 64, for a plain network
// and for a BNN trained on the ELBO; buckets; parameters some rank did not use.

#include <bg/bayes.h>
#include <bg/dist.h>

#include "gpu.h"
#include "test_util.h"

using namespace bg;
using namespace bg::test;
namespace nn = bg::nn;
namespace F = bg::nn::functional;

namespace {

constexpr int64_t kGlobalBatch = 64;
constexpr int64_t kDatasetSize = 640;  // N of the ELBO's KL / N

nn::Sequential make_net() {
  return nn::Sequential(nn::Linear(5, 16), nn::Tanh(), nn::Linear(16, 16), nn::Tanh(),
                        nn::Linear(16, 3));
}

// The global batch, the same on every rank; rank r's share is rows [32 r, 32 r + 32).
std::pair<Tensor, Tensor> global_batch() {
  Generator g(123);
  return {randn({kGlobalBatch, 5}, {}, &g), randint(0, 3, {kGlobalBatch}, {}, &g)};
}
Tensor share(const Tensor& t) {
  const int64_t per_rank = kGlobalBatch / dist::world_size();
  return t.narrow(0, dist::rank() * per_rank, per_rank);
}

void check_same_gradients(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  CHECK(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size() && i < expected.size(); ++i) {
    CHECK(actual[i].grad().defined());
    if (actual[i].grad().defined())
      check_close(actual[i].grad().to(kCPU), values(expected[i].grad()), 1e-4, 1e-6);
  }
}

}  // namespace

TEST_CASE("DataParallel: 2 ranks x 32 examples give the gradients of 1 process x 64") {
  auto [x, y] = global_batch();
  // Two copies of one network: the same seed makes the same initial parameters.
  manual_seed(7);
  nn::Sequential reference = make_net();
  manual_seed(7);
  dist::DataParallel model(make_net(), dist::DataParallelOptions().bucket_cap_mb(0.001));
  // 0.001 MB = 1048 bytes: several buckets, so several exchanges overlap backward.
  CHECK(model->bucket_sizes().size() > 1);

  F::cross_entropy(reference->forward(x), y).backward();
  F::cross_entropy(model->forward(share(x)), share(y)).backward();
  check_same_gradients(model->parameters(), reference->parameters());
}

TEST_CASE("DataParallel copies rank 0's parameters to every rank when it is made") {
  manual_seed(static_cast<uint64_t>(100 + dist::rank()));  // different on each rank
  nn::Linear lin(3, 2);
  dist::DataParallel model(lin);
  Tensor gathered = dist::all_gather(lin->weight.detach());
  check_close(gathered[1], values(gathered[0]), 0, 0);
}

TEST_CASE("DataParallel on a BNN: 2 x 32 = 1 x 64 for the ELBO, KL included") {
  auto [x, y] = global_batch();
  // The ranks seed alike, so they draw the same weight noise as the single process does (Note
  // [KL scaling across ranks] in distributed/src/data_parallel.cpp).
  manual_seed(11);
  bayes::BayesianModule reference(make_net());
  manual_seed(11);
  bayes::BayesianModule bnn(make_net());
  dist::DataParallel model(bnn, dist::DataParallelOptions().bucket_cap_mb(0.002));

  manual_seed(99);
  bayes::elbo_loss(F::cross_entropy(reference->forward(x), y), reference, kDatasetSize).backward();
  manual_seed(99);
  bayes::elbo_loss(F::cross_entropy(model->forward(share(x)), share(y)), bnn, kDatasetSize)
      .backward();
  // The averaged parameters are the variational ones: mu and rho of every posterior.
  CHECK(model->parameters().size() == 12);  // 3 layers x (weight, bias) x (mu, rho)
  check_same_gradients(model->parameters(), reference->parameters());
}

TEST_CASE("DataParallel averages gradients accumulated over several backward passes") {
  auto [x, y] = global_batch();
  manual_seed(3);
  nn::Sequential reference = make_net();
  manual_seed(3);
  dist::DataParallel model(make_net());
  for (int pass = 0; pass < 2; ++pass) {
    F::cross_entropy(reference->forward(x * (pass + 1.0)), y).backward();
    F::cross_entropy(model->forward(share(x) * (pass + 1.0)), share(y)).backward();
  }
  check_same_gradients(model->parameters(), reference->parameters());
}

TEST_CASE("a parameter only some ranks use gets the average, with zeros from the others") {
  // A module whose second layer runs on rank 1 only.
  struct TwoHeadsImpl : nn::Module {
    TwoHeadsImpl() : nn::Module("TwoHeads") {
      a = register_module("a", nn::Linear(2, 2));
      b = register_module("b", nn::Linear(2, 2));
    }
    Tensor forward(const Tensor& x) { return dist::rank() == 1 ? b(a(x)) : a(x); }
    nn::Linear a = nullptr, b = nullptr;
  };
  auto heads = std::make_shared<TwoHeadsImpl>();
  dist::DataParallel model(heads, dist::DataParallelOptions().bucket_cap_mb(1e-5));
  model->forward(ones({1, 2})).sum().backward();
  // Rank 1's gradient of b.bias is [1, 1]; rank 0 contributes zeros: the average is [0.5, 0.5].
  check_close(heads->b->bias.grad(), {0.5, 0.5}, 0, 0);
}

TEST_CASE("every rank must wrap the same model") {
  nn::Sequential net = dist::rank() == 0 ? nn::Sequential(nn::Linear(2, 2))
                                         : nn::Sequential(nn::Linear(2, 2), nn::Linear(2, 2));
  CHECK_THROWS_WITH_AS(dist::DataParallel{net},
                       doctest::Contains("rank 0 has 2 parameters and 0 buffers; rank 1 has 4"),
                       Error);
}

TEST_CASE("DataParallel copies rank 0's buffers before each forward pass in training mode") {
  struct CounterImpl : nn::Module {
    CounterImpl() : nn::Module("Counter") {
      lin = register_module("lin", nn::Linear(2, 2));
      count = register_buffer("count", zeros({2}, kInt64));
      scale = register_buffer("scale", ones({3}));
    }
    Tensor forward(const Tensor& x) { return lin(x) * scale.narrow(0, 0, 2); }
    nn::Linear lin = nullptr;
    Tensor count, scale;
  };
  auto counter = std::make_shared<CounterImpl>();
  dist::DataParallel model(counter);
  {
    NoGradGuard no_grad;
    counter->count.fill_(dist::rank() + 1);  // the ranks' buffers drift apart
    counter->scale.fill_(dist::rank() + 2.0);
  }
  model->forward(ones({1, 2}));
  CHECK(ints(counter->count) == std::vector<int64_t>{1, 1});
  check_close(counter->scale, {2, 2, 2}, 0, 0);
  model->eval();  // not in evaluation mode
  {
    NoGradGuard no_grad;
    counter->scale.fill_(dist::rank() + 5.0);
  }
  model->forward(ones({1, 2}));
  check_close(counter->scale, {dist::rank() + 5.0, dist::rank() + 5.0, dist::rank() + 5.0}, 0, 0);
}

#ifdef BG_DIST_NCCL

TEST_CASE("DataParallel on CUDA: GPU buckets averaged by NCCL give the gradients of 1 process") {
  if (!gpu_per_rank()) return;
  const Device gpu = rank_gpu();
  auto [x, y] = global_batch();
  manual_seed(7);
  nn::Sequential reference = make_net();
  manual_seed(7);
  nn::Sequential net = make_net();
  net->to(gpu);
  dist::DataParallel model(net, dist::DataParallelOptions().bucket_cap_mb(0.001));

  F::cross_entropy(reference->forward(x), y).backward();
  F::cross_entropy(model->forward(share(x).to(gpu)), share(y).to(gpu)).backward();
  for (const Tensor& p : model->parameters()) CHECK(p.grad().device() == gpu);
  check_same_gradients(model->parameters(), reference->parameters());
}

#endif
