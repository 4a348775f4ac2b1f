// BayesianModule<M> forwards any arguments to M::forward and returns what it returns, with one
// draw per call. (That a call M::forward cannot take is a compile error is checked by
// tests/bayes/compile_errors, built by ctest.)

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <tuple>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::BayesianModule;
using bayes::test::draw_of;
using bayes::test::gaussian_of;

namespace {

// An Elman RNN written by hand: it reads its weights at every time step.
// forward(x [T, B, in], h0 [B, hidden]) -> (outputs [T, B, hidden], last state [B, hidden]).
struct TinyRnnImpl : nn::Module {
  TinyRnnImpl(int64_t in, int64_t hidden) : Module("TinyRnn") {
    w_ih = register_parameter("w_ih", randn({hidden, in}, kFloat64) * 0.5);
    w_hh = register_parameter("w_hh", randn({hidden, hidden}, kFloat64) * 0.5);
  }
  std::tuple<Tensor, Tensor> forward(const Tensor& x, const Tensor& h0) {
    Tensor h = h0;
    std::vector<Tensor> outputs;
    for (int64_t t = 0; t < x.size(0); ++t) {
      h = (x[t].matmul(w_ih.t()) + h.matmul(w_hh.t())).tanh();
      outputs.push_back(h);
    }
    return {stack(outputs), h};
  }
  Tensor w_ih, w_hh;
};
BG_MODULE(TinyRnn);

// Attention-like: softmax(q k^T + mask) v W^T, four arguments.
struct TinyAttentionImpl : nn::Module {
  explicit TinyAttentionImpl(int64_t dim) : Module("TinyAttention") {
    proj = register_parameter("proj", randn({dim, dim}, kFloat64) * 0.5);
  }
  Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask) {
    return (q.matmul(k.transpose(-1, -2)) + mask).softmax(-1).matmul(v).matmul(proj.t());
  }
  Tensor proj;
};
BG_MODULE(TinyAttention);

// The same recurrence, with given weights.
std::tuple<Tensor, Tensor> unrolled(const Tensor& x, const Tensor& h0, const Tensor& w_ih,
                                    const Tensor& w_hh) {
  Tensor h = h0;
  std::vector<Tensor> outputs;
  for (int64_t t = 0; t < x.size(0); ++t) {
    h = (x[t].matmul(w_ih.t()) + h.matmul(w_hh.t())).tanh();
    outputs.push_back(h);
  }
  return {stack(outputs), h};
}

}  // namespace

TEST_CASE("an RNN-like module: (x, state) in, a tuple out, one weight draw per call") {
  manual_seed(31);
  TinyRnn rnn(2, 3);
  BayesianModule bnn(rnn);
  static_assert(std::is_same_v<decltype(bnn), BayesianModule<TinyRnnImpl>>);
  const Tensor x = randn({5, 4, 2}, kFloat64), h0 = zeros({4, 3}, kFloat64);
  auto [outputs, last] = bnn(x, h0);
  static_assert(std::is_same_v<decltype(bnn(x, h0)), std::tuple<Tensor, Tensor>>);
  CHECK(outputs.sizes() == Shape{5, 4, 3});
  // All five steps used one sample of each weight: the unrolled recurrence with that sample.
  const Tensor w_ih = draw_of(gaussian_of(*bnn, "w_ih"));
  const Tensor w_hh = draw_of(gaussian_of(*bnn, "w_hh"));
  auto [expected, expected_last] = unrolled(x, h0, w_ih, w_hh);
  test::check_close(outputs, test::values(expected), 1e-14, 1e-14);
  test::check_close(last, test::values(expected_last), 1e-14, 1e-14);
  // The next call draws again, and the gradient reaches mu through every step.
  auto [again, again_last] = bnn(x, last.detach());
  CHECK_FALSE(equal(draw_of(gaussian_of(*bnn, "w_hh")), w_hh));
  (again.sum() + outputs.sum()).backward();
  CHECK(gaussian_of(*bnn, "w_hh").mu.grad().abs().sum().item<double>() > 0);
  // The type-erased handle runs one-tensor modules only, and says so.
  BayesianModule<> erased = bnn;
  test::check_error(
      {"BayesianModule", "TinyRnn's forward does not take one tensor", "typed holder"},
      [&] { erased(x); });
}

TEST_CASE("an attention-like module: four arguments, a fresh draw per call") {
  manual_seed(32);
  TinyAttention attention(4);
  BayesianModule bnn(attention);
  const Tensor q = randn({2, 3, 4}, kFloat64), k = randn({2, 5, 4}, kFloat64);
  const Tensor v = randn({2, 5, 4}, kFloat64), mask = zeros({3, 5}, kFloat64);
  const Tensor out = bnn(q, k, v, mask);
  const Tensor proj = draw_of(gaussian_of(*bnn, "proj"));
  test::check_close(
      out,
      test::values((q.matmul(k.transpose(-1, -2)) + mask).softmax(-1).matmul(v).matmul(proj.t())),
      1e-14, 1e-14);
  CHECK_FALSE(equal(bnn(q, k, v, mask), out));
  bnn->set_mode(bayes::SampleMode::Mean);
  CHECK(equal(bnn(q, k, v, mask), bnn(q, k, v, mask)));
}

TEST_CASE("existing one-tensor code: the holder, the erased handle, containers, helpers") {
  manual_seed(33);
  nn::Sequential net(nn::Linear(2, 3), nn::ReLU(), nn::Linear(3, 1));
  bayes::BayesianModule bnn(net);
  static_assert(std::is_same_v<decltype(bnn), BayesianModule<nn::SequentialImpl>>);
  const Tensor x = randn({4, 2});
  CHECK(bnn(x).sizes() == Shape{4, 1});
  CHECK(bnn->kl_divergence().item<double>() > 0);
  CHECK(bayes::predict(bnn, x, 3).mean.sizes() == Shape{4, 1});
  CHECK(bayes::elbo_loss(bnn(x).pow(2).mean(), bnn, 100).dim() == 0);
  // A BNN inside a container runs through its one-tensor forward.
  nn::Sequential outer(bnn, nn::Tanh());
  CHECK(outer(x).sizes() == Shape{4, 1});
  // The erased handle and the typed one are the same BNN.
  BayesianModule<> erased = bnn;
  CHECK(erased.get() == bnn.get());
  bnn->set_mode(bayes::SampleMode::Mean);
  CHECK(equal(erased(x), bnn(x)));
}
