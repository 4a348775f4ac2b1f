#include <bg/bg.h>
#include <cstdio>
namespace nn = bg::nn;
namespace bayes = bg::bayes;

int main() {
  bg::Tensor x = bg::linspace(-5, 5, 250).unsqueeze(1);  // 250 points of a noisy sine
  bg::Tensor y = (x * 1.5).sin() + 0.1 * bg::randn_like(x);
  bg::data::DataLoader loader(std::make_shared<bg::data::TensorDataset>(x, y),
                              bg::data::DataLoaderOptions(64).shuffle(true));

  nn::Sequential net(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                     nn::Linear(20, 1));
  // One line: every parameter becomes a Gaussian posterior (starting narrow), N(0, 1) prior.
  bayes::BayesianModule bnn(net, bayes::BayesianOptions().posterior({"gaussian", {{"rho", -6.0}}}));
  bayes::GaussianLikelihood likelihood(0.1);  // y ~ N(bnn(x), sigma^2), sigma learned too

  bg::optim::Adam optimizer({bnn->parameters(), likelihood->parameters()},
                            bg::optim::AdamOptions(1e-2));
  for (int epoch = 0; epoch < 1000; ++epoch) {
    for (const bg::data::Example& batch : loader) {
      optimizer.zero_grad();
      bg::Tensor nll = likelihood(bnn(batch.data), batch.target);  // mean -log p(y | x, w)
      bg::Tensor loss = bayes::elbo_loss(nll, bnn, 250);  // nll + KL / N: the negative ELBO
      loss.backward();
      optimizer.step();
    }
  }
  bg::Tensor x_test = bg::linspace(-8, 8, 9).unsqueeze(1);
  bayes::Prediction p = bayes::predict(bnn, x_test, 1000, likelihood);  // over 1000 weight draws
  for (int64_t i = 0; i < 9; ++i)  // std: the draws' spread and the learned noise
    std::printf("x = %5.1f   mean %6.3f   std %.3f\n", x_test[i].item<double>(),
                p.mean[i].item<double>(), p.std[i].item<double>());
}
