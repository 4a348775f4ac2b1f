// nn::functional::linear_relu and the Linear + ReLU pairs nn::Sequential runs with it: the same
// bits as relu(linear(...)) and as the two modules' forwards, values and gradients, in float32 and
// float64, training and eval, with and without grad mode; gradients against finite differences;
// errors naming the op.

#include <functional>
#include <string>
#include <vector>

#include "bg/core/autograd/node.h"
#include "bg/nn.h"
#include "test_util.h"

using namespace bg;
namespace nn = bg::nn;
namespace F = bg::nn::functional;
using bg::test::check_error;
using bg::test::check_gradients;

namespace {

// The gradients of sum(out * g) with respect to `inputs`, g drawn once per shape and dtype.
std::vector<Tensor> gradients(const Tensor& out, const std::vector<Tensor>& inputs) {
  Generator generator(5);
  const Tensor g = randn(out.sizes(), out.dtype(), &generator);
  return autograd::grad({out}, inputs, {g});
}

void check_all_equal(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("tensor ", i);
    CHECK(equal(actual[i], expected[i]));
  }
}

// The seed MLP's shape, 3-8-8-2, with its Linear + ReLU pairs (fused by Sequential) or with an
// Identity between each Linear and its ReLU (so that nothing is fused). Both draw the same
// parameters from the same seed.
nn::Sequential mlp(bool fusable, Dtype dtype) {
  manual_seed(61);
  nn::Sequential net;
  for (int64_t layer = 0; layer < 2; ++layer) {
    net->push_back(nn::Linear(layer == 0 ? 3 : 8, 8));
    if (!fusable) net->push_back(nn::Identity());
    net->push_back(nn::ReLU());
  }
  net->push_back(nn::Linear(8, 2));
  net->to(dtype);
  return net;
}

}  // namespace

TEST_CASE("linear_relu is relu(linear(...)) bit for bit, values and gradients") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator generator(3);
    const auto draw = [&](const Shape& sizes) {
      return randn(sizes, dtype, &generator).requires_grad_();
    };
    const Tensor weight = draw({20, 30}), bias = draw({20});
    // 2-d, 3-d (leading dims folded into the rows), 1-d, a tall batch (the small kernel's row
    // chunks) and a non-contiguous input.
    for (const Tensor& input :
         {draw({7, 30}), draw({2, 5, 30}), draw({30}), draw({1100, 30}), draw({30, 9}).t()}) {
      for (const Tensor& b : {bias, Tensor()}) {
        INFO(describe(input), b.defined() ? " with" : " without", " bias in ", dtype_name(dtype));
        const Tensor fused = F::linear_relu(input, weight, b);
        const Tensor unfused = F::relu(F::linear(input, weight, b));
        CHECK(equal(fused, unfused));
        std::vector<Tensor> inputs{input, weight};
        if (b.defined()) inputs.push_back(b);
        check_all_equal(gradients(fused, inputs), gradients(unfused, inputs));
      }
    }
  }
}

TEST_CASE("linear_relu: gradients agree with finite differences") {
  // The bias broadcasts over the rows (its gradient is a sum over them); non-contiguous inputs.
  const auto linear_relu = [](const std::vector<Tensor>& in) {
    return F::linear_relu(in[0], in[1], in[2]);
  };
  check_gradients(linear_relu,
                  {test::strided_leaf({4, 3}, 1), test::leaf({5, 3}, 2), test::leaf({5}, 3)});
  check_gradients(linear_relu, {test::leaf({2, 4, 3}, 4), test::leaf({3, 5}, 5).t(),
                                test::strided_leaf({5}, 6)});
}

TEST_CASE("linear_relu names the shapes and dtypes it cannot use") {
  check_error({"linear_relu", "float32[2, 3]", "in_features 4"}, [] {
    F::linear_relu(zeros({2, 3}), zeros({5, 4}), zeros({5}));
  });
  check_error({"linear_relu", "2-d weight", "float32[5]"}, [] {
    F::linear_relu(zeros({2, 3}), zeros({5}), zeros({5}));
  });
  check_error({"addmm_relu", "float32[4]", "does not broadcast"}, [] {
    F::linear_relu(zeros({2, 3}), zeros({5, 3}), zeros({4}));
  });
  check_error({"addmm_relu", "float64", "float32"}, [] {
    F::linear_relu(zeros({2, 3}, kFloat64), zeros({5, 3}), zeros({5}));
  });
}

TEST_CASE("Sequential runs Linear + ReLU fused with the bits of the modules one by one") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (bool training : {true, false}) {
      INFO(dtype_name(dtype), training ? ", training" : ", eval");
      nn::Sequential fused = mlp(true, dtype), unfused = mlp(false, dtype);
      fused->train(training);
      unfused->train(training);
      Generator generator(7);
      const Tensor x = randn({70, 3}, dtype, &generator).requires_grad_();
      const Tensor out = fused(x), expected = unfused(x);
      CHECK(equal(out, expected));
      // The last Linear's input came from one fused node (from ReLU's own node when unfused).
      CHECK(std::string(out.grad_fn()->next()[1]->name()) == "AddmmReluBackward");
      CHECK(std::string(expected.grad_fn()->next()[1]->name()) == "ReluBackward");
      std::vector<Tensor> fused_inputs{x}, unfused_inputs{x};
      for (const Tensor& p : fused->parameters()) fused_inputs.push_back(p);
      for (const Tensor& p : unfused->parameters()) unfused_inputs.push_back(p);
      check_all_equal(gradients(out, fused_inputs), gradients(expected, unfused_inputs));
      NoGradGuard no_grad;
      const Tensor plain = fused(x.detach());
      CHECK_FALSE(plain.requires_grad());
      CHECK(equal(plain, unfused(x.detach())));
    }
  }
}

TEST_CASE("Sequential with a fused pair keeps the Linear's error message") {
  nn::Sequential net(nn::Linear(3, 4), nn::ReLU());
  check_error({"Linear", "in_features = 3", "float32[2, 5]"}, [&] { net(zeros({2, 5})); });
}
