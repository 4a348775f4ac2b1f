// Fashion-MNIST: a Bayesian MLP next to its deterministic twin (and an MC-dropout one).
//
// Copies of one MLP (784-400-400-10, ReLU) train with the same budget: Adam (lr 1e-3), batch 128,
// the same epochs over the same examples.
// - deterministic: a plain network trained on the cross-entropy;
// - MC dropout: the same with dropout (p = 0.2) after each hidden layer, kept on at prediction
//   time by bayes::enable_mc_dropout (Gal & Ghahramani, 2016);
// - BNN: the plain network made Bayesian with one line (Gaussian posteriors, N(0, 1) priors),
//   trained on the negative ELBO per example, bayes::elbo_loss = cross-entropy + KL / N, N the
//   number of training examples (bayes/elbo.h derives this minibatch scaling).
//
// Then each classifies the test set (the stochastic ones averaging the softmax of several draws)
// and inputs unlike anything it was trained on: the test images with their pixels inverted, and
// uniform noise. The table reports, on the test set, accuracy, negative log-likelihood, expected
// calibration error and Brier score (lower is better for the last three), and how well two
// uncertainty scores tell test images from those out-of-distribution inputs (AUROC: 0.5 is
// chance, 1 perfect): the predictive entropy (total uncertainty) and the mutual information
// between prediction and weights (the model's own, epistemic uncertainty, which a deterministic
// network does not have).
//
//   build/release/examples/bnn_fashion_mnist [--full] [--epochs N] [--train-size N]
//       [--samples N] [--seed N] [--data DIR] [--out DIR] [--help]
//
// The default run trains on all 60000 examples for 10 epochs and predicts from 20 draws, about
// a minute on 2 idle cores; --full trains for 30 epochs and predicts from 100 draws. Needs Debian's
// dataset-fashion-mnist package (or the four IDX files in --data DIR). Writes
// DIR/bnn_fashion_mnist.md and prints the same table.

#include <bg/bg.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/classifier_report.h"
#include "common/cli.h"

namespace nn = bg::nn;
namespace bayes = bg::bayes;
using bg::Tensor;

using examples::Row;
using examples::seconds_since;

namespace {

struct Settings {
  int64_t epochs = 10;
  int64_t train_size = 60000;
  int64_t samples = 20;
  uint64_t seed = 0;
  std::string data = bg::data::FashionMNIST::kDefaultRoot;
  std::string out = "out";
};

Settings parse(int argc, char** argv) {
  Settings s;
  bool full = false;
  examples::Cli cli("bnn_fashion_mnist",
                    "A Bayesian MLP next to its deterministic and MC-dropout twins on "
                    "Fashion-MNIST: accuracy, calibration and out-of-distribution detection; "
                    "writes DIR/bnn_fashion_mnist.md.");
  cli.flag("--full", "30 epochs on all 60000 examples, 100 draws (overrides the three)", full);
  cli.option("--epochs", "N", "passes over the training examples", s.epochs, int64_t{1});
  cli.option("--train-size", "N", "training examples used", s.train_size, int64_t{1});
  cli.option("--samples", "N", "draws per prediction", s.samples, int64_t{1});
  cli.option("--seed", "N", "random seed", s.seed);
  cli.option("--data", "DIR", "the Fashion-MNIST IDX files", s.data);
  cli.option("--out", "DIR", "where the table goes", s.out);
  cli.parse(argc, argv);
  if (full) {
    s.epochs = 30;
    s.train_size = 60000;
    s.samples = 100;
  }
  return s;
}

// 784-400-400-10 with ReLU, and dropout after each hidden layer when `dropout` > 0.
nn::Sequential mlp(double dropout = 0) {
  nn::Sequential net;
  net->push_back(nn::Linear(784, 400));
  net->push_back(nn::ReLU());
  if (dropout > 0) net->push_back(nn::Dropout(dropout));
  net->push_back(nn::Linear(400, 400));
  net->push_back(nn::ReLU());
  if (dropout > 0) net->push_back(nn::Dropout(dropout));
  net->push_back(nn::Linear(400, 10));
  return net;
}

// Images [N, 1, 28, 28] in [0, 1] -> rows [N, 784], standardized with Fashion-MNIST's pixel mean
// and std (so that out-of-distribution images go through the same transform).
Tensor features(const Tensor& images) {
  return (images.reshape({images.size(0), 784}) - 0.2860) / 0.3530;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  bg::manual_seed(settings.seed);

  // 1. Data: a subset of the training set, the test set, and two out-of-distribution sets.
  const bg::data::FashionMNIST train_set(settings.data, bg::data::Split::Train);
  const bg::data::FashionMNIST test_set(settings.data, bg::data::Split::Test);
  const int64_t n = std::min<int64_t>(settings.train_size, train_set.size());
  const Tensor x_train = features(train_set.data().narrow(0, 0, n));
  const Tensor y_train = train_set.targets().narrow(0, 0, n);
  const Tensor x_test = features(test_set.data()), y_test = test_set.targets();
  const Tensor x_inverted = features(1.0 - test_set.data());
  const Tensor x_noise = features(bg::rand(test_set.data().sizes()));
  bg::data::DataLoader loader(std::make_shared<bg::data::TensorDataset>(x_train, y_train),
                              bg::data::DataLoaderOptions(128).shuffle(true));
  std::printf("Fashion-MNIST: %lld training examples, %lld test examples, %lld epochs\n",
              static_cast<long long>(n), static_cast<long long>(test_set.size()),
              static_cast<long long>(settings.epochs));

  // 2. The deterministic network.
  nn::Sequential net = mlp();
  const auto start_deterministic = std::chrono::steady_clock::now();
  examples::train("deterministic", *net, loader, settings.epochs,
                  [&](const bg::data::Example& batch) {
                    return nn::functional::cross_entropy(net(batch.data), batch.target);
                  });
  const double deterministic_s = seconds_since(start_deterministic);

  // 3. The same with dropout, which stays on when predicting.
  nn::Sequential dropout_net = mlp(0.2);
  const auto start_dropout = std::chrono::steady_clock::now();
  examples::train("MC dropout", *dropout_net, loader, settings.epochs,
                  [&](const bg::data::Example& batch) {
                    return nn::functional::cross_entropy(dropout_net(batch.data), batch.target);
                  });
  bayes::enable_mc_dropout(dropout_net);  // after eval() too, its dropout layers keep sampling
  const double dropout_s = seconds_since(start_dropout);

  // 4. The Bayesian twin: the same architecture, one line to convert, the ELBO to train.
  bayes::BayesianModule bnn(mlp());
  const auto start_bayesian = std::chrono::steady_clock::now();
  examples::train("BNN", *bnn, loader, settings.epochs, [&](const bg::data::Example& batch) {
    return bayes::elbo_loss(nn::functional::cross_entropy(bnn(batch.data), batch.target), bnn, n);
  });
  const double bayesian_s = seconds_since(start_bayesian);

  // 5. Evaluation: one pass of the deterministic net, `samples` draws of the others.
  const auto start_evaluation = std::chrono::steady_clock::now();
  const std::string draws = " (" + std::to_string(settings.samples) + " samples)";
  const std::vector<Row> rows = {
      examples::evaluate("deterministic", net, 1, x_test, y_test, x_inverted, x_noise),
      examples::evaluate("MC dropout" + draws, dropout_net, settings.samples, x_test, y_test,
                         x_inverted, x_noise),
      examples::evaluate("BNN" + draws, bnn, settings.samples, x_test, y_test, x_inverted,
                         x_noise)};
  const double evaluation_s = seconds_since(start_evaluation);

  const std::string result = "Fashion-MNIST test set (10000 images), models trained on " +
                             std::to_string(n) + " examples for " +
                             std::to_string(settings.epochs) + " epochs (seed " +
                             std::to_string(settings.seed) + ").\n\n" + examples::table(rows);
  std::filesystem::create_directories(settings.out);
  const std::string path = settings.out + "/bnn_fashion_mnist.md";
  std::ofstream(path) << result;
  std::printf("\n%s\n", result.c_str());
  std::printf("(MI: mutual information, which a deterministic network does not have.)\n");
  std::printf(
      "training %.1f s (deterministic), %.1f s (MC dropout), %.1f s (BNN); evaluation %.1f s; "
      "wrote %s\n",
      deterministic_s, dropout_s, bayesian_s, evaluation_s, path.c_str());
}
