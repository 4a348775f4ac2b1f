// A tiny MLP written with raw tensor ops, trained by hand-written gradient descent on
// y = sin(1.5 x): the smallest complete use of tensors and autograd.
//
//   build/release/examples/tiny_mlp [--help]

#include <bg/core.h>

#include <cmath>
#include <cstdio>

#include "common/cli.h"

int main(int argc, char** argv) {
  examples::Cli("tiny_mlp",
                "A 1-32-32-1 MLP written with raw tensor ops, trained by hand on sin(1.5 x).")
      .parse(argc, argv);
  bg::manual_seed(0);

  // 256 points of y = sin(1.5 x) + noise on [-5, 5].
  const bg::Tensor x = bg::linspace(-5, 5, 256).unsqueeze(1);
  const bg::Tensor y = (x * 1.5).sin() + 0.1 * bg::randn({256, 1});

  // Parameters of a 1-32-32-1 network, scaled like PyTorch's default initialization.
  auto parameter = [](int64_t in, int64_t out) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    return ((bg::rand({in, out}) * 2 - 1) * bound).requires_grad_();
  };
  std::vector<bg::Tensor> params = {parameter(1, 32),  bg::zeros({32}, bg::requires_grad()),
                                    parameter(32, 32), bg::zeros({32}, bg::requires_grad()),
                                    parameter(32, 1),  bg::zeros({1}, bg::requires_grad())};
  auto forward = [&](const bg::Tensor& input) {
    bg::Tensor h = (input.matmul(params[0]) + params[1]).tanh();
    h = (h.matmul(params[2]) + params[3]).tanh();
    return h.matmul(params[4]) + params[5];
  };

  const double learning_rate = 0.1;
  for (int step = 0; step <= 3000; ++step) {
    const bg::Tensor loss = (forward(x) - y).pow(2).mean();
    for (bg::Tensor& p : params) p.set_grad({});  // gradients accumulate: reset them each step
    loss.backward();
    {
      bg::NoGradGuard no_grad;  // the update itself is not part of the graph
      for (bg::Tensor& p : params) p.sub_(p.grad() * learning_rate);
    }
    if (step % 500 == 0) std::printf("step %4d   loss %.5f\n", step, loss.item<double>());
  }
  const bg::Tensor rmse = (forward(x) - (x * 1.5).sin()).pow(2).mean().sqrt();
  std::printf("RMSE of the fit against sin(1.5 x): %.4f\n", rmse.item<double>());
}
