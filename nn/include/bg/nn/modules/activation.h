#pragma once
// Activation layers: ReLU, LeakyReLU, ELU, GELU, SiLU, Tanh, Sigmoid, Softplus, Softmax,
// LogSoftmax. Each applies the nn::functional function of the same name.

#include <string>

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

/// max(x, 0).
class ReLUImpl : public Module {
 public:
  ReLUImpl() : Module("ReLU") {}
  Tensor forward(const Tensor& input);
};
BG_MODULE(ReLU);

struct LeakyReLUOptions {
  BG_ARG(double, negative_slope) = 0.01;
};

/// x for x >= 0, negative_slope x below.
class LeakyReLUImpl : public Module {
 public:
  explicit LeakyReLUImpl(const LeakyReLUOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  LeakyReLUOptions options;
};
BG_MODULE(LeakyReLU);

struct ELUOptions {
  BG_ARG(double, alpha) = 1.0;
};

/// x for x > 0, alpha (e^x - 1) below.
class ELUImpl : public Module {
 public:
  explicit ELUImpl(const ELUOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  ELUOptions options;
};
BG_MODULE(ELU);

struct GELUOptions {
  /// "none" (the exact x Phi(x)) or "tanh" (its tanh approximation).
  BG_ARG(std::string, approximate) = "none";
};

/// x Phi(x), Phi the standard normal CDF.
class GELUImpl : public Module {
 public:
  explicit GELUImpl(const GELUOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  GELUOptions options;
};
BG_MODULE(GELU);

/// x sigmoid(x) (also called swish).
class SiLUImpl : public Module {
 public:
  SiLUImpl() : Module("SiLU") {}
  Tensor forward(const Tensor& input);
};
BG_MODULE(SiLU);

class TanhImpl : public Module {
 public:
  TanhImpl() : Module("Tanh") {}
  Tensor forward(const Tensor& input);
};
BG_MODULE(Tanh);

/// 1 / (1 + e^-x).
class SigmoidImpl : public Module {
 public:
  SigmoidImpl() : Module("Sigmoid") {}
  Tensor forward(const Tensor& input);
};
BG_MODULE(Sigmoid);

struct SoftplusOptions {
  BG_ARG(double, beta) = 1.0;
  /// Above beta x > threshold the layer returns x itself.
  BG_ARG(double, threshold) = 20.0;
};

/// log(1 + exp(beta x)) / beta, a smooth ReLU.
class SoftplusImpl : public Module {
 public:
  explicit SoftplusImpl(const SoftplusOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  SoftplusOptions options;
};
BG_MODULE(Softplus);

struct SoftmaxOptions {
  SoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: `Softmax(1)` reads well
  BG_ARG(int64_t, dim);
};

/// exp(x) / sum(exp(x)) along dim.
class SoftmaxImpl : public Module {
 public:
  explicit SoftmaxImpl(const SoftmaxOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  SoftmaxOptions options;
};
BG_MODULE(Softmax);

using LogSoftmaxOptions = SoftmaxOptions;

/// log(softmax(x)) along dim, computed without overflow.
class LogSoftmaxImpl : public Module {
 public:
  explicit LogSoftmaxImpl(const LogSoftmaxOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  LogSoftmaxOptions options;
};
BG_MODULE(LogSoftmax);

}  // namespace bg::nn

BG_API_END
