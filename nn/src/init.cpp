#include "bg/nn/init.h"

#include <Eigen/QR>
#include <cmath>

namespace bg::nn::init {

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU:
      return std::sqrt(2.0 / (1.0 + param * param));
  }
  return 1.0;
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& weight) {
  BG_CHECK(weight.dim() >= 2, "calculate_fan_in_and_fan_out",
           "fan in and fan out need a tensor of at least 2 dims, got ", describe(weight));
  int64_t receptive = 1;
  for (int64_t d = 2; d < weight.dim(); ++d) receptive *= weight.size(d);
  return {weight.size(1) * receptive, weight.size(0) * receptive};
}

namespace {
double fan(const Tensor& t, FanMode mode) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return static_cast<double>(mode == FanMode::FanIn ? fan_in : fan_out);
}
}  // namespace

Tensor& uniform_(Tensor& t, double low, double high) {
  NoGradGuard no_grad;
  return t.uniform_(low, high);
}

Tensor& normal_(Tensor& t, double mean, double std) {
  NoGradGuard no_grad;
  return t.normal_(mean, std);
}

Tensor& constant_(Tensor& t, double value) {
  NoGradGuard no_grad;
  return t.fill_(value);
}

Tensor& zeros_(Tensor& t) { return constant_(t, 0.0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0); }

Tensor& xavier_uniform_(Tensor& t, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double a = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(t, -a, a);
}

Tensor& xavier_normal_(Tensor& t, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity) {
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / fan(t, mode));
  return uniform_(t, -bound, bound);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity) {
  return normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan(t, mode)));
}

Tensor& orthogonal_(Tensor& t, double gain) {
  BG_CHECK(t.dim() >= 2, "orthogonal_", "expected a tensor of at least 2 dims, got ", describe(t));
  const int64_t rows = t.size(0), cols = t.numel() / rows;
  // QR of a Gaussian matrix with more rows than columns; Q's columns are orthonormal.
  const bool transpose = rows < cols;
  const int64_t tall = transpose ? cols : rows, narrow = transpose ? rows : cols;
  const Tensor gaussian = randn({tall, narrow}, kFloat64).contiguous();
  Eigen::MatrixXd a =
      Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          gaussian.data_ptr<double>(), tall, narrow);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(tall, narrow);
  // Make the decomposition unique (as PyTorch does): multiply by the signs of R's diagonal.
  const Eigen::VectorXd signs = qr.matrixQR().diagonal().array().sign();
  q = q * signs.asDiagonal();
  if (transpose) q.transposeInPlace();
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> result = q * gain;
  const Tensor values = from_data(result.data(), kFloat64, rows * cols, {rows, cols});
  NoGradGuard no_grad;
  t.copy_(values.reshape(t.sizes()));
  return t;
}

}  // namespace bg::nn::init
