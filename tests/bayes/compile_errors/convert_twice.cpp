// Must not compile: converting a BayesianModule again, with options, would put a second posterior
// over each mu and rho. (`BayesianModule other(bnn)` is a copy of the handle and compiles.)
#include <bg/bayes.h>

void convert_twice() {
  bg::nn::Linear linear(2, 3);
  bg::bayes::BayesianModule bnn(linear);
  bg::bayes::BayesianModule twice(bnn, bg::bayes::BayesianOptions().prior("laplace"));
}
