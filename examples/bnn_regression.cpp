// Bayesian regression: torchbayesian's example, ported.
//
// A plain MLP becomes a Bayesian neural network with one line, is trained by Bayes by Backprop on
// 250 noisy points of y = sin(1.5 x) on [-5, 5], then predicts on [-8.5, 8.5] from 1000 draws of
// its weights. Away from the data the predictive uncertainty grows: the network knows what it
// does not know.
//
//   build/release/examples/bnn_regression [--seed N] [--out DIR] [--device cpu|cuda] [--help]
//
// Writes DIR/bnn_regression.svg (predictive mean +- 2 std and the training points; open it in a
// browser) and DIR/bnn_regression.csv, then prints the quality figures, last as one JSON line.

#include <bg/bg.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/cli.h"
#include "common/svg_plot.h"

namespace nn = bg::nn;
namespace bayes = bg::bayes;

namespace {

std::vector<double> values_of(const bg::Tensor& t) {
  const bg::Tensor host = t.detach().to(bg::kFloat64).cpu().contiguous();
  return {host.data_ptr<double>(), host.data_ptr<double>() + host.numel()};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 0;
  std::string out_dir = "out";
  bg::Device device = bg::Device::cpu();
  examples::Cli cli("bnn_regression",
                    "A Bayesian MLP learns sin(1.5 x) from 250 noisy points and predicts with "
                    "uncertainty; writes DIR/bnn_regression.svg and .csv.");
  cli.option("--seed", "N", "random seed", seed);
  cli.option("--out", "DIR", "where the picture and the table go", out_dir);
  cli.option("--device", "DEVICE", "cpu, cuda or cuda:N", device);
  cli.parse(argc, argv);
  bg::manual_seed(seed);

  // 1. Data: 250 points of sin(1.5 x) plus noise, on the device that trains.
  const bg::Tensor x = bg::linspace(-5, 5, 250).unsqueeze(1).to(device);
  const bg::Tensor y = (x * 1.5).sin() + 0.1 * bg::randn_like(x);
  bg::data::DataLoader loader(std::make_shared<bg::data::TensorDataset>(x, y),
                              bg::data::DataLoaderOptions(64).shuffle(true));

  // 2. Any model, as usual: an MLP with 4 hidden layers.
  nn::Sequential net(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                     nn::Linear(20, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                     nn::Linear(20, 1));

  // 3. One line: every parameter becomes a Gaussian posterior with a N(0, 1) prior.
  bayes::BayesianModule bnn(net);
  bnn->to(device);

  // 4. Training: Adam, loss = MSE + 0.1 * mean KL (the heuristic of torchbayesian's example; see
  // README for the ELBO with its minibatch scaling).
  bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(1e-2));
  const auto train_start = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= 500; ++epoch) {
    double epoch_loss = 0;
    for (const bg::data::Example& batch : loader) {
      optimizer.zero_grad();
      const bg::Tensor loss = nn::functional::mse_loss(bnn(batch.data), batch.target) +
                              0.1 * bnn->kl_divergence({bayes::KLReduction::Mean});
      loss.backward();
      optimizer.step();
      epoch_loss += loss.item<double>();
    }
    if (epoch % 100 == 0)
      std::printf("epoch %3d   loss %.4f\n", epoch, epoch_loss / loader.num_batches());
  }
  const double train_s = seconds_since(train_start);

  // 5. Prediction from 1000 draws of the weights (no graph is recorded).
  const bg::Tensor grid = bg::linspace(-8.5, 8.5, 5000).unsqueeze(1).to(device);
  const auto predict_start = std::chrono::steady_clock::now();
  const bayes::Prediction prediction = bayes::predict(bnn, grid, 1000);
  const double predict_s = seconds_since(predict_start);

  // 6. Quality: the fit inside the data, the calibration on the training points, and the
  // uncertainty inside versus outside the data.
  const bg::Tensor inside = grid.abs() <= 5;
  const bg::Tensor truth = (grid * 1.5).sin();
  const double rmse =
      ((prediction.mean - truth).pow(2).masked_select(inside).mean().sqrt()).item<double>();
  const bayes::Prediction at_data = bayes::predict(bnn, x, 1000);
  const double coverage =
      ((y - at_data.mean).abs() <= at_data.std * 2).to(bg::kFloat64).mean().item<double>();
  const double std_in = prediction.std.masked_select(inside).mean().item<double>();
  const double std_out = prediction.std.masked_select(inside.logical_not()).mean().item<double>();

  std::filesystem::create_directories(out_dir);
  const std::vector<double> gx = values_of(grid), mean = values_of(prediction.mean),
                            std = values_of(prediction.std);
  std::vector<double> lower(gx.size()), upper(gx.size());
  for (size_t i = 0; i < gx.size(); ++i) {
    lower[i] = mean[i] - 2 * std[i];
    upper[i] = mean[i] + 2 * std[i];
  }
  examples::SvgPlot plot("Bayesian MLP: predictive mean and 2 std from 1000 draws", -8.5, 8.5, -3,
                         3);
  plot.band(gx, lower, upper, "#C0DEF0", "mean +- 2 std");
  plot.line(gx, mean, "#4F609C", "predictive mean");
  plot.points(values_of(x), values_of(y), "black", "training data");
  const std::string svg = out_dir + "/bnn_regression.svg", csv = out_dir + "/bnn_regression.csv";
  plot.save(svg);
  std::ofstream table(csv);
  table << "x,mean,std\n";
  for (size_t i = 0; i < gx.size(); ++i) table << gx[i] << "," << mean[i] << "," << std[i] << "\n";

  std::printf("wrote %s and %s\n", svg.c_str(), csv.c_str());
  std::printf("RMSE of the mean against sin(1.5 x) on [-5, 5]: %.4f\n", rmse);
  std::printf("training points inside mean +- 2 std:          %.3f\n", coverage);
  std::printf("mean predictive std inside / outside the data: %.3f / %.3f\n", std_in, std_out);
  std::printf("training %.2f s, prediction %.2f s\n", train_s, predict_s);
  std::printf(
      "{\"rmse\": %.5f, \"coverage\": %.4f, \"std_in\": %.4f, \"std_out\": %.4f, \"train_s\": "
      "%.4f, "
      "\"predict_s\": %.4f}\n",
      rmse, coverage, std_in, std_out, train_s, predict_s);
}
