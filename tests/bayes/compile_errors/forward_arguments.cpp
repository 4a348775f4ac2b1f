// Must not compile: nn::Linear's forward takes one tensor, not a tensor and a number.
// tests/bayes/CMakeLists.txt builds this file and checks that the first error is BayesianModule's
// static_assert, with the module type and the argument types named before it.
#include <bg/bayes.h>

void call_with_wrong_arguments() {
  bg::nn::Linear linear(2, 3);
  bg::bayes::BayesianModule bnn(linear);
  const bg::Tensor x = bg::zeros({4, 2});
  bnn(x, 7);
}
