// A BayesianModule over a Sequential whose Linear + ReLU pairs run fused
// (nn::functional::linear_relu, in the GEMM's epilogue also for the S draws of a vectorised pass):
// the same bits as the same network with an Identity between each Linear and its ReLU (nothing
// fused), for a training step's forward and gradients under each estimator, forward_samples and
// bayes::predict.

#include <bg/bayes.h>
#include <bg/core/autograd/node.h>
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;

namespace {

// The seed MLP 1-20-20-1 with ReLU, fusable or with Identity between each Linear and its ReLU, as
// a BNN of wide posteriors (so that the ReLUs cut); both draw the same numbers from one seed.
BayesianModule<> seed_bnn(bool fusable, Dtype dtype, const std::string& estimator) {
  manual_seed(71);
  nn::Sequential net;
  for (int64_t layer = 0; layer < 2; ++layer) {
    net->push_back(nn::Linear(layer == 0 ? 1 : 20, 20));
    if (!fusable) net->push_back(nn::Identity());
    net->push_back(nn::ReLU());
  }
  net->push_back(nn::Linear(20, 1));
  net->to(dtype);
  return BayesianModule(
      net, BayesianOptions().estimator(estimator).posterior({"gaussian", {{"rho", -1.0}}}));
}

// Whether a node called `name` computed `t` or one of the tensors it came from.
bool graph_has(const Tensor& t, const std::string& name) {
  std::vector<const autograd::Node*> pending{t.grad_fn().get()};
  std::set<const autograd::Node*> seen;
  while (!pending.empty()) {
    const autograd::Node* node = pending.back();
    pending.pop_back();
    if (node == nullptr || !seen.insert(node).second) continue;
    if (node->name() == name) return true;
    for (const auto& next : node->next()) pending.push_back(next.get());
  }
  return false;
}

void check_all_equal(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("tensor ", i);
    CHECK(equal(actual[i], expected[i]));
  }
}

}  // namespace

TEST_CASE("a BNN's fused Linear + ReLU pairs give the bits of the unfused chain") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const char* estimator : {"reparameterization", "local_reparameterization", "flipout"}) {
      INFO(estimator, " in ", dtype_name(dtype));
      BayesianModule fused = seed_bnn(true, dtype, estimator);
      BayesianModule unfused = seed_bnn(false, dtype, estimator);
      const Tensor x = linspace(-3, 3, 64, dtype).unsqueeze(1);
      // A training step's forward pass and gradients (the same draws from the same seed).
      manual_seed(72);
      const Tensor out = fused(x);
      const std::vector<Tensor> fused_grads =
          autograd::grad({out.pow(2).sum()}, fused->parameters());
      manual_seed(72);
      const Tensor expected = unfused(x);
      const std::vector<Tensor> unfused_grads =
          autograd::grad({expected.pow(2).sum()}, unfused->parameters());
      CHECK(equal(out, expected));
      check_all_equal(fused_grads, unfused_grads);
    }
  }
}

TEST_CASE("forward_samples and bayes::predict through fused Linear + ReLU pairs") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    BayesianModule fused = seed_bnn(true, dtype, "reparameterization");
    BayesianModule unfused = seed_bnn(false, dtype, "reparameterization");
    const Tensor x = linspace(-3, 3, 50, dtype).unsqueeze(1);
    // The vectorised pass (S draws of each weight, one batched GEMM per layer), with gradients.
    manual_seed(73);
    const Tensor out = fused->forward_samples(x, 6);
    const std::vector<Tensor> fused_grads = autograd::grad({out.pow(2).sum()}, fused->parameters());
    manual_seed(73);
    const Tensor expected = unfused->forward_samples(x, 6);
    const std::vector<Tensor> unfused_grads =
        autograd::grad({expected.pow(2).sum()}, unfused->parameters());
    CHECK(equal(out, expected));
    // The draws of each hidden layer came from one fused batched GEMM.
    CHECK(graph_has(out, "BaddbmmReluBackward"));
    CHECK_FALSE(graph_has(out, "ReluBackward"));
    CHECK(graph_has(expected, "ReluBackward"));
    check_all_equal(fused_grads, unfused_grads);
    // bayes::predict's chunks of draws.
    manual_seed(74);
    const bayes::Prediction prediction = bayes::predict(fused, x, 300);
    manual_seed(74);
    const bayes::Prediction reference = bayes::predict(unfused, x, 300);
    CHECK(equal(prediction.mean, reference.mean));
    CHECK(equal(prediction.std, reference.std));
  }
}
