// A small application of bayesgrad (tests/consumer/CMakeLists.txt): a Bayesian MLP learns
// y = sin(1.5 x) from 32 points on [-2, 2] and predicts at x = 0.5 from 200 draws of its weights.

#include <bg/bg.h>

#include <cmath>
#include <cstdio>

namespace nn = bg::nn;
namespace bayes = bg::bayes;

int main() {
  bg::manual_seed(0);
  const bg::Tensor x = bg::linspace(-2, 2, 32).unsqueeze(1);
  const bg::Tensor y = (x * 1.5).sin();

  nn::Sequential net(nn::Linear(1, 16), nn::Tanh(), nn::Linear(16, 1));
  bayes::BayesianModule bnn(net);
  bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(2e-2));
  for (int step = 0; step < 500; ++step) {
    optimizer.zero_grad();
    // The mean squared error plus the KL divergence to the prior, tempered (kl_weight 0.001).
    const bg::Tensor loss = bayes::elbo_loss(nn::functional::mse_loss(bnn(x), y), bnn, 32, 1e-3);
    loss.backward();
    optimizer.step();
  }

  const bayes::Prediction p = bayes::predict(bnn, bg::tensor({{0.5f}}), 200);
  const double mean = p.mean.item<double>(), std = p.std.item<double>();
  std::printf("bayesgrad %s (headers %s), CUDA backend %s\n", bg::version(), BG_VERSION_STRING,
              bg::cuda::is_built() ? "built" : "not built");
  std::printf("prediction at x = 0.5: %.3f +- %.3f (sin(0.75) = 0.682)\n", mean, std);
  return std::isfinite(mean) && std::isfinite(std) ? 0 : 1;
}
