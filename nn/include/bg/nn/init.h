#pragma once
// nn::init: in-place initializers, as in torch.nn.init. They run under NoGradGuard (so they work
// on parameters that require grad) and draw from the default generator (bg::manual_seed).

#include <string>

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::nn::init {

/// How a layer's nonlinearity scales the recommended gain (calculate_gain).
enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };

/// The gain for `nonlinearity` (LeakyReLU uses `param` as its negative slope, 0.01 by default).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

/// (fan_in, fan_out) of a weight of at least 2 dims: [out, in, k...] counts in * k and out * k.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& weight);

enum class FanMode { FanIn, FanOut };

Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0);
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0);
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
/// U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0);
/// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1.0);
/// U(-b, b) with b = gain * sqrt(3 / fan), gain from `nonlinearity` and `a` (He et al., 2015).
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                         Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
/// N(0, std^2) with std = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
/// A (semi-)orthogonal matrix (from the QR decomposition of a Gaussian matrix), times `gain`; a
/// tensor of more than 2 dims is treated as [size(0), rest].
Tensor& orthogonal_(Tensor& t, double gain = 1.0);

}  // namespace bg::nn::init

BG_API_END
