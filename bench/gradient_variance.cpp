// The variance of the gradient estimate of each estimator (bayes::Estimator): the plain
// reparameterization, the local reparameterization trick (Kingma et al. 2015) and Flipout (Wen et
// al. 2018), on the seed MLP and on a LeNet-style CNN. A measurement, not a benchmark: no timing,
// no PyTorch peer (bench/run does not run it); bench/RESULTS.md quotes its output.
//
//   build/release/bench/bench_gradient_variance [--draws N] [--seed S]
//
// For each model, a BNN is first trained briefly with the plain estimator, so that the posteriors
// are those of a model being trained rather than of the initialization. Then, for each estimator,
// a BNN with exactly these variational parameters computes the gradient of the mean negative
// log-likelihood of ONE fixed minibatch (the KL term's gradient is exact, the same for all three)
// for N independent draws. Per layer, the printed variance is the variance of each gradient
// element across the draws, averaged over the elements of that layer's weight (mu, and rho), and
// the ratio is the plain estimator's variance divided by this one (above 1: a lower variance).
// One JSON line per (model, estimator, weight).

#include <bg/bg.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace nn = bg::nn;
namespace bayes = bg::bayes;
using bg::Tensor;

namespace {

struct Settings {
  int64_t draws = 200;
  uint64_t seed = 0;
};

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--draws") == 0) s.draws = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) s.seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  return s;
}

nn::Sequential seed_mlp() {
  return nn::Sequential(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                        nn::Linear(20, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                        nn::Linear(20, 1));
}

nn::Sequential lenet() {
  return nn::Sequential(nn::Conv2d(1, 6, 5), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(6, 16, 5),
                        nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(256, 120),
                        nn::ReLU(), nn::Linear(120, 84), nn::ReLU(), nn::Linear(84, 10));
}

// The per-element variance over draws, averaged over the elements, of the gradients in `draws`
// ([draws, ...]).
double mean_variance(const Tensor& draws) {
  const Tensor mean = draws.mean(0);
  return (draws - mean).pow(2).mean(0).mean().item<double>();
}

using Loss = std::function<Tensor(bayes::BayesianModule<>&, const Tensor&, const Tensor&)>;

// Trains a plain-estimator BNN of `make()` for `steps` minibatches of `batch` examples of (x, y),
// then measures the gradient variance of each estimator on the first minibatch.
void measure(const char* model, const std::function<nn::Sequential()>& make, const Tensor& x,
             const Tensor& y, int64_t batch, int64_t steps, double lr, const Loss& nll,
             const Settings& settings) {
  bayes::BayesianModule<> trained = bayes::BayesianModule(make());
  bg::optim::Adam optimizer(trained->parameters(), bg::optim::AdamOptions(lr));
  const int64_t n = x.size(0);
  for (int64_t step = 0; step < steps; ++step) {
    const Tensor index = bg::randint(0, n, {batch});
    optimizer.zero_grad();
    bayes::elbo_loss(nll(trained, x.index_select(0, index), y.index_select(0, index)), trained, n)
        .backward();
    optimizer.step();
  }
  const Tensor batch_x = x.narrow(0, 0, batch), batch_y = y.narrow(0, 0, batch);

  std::map<std::string, double> plain_variance;  // per weight name and "mu"/"rho"
  for (const char* estimator : {"reparameterization", "local_reparameterization", "flipout"}) {
    bayes::BayesianModule<> bnn =
        bayes::BayesianModule(make(), bayes::BayesianOptions().estimator(estimator));
    bnn->load_state_dict(trained->state_dict());
    std::map<std::string, std::vector<Tensor>> gradients;
    for (int64_t draw = 0; draw < settings.draws; ++draw) {
      bnn->zero_grad();
      nll(bnn, batch_x, batch_y).backward();
      for (const auto& item : bnn->named_parameters()) {
        gradients[item.key()].push_back(item.value().grad().clone());
      }
    }
    for (const auto& item : bnn->posteriors()) {
      if (!item.key().ends_with("weight")) continue;
      const std::string prefix =
          "module." + item.key().substr(0, item.key().rfind('.')) + ".parametrizations.weight.";
      double variance[2];
      for (int k = 0; k < 2; ++k) {
        const std::string which = k == 0 ? "mu" : "rho";
        variance[k] = mean_variance(bg::stack(gradients.at(prefix + which)));
        const std::string key = item.key() + which;
        if (std::strcmp(estimator, "reparameterization") == 0) plain_variance[key] = variance[k];
      }
      std::printf(
          "{\"bench\": \"gradient_variance\", \"model\": \"%s\", \"estimator\": \"%s\", "
          "\"weight\": \"%s\", \"draws\": %lld, \"mu_variance\": %.4g, \"rho_variance\": %.4g, "
          "\"mu_ratio\": %.3g, \"rho_ratio\": %.3g}\n",
          model, estimator, item.key().c_str(), static_cast<long long>(settings.draws), variance[0],
          variance[1], plain_variance[item.key() + "mu"] / variance[0],
          plain_variance[item.key() + "rho"] / variance[1]);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  bg::set_num_threads(1);

  // The seed example's data and loss: 250 points of sin(1.5 x) + noise, MSE, batch 64.
  bg::manual_seed(settings.seed);
  const Tensor x = bg::linspace(-5, 5, 250).unsqueeze(1);
  const Tensor y = (x * 1.5).sin() + 0.1 * bg::randn_like(x);
  const Tensor order = bg::randint(0, 250, {250});  // the fixed minibatch: 64 scattered points
  measure(
      "seed_mlp", seed_mlp, x.index_select(0, order), y.index_select(0, order), 64, 500, 1e-2,
      [](bayes::BayesianModule<>& bnn, const Tensor& in, const Tensor& target) {
        return nn::functional::mse_loss(bnn(in), target);
      },
      settings);

  // A LeNet-style CNN on Fashion-MNIST (Debian's dataset-fashion-mnist), cross-entropy, batch 128.
  bg::manual_seed(settings.seed);
  const bg::data::FashionMNIST train(bg::data::Split::Train);
  const Tensor images = train.data().narrow(0, 0, 10000);
  const Tensor labels = train.targets().narrow(0, 0, 10000);
  measure(
      "lenet_fashion_mnist", lenet, images, labels, 128, 300, 1e-3,
      [](bayes::BayesianModule<>& bnn, const Tensor& in, const Tensor& target) {
        return nn::functional::cross_entropy(bnn(in), target);
      },
      settings);
}
