// A backend that implements only the primitives of the backend interface trains a BNN: the fused
// Gaussian and optimizer kernels are an optimization, never a requirement (bg/core/backend.h).

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;

namespace {

// Three Adam steps of the seed's Bayesian regression MLP (1-20-20-1, ELBO loss) from seed 3; the
// variational parameters after them.
std::vector<Tensor> train_three_steps() {
  manual_seed(3);
  nn::Sequential net(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                     nn::Linear(20, 1));
  bayes::BayesianModule bnn(net);
  optim::Adam optimizer(bnn->parameters(), optim::AdamOptions(1e-2));
  const Tensor x = linspace(-2, 2, 32).reshape({32, 1}), y = x.sin();
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    const Tensor loss = bayes::elbo_loss(nn::functional::mse_loss(bnn(x), y), bnn, 32);
    loss.backward();
    optimizer.step();
  }
  std::vector<Tensor> out;
  for (const Tensor& p : bnn->parameters()) out.push_back(p.detach().clone());
  return out;
}

}  // namespace

TEST_CASE("a BNN trains on a backend with only the primitives, as with the fused kernels") {
  const std::vector<Tensor> fused = train_three_steps();
  const std::vector<Tensor> composed = test::with_primitives_only(train_three_steps);
  REQUIRE(fused.size() == composed.size());
  for (size_t i = 0; i < fused.size(); ++i) {
    INFO("parameter ", i);
    // The same draws and the same update rule; the sample and KL round differently (fused
    // kernels accumulate the KL in float64, in other steps), hence a tolerance.
    CHECK(allclose(fused[i], composed[i], 1e-4, 1e-5));
  }
}
