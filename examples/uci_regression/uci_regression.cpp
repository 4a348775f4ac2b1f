// Small-data regression with the standard UCI protocol (Hernández-Lobato & Adams 2015; Gal &
// Ghahramani 2016): 20 random 90/10 train/test splits, one hidden layer of 50 units, inputs and
// targets standardized with the training split's statistics; test RMSE and test log-likelihood,
// both in the target's units, reported as mean ± standard error over the splits. The data: the
// diabetes data that scikit-learn ships (442 patients, 10 inputs), extracted by get_diabetes.sh.
//
//   examples/uci_regression/get_diabetes.sh            # writes out/data/diabetes.csv
//   build/release/examples/uci_regression [--data out/data/diabetes.csv] [--splits 20]
//                                         [--out out] [--seed 0]
//
// Every model is the network 10-50-1 (ReLU) with a Gaussian likelihood whose noise is learned
// (bayes::GaussianLikelihood), trained full-batch with Adam; the recipe's numbers are the
// constants below (README, "Small-data regression"):
//   deterministic  maximum likelihood with weight decay, stopped early
//   MC dropout     the same with dropout after the hidden layer, kept at test time
//   BNN            Bayes by Backprop: the negative ELBO (elbo_loss, the KL weight warmed up from
//                  0 to 1), Gaussian posteriors starting narrow, N(0, 1) priors; once with each
//                  gradient estimator
// Writes OUT/uci_regression.md and prints the same table.

#include <bg/bg.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/cli.h"

namespace nn = bg::nn;
namespace bayes = bg::bayes;
using bg::Tensor;

namespace {

// The recipe. Each method's numbers were chosen among a few trial runs on the first four splits
// of seed 0 (README, "Small-data regression").
constexpr int64_t kHidden = 50;
constexpr double kInitialNoise = 0.5;  // the noise's std at the start (standardized targets)
constexpr int64_t kDraws = 200;        // Monte Carlo draws at test time
// Deterministic and MC dropout: full-batch Adam, stopped early, with weight decay.
constexpr int64_t kPlainSteps = 500;
constexpr double kPlainLearningRate = 1e-3;
constexpr double kWeightDecay = 1e-3;
constexpr double kDropout = 0.1;
// BNN: full-batch Adam on the negative ELBO.
constexpr int64_t kBnnSteps = 2000;
constexpr double kBnnLearningRate = 1e-2;
constexpr double kInitialRho = -5.0;   // sigma = softplus(-5) ~ 0.0067 at the start
constexpr int64_t kWarmupSteps = 500;  // the KL weight grows from 0 to 1 over these steps

struct Settings {
  std::string data = "out/data/diabetes.csv";
  std::string out = "out";
  int64_t splits = 20;
  uint64_t seed = 0;
};

Settings parse(int argc, char** argv) {
  Settings s;
  examples::Cli cli("uci_regression",
                    "The UCI regression protocol on the diabetes data: a deterministic net, MC "
                    "dropout and BNNs with each estimator, test RMSE and log-likelihood over "
                    "random 90/10 splits (get the data with examples/uci_regression/"
                    "get_diabetes.sh).");
  cli.option("--data", "PATH", "diabetes.csv written by get_diabetes.sh", s.data);
  cli.option("--out", "DIR", "where the table goes", s.out);
  cli.option("--splits", "N", "random 90/10 splits", s.splits, int64_t{1});
  cli.option("--seed", "N", "random seed of the first split", s.seed);
  cli.parse(argc, argv);
  return s;
}

// One 90/10 split, standardized with the training split's statistics.
struct Split {
  Tensor x_train, y_train, x_test, y_test;  // standardized; y [rows, 1]
  double y_mean = 0, y_std = 1;
};

Split make_split(const Tensor& x, const Tensor& y, uint64_t seed) {
  // A Fisher-Yates shuffle of the rows with the split's own generator.
  const int64_t n = x.size(0), n_train = (n * 9 + 5) / 10;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 generator(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[generator() % (i + 1)]);
  const Tensor index = bg::tensor(order, {n});
  const Tensor train = index.narrow(0, 0, n_train), test = index.narrow(0, n_train, n - n_train);
  const Tensor x_train = x.index_select(0, train), y_train = y.index_select(0, train);
  const Tensor x_mean = x_train.mean({0}), x_std = x_train.std({0});
  Split s;
  s.y_mean = y_train.mean().item<double>();
  s.y_std = y_train.std().item<double>();
  s.x_train = (x_train - x_mean) / x_std;
  s.x_test = (x.index_select(0, test) - x_mean) / x_std;
  s.y_train = ((y_train - s.y_mean) / s.y_std).unsqueeze(1);
  s.y_test = ((y.index_select(0, test) - s.y_mean) / s.y_std).unsqueeze(1);
  return s;
}

nn::Sequential network(bool dropout) {
  if (dropout) {
    return nn::Sequential(nn::Linear(10, kHidden), nn::ReLU(), bayes::BayesianDropout(kDropout),
                          nn::Linear(kHidden, 1));
  }
  return nn::Sequential(nn::Linear(10, kHidden), nn::ReLU(), nn::Linear(kHidden, 1));
}

struct Score {
  double rmse, log_likelihood;
};

// Test RMSE and log-likelihood in the target's units: the prediction is y_mean + y_std times the
// standardized one, and the density of y is the standardized density divided by y_std.
Score evaluate(const nn::AnyModule& model, bayes::GaussianLikelihood& likelihood, const Split& s,
               int64_t draws) {
  const bayes::Prediction p = bayes::predict(model, s.x_test, draws, likelihood);
  const double ll = bayes::predictive_log_likelihood(model, s.x_test, s.y_test, draws, likelihood);
  return {bayes::rmse(p.mean, s.y_test) * s.y_std, ll - std::log(s.y_std)};
}

// `steps` steps of full-batch Adam on the loss of each step.
void train(bg::optim::Adam& optimizer, int64_t steps, const std::function<Tensor(int64_t)>& loss) {
  for (int64_t step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    loss(step).backward();
    optimizer.step();
  }
}

// The deterministic network (draws = 1) or MC dropout (draws = kDraws): maximum likelihood with
// weight decay on the network's parameters (not on the noise).
Score plain_network(const Split& s, bool dropout) {
  nn::Sequential net = network(dropout);
  bayes::GaussianLikelihood likelihood(kInitialNoise);
  bg::optim::Adam optimizer(
      {bg::optim::OptimizerParamGroup(
           net->parameters(),
           bg::optim::AdamOptions(kPlainLearningRate).weight_decay(kWeightDecay)),
       bg::optim::OptimizerParamGroup(likelihood->parameters())},
      bg::optim::AdamOptions(kPlainLearningRate));
  train(optimizer, kPlainSteps, [&](int64_t) { return likelihood(net(s.x_train), s.y_train); });
  return evaluate(net, likelihood, s, dropout ? kDraws : 1);
}

// Bayes by Backprop with the gradient estimator `estimator`.
Score bnn(const Split& s, const char* estimator) {
  bayes::BayesianModule model(network(false), bayes::BayesianOptions()
                                                  .posterior({"gaussian", {{"rho", kInitialRho}}})
                                                  .estimator(estimator));
  bayes::GaussianLikelihood likelihood(kInitialNoise);
  bg::optim::Adam optimizer({model->parameters(), likelihood->parameters()},
                            bg::optim::AdamOptions(kBnnLearningRate));
  const bayes::KLSchedule schedule = bayes::KLSchedule::linear(kWarmupSteps);
  const int64_t n = s.x_train.size(0);
  train(optimizer, kBnnSteps, [&](int64_t step) {
    return bayes::elbo_loss(likelihood(model(s.x_train), s.y_train), model, n,
                            schedule.weight(step));
  });
  return evaluate(model, likelihood, s, kDraws);
}

struct Row {
  const char* name;
  std::function<Score(const Split&)> run;
  std::vector<Score> scores;
  double seconds = 0;
};

// "mean ± standard error" over the splits.
std::string summary(const std::vector<double>& values) {
  double mean = 0, m2 = 0;
  for (double v : values) mean += v / static_cast<double>(values.size());
  for (double v : values) m2 += (v - mean) * (v - mean);
  const double se = values.size() > 1 ? std::sqrt(m2 / (values.size() - 1) / values.size()) : 0;
  char text[64];
  std::snprintf(text, sizeof(text), "%.3f ± %.3f", mean, se);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  if (!std::filesystem::exists(settings.data)) {
    std::fprintf(stderr, "no %s: run examples/uci_regression/get_diabetes.sh first\n",
                 settings.data.c_str());
    return 1;
  }
  bg::set_num_threads(1);
  const bg::data::CsvTable table = bg::data::read_csv(settings.data);
  const bg::data::Example columns = table.split_target("progression");
  std::printf("%s: %lld rows, %lld inputs; %lld splits 90/10\n", settings.data.c_str(),
              static_cast<long long>(columns.data.size(0)),
              static_cast<long long>(columns.data.size(1)),
              static_cast<long long>(settings.splits));

  std::vector<Row> rows = {
      {"deterministic", [](const Split& s) { return plain_network(s, false); }, {}},
      {"MC dropout", [](const Split& s) { return plain_network(s, true); }, {}},
      {"BNN, reparameterization", [](const Split& s) { return bnn(s, "reparameterization"); }, {}},
      {"BNN, local reparameterization",
       [](const Split& s) { return bnn(s, "local_reparameterization"); },
       {}},
      {"BNN, Flipout", [](const Split& s) { return bnn(s, "flipout"); }, {}},
  };
  for (int64_t split = 0; split < settings.splits; ++split) {
    const uint64_t seed = settings.seed * 1000 + static_cast<uint64_t>(split);
    const Split s = make_split(columns.data, columns.target, seed);
    for (Row& row : rows) {
      bg::manual_seed(seed);  // the same initial draws for every split's models
      const auto start = std::chrono::steady_clock::now();
      row.scores.push_back(row.run(s));
      row.seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("split %2lld done\n", static_cast<long long>(split + 1));
    std::fflush(stdout);
  }

  // Every model ran on the same splits, so their differences per split (paired) tell apart
  // what the spread of the splits alone would hide.
  const Row& dropout = rows[1];
  std::string table_text =
      "| model | test RMSE | test log-likelihood | RMSE - MC dropout's (paired) | "
      "log-likelihood - MC dropout's (paired) | seconds per split |\n|---|---|---|---|---|---|\n";
  for (const Row& row : rows) {
    std::vector<double> rmse, ll, rmse_diff, ll_diff;
    for (size_t i = 0; i < row.scores.size(); ++i) {
      rmse.push_back(row.scores[i].rmse);
      ll.push_back(row.scores[i].log_likelihood);
      rmse_diff.push_back(row.scores[i].rmse - dropout.scores[i].rmse);
      ll_diff.push_back(row.scores[i].log_likelihood - dropout.scores[i].log_likelihood);
    }
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.2f", row.seconds / settings.splits);
    const bool baseline = &row == &dropout;
    table_text += std::string("| ") + row.name + " | " + summary(rmse) + " | " + summary(ll) +
                  " | " + (baseline ? "-" : summary(rmse_diff)) + " | " +
                  (baseline ? "-" : summary(ll_diff)) + " | " + seconds + " |\n";
  }
  std::printf("\n%s", table_text.c_str());
  std::filesystem::create_directories(settings.out);
  const std::string path = settings.out + "/uci_regression.md";
  std::ofstream(path) << table_text;
  std::printf("wrote %s\n", path.c_str());
}
