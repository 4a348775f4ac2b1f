// Bayesian forecasting: tomorrow's maximum temperature in Seattle, with predictive intervals.
//
// The data are the daily weather records of Seattle, 2012-2015 (vega-datasets'
// seattle-weather.csv; Debian ships it: `apt-get install python3-vega-datasets`). A user-defined
// model, an LSTM over the last 30 days followed by a linear head that outputs a mean and a noise
// scale, becomes a Bayesian neural network with one line and is trained by Bayes by Backprop
// (Gaussian likelihood with the learned noise, the ELBO's KL) on 2012-2014. It then forecasts every
// day of 2015 from the 30 days before it, with 200 draws of its weights: the predictive
// distribution is the mixture of the draws' Gaussians, whose mean +- 2 std should hold about 95% of
// the held-out days.
//
//   build/release/examples/bnn_forecast [--data PATH] [--seed N] [--epochs N] [--out DIR]
//
// Writes DIR/bnn_forecast.svg (the held-out year: observations, predictive mean, mean +- 2 std)
// and DIR/bnn_forecast.csv, then prints the interval coverage and the errors, last as one JSON
// line.

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
using bg::Tensor;

namespace {

constexpr int64_t kWindow = 30;    // days of history per forecast
constexpr int64_t kHeldOut = 365;  // the last year, forecast and never trained on

// An LSTM reads the window; a linear head turns its last state into the forecast's mean and the
// raw noise scale (softplus makes it positive).
class ForecasterImpl : public nn::Module {
 public:
  ForecasterImpl()
      : Module("Forecaster"),
        lstm(register_module("lstm", nn::LSTM(nn::LSTMOptions(1, 32).batch_first(true)))),
        head(register_module("head", nn::Linear(32, 2))) {}

  /// windows [batch, kWindow, 1] -> [batch, 2]: (mean, raw scale) of tomorrow's value.
  Tensor forward(const Tensor& windows) {
    const Tensor output = std::get<0>(lstm(windows));
    return head(output.select(1, output.size(1) - 1));
  }

  nn::LSTM lstm;
  nn::Linear head;
};
BG_MODULE(Forecaster);

// The forecast's standard deviation from the head's raw scale.
Tensor noise_std(const Tensor& raw) { return bg::nn::functional::softplus(raw) + 1e-3; }

// Every window of kWindow days ending before day t, for t in [first, last): [count, kWindow, 1],
// and the days they forecast [count, 1].
std::pair<Tensor, Tensor> windows(const Tensor& series, int64_t first, int64_t last) {
  std::vector<Tensor> inputs;
  for (int64_t t = first; t < last; ++t) inputs.push_back(series.narrow(0, t - kWindow, kWindow));
  return {bg::stack(inputs).unsqueeze(2), series.narrow(0, first, last - first).unsqueeze(1)};
}

std::vector<double> values_of(const Tensor& t) {
  const Tensor host = t.detach().to(bg::kFloat64).contiguous();
  return {host.data_ptr<double>(), host.data_ptr<double>() + host.numel()};
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_path = "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv";
  std::string out_dir = "out";
  uint64_t seed = 0;
  int64_t epochs = 40;
  examples::Cli cli(
      "bnn_forecast",
      "A Bayesian LSTM forecasts Seattle's daily maximum temperature a day ahead with "
      "predictive intervals; writes DIR/bnn_forecast.svg.");
  cli.option("--data", "PATH", "seattle-weather.csv (Debian's python3-vega-datasets)", data_path);
  cli.option("--seed", "N", "random seed", seed);
  cli.option("--epochs", "N", "passes over the training years", epochs, int64_t{1});
  cli.option("--out", "DIR", "where the picture goes", out_dir);
  cli.parse(argc, argv);
  if (!std::filesystem::exists(data_path)) {
    std::fprintf(stderr,
                 "%s not found: install Debian's python3-vega-datasets (apt-get install "
                 "python3-vega-datasets) or pass --data PATH\n",
                 data_path.c_str());
    return 1;
  }
  bg::manual_seed(seed);

  // 1. The series: one row per day, in date order; the date and weather columns hold text.
  const bg::data::CsvTable table =
      bg::data::read_csv(data_path, bg::data::CsvOptions().columns({"temp_max"}));
  const Tensor celsius = table.column("temp_max");
  const int64_t days = celsius.size(0), train_end = days - kHeldOut;
  // Standardized with the training part's statistics.
  const double mean = celsius.narrow(0, 0, train_end).mean().item<double>();
  const double scale = celsius.narrow(0, 0, train_end).std().item<double>();
  const Tensor series = (celsius - mean) / scale;
  auto [train_x, train_y] = windows(series, kWindow, train_end);
  auto [test_x, test_y] = windows(series, train_end, days);
  bg::data::DataLoader loader(std::make_shared<bg::data::TensorDataset>(train_x, train_y),
                              bg::data::DataLoaderOptions(64).shuffle(true));

  // 2. One line: every parameter of the model, the LSTM's included, becomes a posterior.
  Forecaster model;
  bayes::BayesianModule bnn(model);

  // 3. Bayes by Backprop: the Gaussian negative log-likelihood with the learned noise, plus the
  // KL divergence scaled by the number of training windows (the ELBO per example).
  bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(3e-3));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    double total = 0;
    for (const bg::data::Example& batch : loader) {
      optimizer.zero_grad();
      const Tensor out = bnn(batch.data);
      const Tensor variance = noise_std(out.narrow(1, 1, 1)).pow(2);
      const Tensor nll =
          nn::functional::gaussian_nll_loss(out.narrow(1, 0, 1), batch.target, variance);
      const Tensor loss = bayes::elbo_loss(nll, bnn, train_x.size(0));
      loss.backward();
      optimizer.step();
      total += loss.item<double>();
    }
    if (epoch % 10 == 0)
      std::printf("epoch %3lld   loss %.4f\n", static_cast<long long>(epoch),
                  total / loader.num_batches());
  }
  const double train_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // 4. The predictive mixture over 200 weight draws: mean = E[mu], variance = E[sigma^2] +
  // Var[mu] (the noise plus the spread of the draws), in degrees.
  const int64_t draws = 200;
  Tensor sum_mu = bg::zeros_like(test_y), sum_mu2 = bg::zeros_like(test_y),
         sum_var = bg::zeros_like(test_y);
  {
    bg::NoGradGuard no_grad;
    for (int64_t s = 0; s < draws; ++s) {
      const Tensor out = bnn(test_x);
      const Tensor mu = out.narrow(1, 0, 1);
      sum_mu = sum_mu + mu;
      sum_mu2 = sum_mu2 + mu * mu;
      sum_var = sum_var + noise_std(out.narrow(1, 1, 1)).pow(2);
    }
  }
  const Tensor predicted = sum_mu / static_cast<double>(draws);
  const Tensor epistemic =
      (sum_mu2 / static_cast<double>(draws) - predicted * predicted).clamp_min(0);
  const Tensor aleatoric = sum_var / static_cast<double>(draws);
  const Tensor predicted_c = predicted * scale + mean;
  const Tensor std_c = (epistemic + aleatoric).sqrt() * scale;
  const Tensor truth_c = test_y * scale + mean;

  // 5. How good: the interval coverage on the held-out year, the errors, and persistence (tomorrow
  // = today) as the baseline to beat.
  const double coverage = bayes::interval_coverage(predicted_c, std_c, truth_c, 2.0);
  const double rmse = (predicted_c - truth_c).pow(2).mean().sqrt().item<double>();
  const Tensor yesterday = celsius.narrow(0, train_end - 1, kHeldOut).unsqueeze(1);
  const double persistence = (yesterday - truth_c).pow(2).mean().sqrt().item<double>();
  const double mean_std = std_c.mean().item<double>();
  const double epistemic_share = (epistemic / (epistemic + aleatoric)).mean().item<double>();

  std::filesystem::create_directories(out_dir);
  const std::vector<double> mu = values_of(predicted_c), sd = values_of(std_c),
                            truth = values_of(truth_c);
  std::vector<double> day(mu.size()), lower(mu.size()), upper(mu.size());
  for (size_t i = 0; i < mu.size(); ++i) {
    day[i] = static_cast<double>(i);
    lower[i] = mu[i] - 2 * sd[i];
    upper[i] = mu[i] + 2 * sd[i];
  }
  examples::SvgPlot plot(
      "Bayesian LSTM: Seattle's daily maximum temperature in 2015, forecast a day ahead", 0,
      static_cast<double>(kHeldOut), -5, 40);
  plot.axis_labels("day of 2015 (held out)", "temperature (C)");
  plot.band(day, lower, upper, "#C0DEF0", "predictive mean +- 2 std");
  plot.line(day, mu, "#4F609C", "predictive mean");
  plot.points(day, truth, "black", "observed");
  const std::string svg = out_dir + "/bnn_forecast.svg", csv = out_dir + "/bnn_forecast.csv";
  plot.save(svg);
  std::ofstream rows(csv);
  rows << "day,observed,mean,std\n";
  for (size_t i = 0; i < mu.size(); ++i) {
    rows << i << "," << truth[i] << "," << mu[i] << "," << sd[i] << "\n";
  }

  std::printf("wrote %s and %s\n", svg.c_str(), csv.c_str());
  std::printf("held-out days inside mean +- 2 std:   %.3f (a calibrated forecast: 0.954)\n",
              coverage);
  std::printf("RMSE of the mean: %.2f C (persistence, tomorrow = today: %.2f C)\n", rmse,
              persistence);
  std::printf("mean predictive std: %.2f C, of which weight uncertainty %.1f%% of the variance\n",
              mean_std, 100 * epistemic_share);
  std::printf("training %.1f s\n", train_s);
  std::printf(
      "{\"coverage\": %.4f, \"rmse\": %.4f, \"persistence_rmse\": %.4f, \"mean_std\": %.4f, "
      "\"train_s\": %.2f}\n",
      coverage, rmse, persistence, mean_std, train_s);
}
