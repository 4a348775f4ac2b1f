// Convolution and pooling layers: output shapes and values against the functional ops, PyTorch's
// default initialization, repr strings (PyTorch 1.13's, with true/false), parameters, gradients
// through the layers (parameters included), and errors naming the layer.

#include <cmath>

#include "bg/nn.h"
#include "module_repr.h"
#include "test_util.h"

using namespace bg;
using bg::test::repr;
namespace F = bg::nn::functional;

namespace {

// `t` (thousands of elements) looks like U(-bound, bound): inside the bounds, reaching close to
// both, with mean 0 and standard deviation bound / sqrt(3).
void check_uniform(const Tensor& t, double bound) {
  const std::vector<double> v = test::values(t);
  double low = v[0], high = v[0], mean = 0, square = 0;
  for (double x : v) {
    low = std::min(low, x);
    high = std::max(high, x);
    mean += x;
    square += x * x;
  }
  mean /= static_cast<double>(v.size());
  const double std = std::sqrt(square / static_cast<double>(v.size()) - mean * mean);
  CHECK(low >= -bound);
  CHECK(high <= bound);
  CHECK(low < -0.99 * bound);
  CHECK(high > 0.99 * bound);
  CHECK(std::abs(mean) < 0.03 * bound);
  CHECK(std == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.03));
}

// Every element of `t` lies in [-bound, bound] (for tensors too small to check the distribution).
void check_within(const Tensor& t, double bound) {
  for (double x : test::values(t)) CHECK(std::abs(x) <= bound);
}

// The distinct values i * 37 mod n (a permutation of 0..n-1 when 37 does not divide n) as a
// float64 leaf: max pooling's maxima stay put within a finite-difference step.
Tensor scrambled_leaf(const Shape& sizes) {
  const int64_t n = numel_of(sizes);
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>(i * 37 % n));
  return tensor(v, sizes).requires_grad_();
}

std::vector<std::string> names(const nn::Module& module) {
  std::vector<std::string> out;
  for (const auto& item : module.named_parameters()) out.push_back(item.key());
  return out;
}

}  // namespace

// ---- Convolutions -------------------------------------------------------------------------------

TEST_CASE("Conv2d: shapes, PyTorch's init, parameters, repr") {
  manual_seed(1);
  // fan_in = 16 / 1 * 3 * 3 = 144; a grouped layer divides by the groups: 16 / 4 * 3 * 3 = 36.
  nn::Conv2d big(16, 32, 3);
  CHECK(big->weight.sizes() == Shape{32, 16, 3, 3});
  check_uniform(big->weight, 1 / std::sqrt(144.0));
  check_within(big->bias, 1 / std::sqrt(144.0));
  nn::Conv2d grouped(nn::Conv2dOptions(16, 32, 3).groups(4));
  CHECK(grouped->weight.sizes() == Shape{32, 4, 3, 3});
  check_uniform(grouped->weight, 1 / std::sqrt(36.0));

  nn::Conv2d conv(1, 6, 5);
  CHECK(names(*conv) == std::vector<std::string>{"weight", "bias"});
  CHECK(conv->parameters().size() == 2);
  CHECK(conv(zeros({2, 1, 28, 28})).sizes() == Shape{2, 6, 24, 24});
  CHECK(conv(zeros({1, 28, 28})).sizes() == Shape{6, 24, 24});
  // print(torch.nn.Conv2d(1, 6, 5)), and with every option set:
  CHECK(repr(*conv) == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))");
  nn::Conv2d custom(nn::Conv2dOptions(4, 6, Size2(2, 3))
                        .stride(Size2(2, 1))
                        .padding(1)
                        .dilation(Size2(1, 2))
                        .groups(2)
                        .bias(false));
  CHECK(repr(*custom) ==
        "Conv2d(4, 6, kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), dilation=(1, 2), "
        "groups=2, bias=false)");
  CHECK(names(*custom) == std::vector<std::string>{"weight"});
  CHECK(!custom->bias.defined());
}

TEST_CASE("Conv2d computes the functional convolution, and gradients flow to its parameters") {
  manual_seed(2);
  nn::Conv2d conv(nn::Conv2dOptions(4, 2, Size2(2, 3)).stride(2).padding(Size2(1, 0)).groups(2));
  conv->to(kFloat64);
  const Tensor x = test::leaf({2, 4, 5, 6}, 3);
  test::check_equal(conv(x), F::conv2d(x, conv->weight, conv->bias, 2, Size2(1, 0), 1, 2));
  test::check_gradients([&](const auto& in) { return conv(in[0]); }, {x, conv->weight, conv->bias});
}

TEST_CASE("Conv1d: shapes, init, repr, values and gradients") {
  manual_seed(3);
  // fan_in = 32 / 2 * 5 = 80.
  nn::Conv1d big(nn::Conv1dOptions(32, 64, 5).groups(2));
  CHECK(big->weight.sizes() == Shape{64, 16, 5});
  check_uniform(big->weight, 1 / std::sqrt(80.0));
  check_within(big->bias, 1 / std::sqrt(80.0));

  nn::Conv1d conv(nn::Conv1dOptions(4, 8, 3).stride(2).padding(1).dilation(2).groups(2));
  CHECK(repr(*nn::Conv1d(4, 8, 3)) == "Conv1d(4, 8, kernel_size=(3,), stride=(1,))");
  CHECK(repr(*nn::Conv1d(
            nn::Conv1dOptions(4, 8, 3).stride(2).padding(1).dilation(2).groups(2).bias(false))) ==
        "Conv1d(4, 8, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2, "
        "bias=false)");
  CHECK(conv(zeros({3, 4, 10})).sizes() == Shape{3, 8, 4});
  CHECK(conv(zeros({4, 10})).sizes() == Shape{8, 4});
  conv->to(kFloat64);
  const Tensor x = test::strided_leaf({2, 4, 7}, 4);
  test::check_equal(conv(x), F::conv1d(x, conv->weight, conv->bias, 2, 1, 2, 2));
  test::check_gradients([&](const auto& in) { return conv(in[0]); }, {x, conv->weight, conv->bias});
}

TEST_CASE("ConvTranspose2d: shapes, init, repr, values and gradients") {
  manual_seed(4);
  // The weight is [C_in, C_out / groups, kH, kW]; fan_in = 24 / 2 * 3 * 3 = 108, as PyTorch
  // computes it from that shape.
  nn::ConvTranspose2d big(nn::ConvTranspose2dOptions(16, 24, 3).groups(2));
  CHECK(big->weight.sizes() == Shape{16, 12, 3, 3});
  check_uniform(big->weight, 1 / std::sqrt(108.0));
  check_within(big->bias, 1 / std::sqrt(108.0));

  CHECK(repr(*nn::ConvTranspose2d(
            nn::ConvTranspose2dOptions(4, 2, 3).stride(2).padding(1).output_padding(1))) ==
        "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))");
  CHECK(repr(*nn::ConvTranspose2d(
            nn::ConvTranspose2dOptions(4, 2, 3).dilation(2).groups(2).bias(false))) ==
        "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=2, "
        "bias=false)");
  nn::ConvTranspose2d up(
      nn::ConvTranspose2dOptions(4, 2, 3).stride(2).padding(1).output_padding(1));
  // (H - 1) * 2 - 2 + 3 + 1 = 2 H: the layer doubles the size.
  CHECK(up(zeros({2, 4, 5, 6})).sizes() == Shape{2, 2, 10, 12});
  CHECK(up(zeros({4, 5, 6})).sizes() == Shape{2, 10, 12});
  up->to(kFloat64);
  const Tensor x = test::leaf({1, 4, 2, 3}, 5);
  test::check_equal(up(x), F::conv_transpose2d(x, up->weight, up->bias, 2, 1, 1));
  test::check_gradients([&](const auto& in) { return up(in[0]); }, {x, up->weight, up->bias});
}

TEST_CASE("convolution layers reject bad options and inputs, naming the layer") {
  test::check_error(
      {"Conv2d: in_channels = 3 and out_channels = 4 must be divisible by groups = 2"},
      [] { nn::Conv2d(nn::Conv2dOptions(3, 4, 3).groups(2)); });
  test::check_error({"Conv2d: the kernel size must be positive, got (0, 3)"},
                    [] { nn::Conv2d(3, 4, Size2(0, 3)); });
  test::check_error({"Conv1d: in_channels and out_channels must be positive, got 0 and 4"},
                    [] { nn::Conv1d(0, 4, 3); });
  test::check_error({"ConvTranspose2d: groups must be positive, got 0"},
                    [] { nn::ConvTranspose2d(nn::ConvTranspose2dOptions(2, 4, 3).groups(0)); });
  nn::Conv2d conv(3, 4, 3);
  test::check_error({"Conv2d: expected an input [N, C_in, H, W] or [C_in, H, W] with 3 channels "
                     "(in_channels), got float32[2, 4, 8, 8] on cpu"},
                    [&] {
                      conv(zeros({2, 4, 8, 8}));
                    });
  test::check_error({"Conv2d: expected an input", "got float32[3, 8] on cpu"}, [&] {
    conv(zeros({3, 8}));
  });
  test::check_error({"Conv1d: expected an input [N, C_in, L] or [C_in, L] with 2 channels"}, [] {
    nn::Conv1d(2, 4, 3)(zeros({1, 2, 3, 3}));
  });
  test::check_error({"ConvTranspose2d: expected an input [N, C_in, H, W] or [C_in, H, W] with 4 "
                     "channels (in_channels), got float32[1, 2, 3, 3] on cpu"},
                    [] {
                      nn::ConvTranspose2d(4, 2, 3)(zeros({1, 2, 3, 3}));
                    });
  // Geometry errors come from the op, with the shapes.
  test::check_error({"conv2d: the kernel [3, 3]", "float32[1, 3, 2, 2]"}, [&] {
    conv(zeros({1, 3, 2, 2}));
  });
}

// ---- Pooling ------------------------------------------------------------------------------------

TEST_CASE("pooling layers compute the functional ops and print like PyTorch") {
  const Tensor x = test::leaf({2, 3, 7, 6}, 6), signal = test::leaf({2, 3, 9}, 7);
  nn::MaxPool2d max2(
      nn::MaxPool2dOptions(Size2(2, 3)).stride(1).padding(1).dilation(2).ceil_mode(true));
  test::check_equal(max2(x), F::max_pool2d(x, Size2(2, 3), 1, 1, 2, true));
  nn::MaxPool1d max1(3);
  test::check_equal(max1(signal), F::max_pool1d(signal, 3));
  nn::AvgPool2d avg2(nn::AvgPool2dOptions(Size2(2, 3))
                         .stride(1)
                         .padding(1)
                         .ceil_mode(true)
                         .count_include_pad(false));
  test::check_equal(avg2(x), F::avg_pool2d(x, Size2(2, 3), 1, 1, true, false));
  nn::AvgPool1d avg1(nn::AvgPool1dOptions(3).stride(2).padding(1));
  test::check_equal(avg1(signal), F::avg_pool1d(signal, 3, 2, 1));
  nn::AdaptiveAvgPool2d adaptive(Size2(3, 4));
  test::check_equal(adaptive(x), F::adaptive_avg_pool2d(x, Size2(3, 4)));

  // The stride defaults to the kernel size; unbatched inputs keep their shape.
  CHECK(nn::MaxPool2d(2)(zeros({2, 3, 8, 8})).sizes() == Shape{2, 3, 4, 4});
  CHECK(nn::AvgPool2d(2)(zeros({3, 8, 8})).sizes() == Shape{3, 4, 4});
  CHECK(nn::AvgPool1d(2)(zeros({3, 8})).sizes() == Shape{3, 4});
  CHECK(nn::AdaptiveAvgPool2d(1)(zeros({2, 3, 5, 7})).sizes() == Shape{2, 3, 1, 1});
  CHECK(nn::MaxPool2dOptions(Size2(2, 3)).stride().w == 3);

  // print(torch.nn.MaxPool2d(2)), print(torch.nn.MaxPool2d((2, 3), stride=1, padding=1,
  // dilation=2, ceil_mode=True)), ... (PyTorch 1.13):
  CHECK(repr(*nn::MaxPool2d(2)) ==
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false)");
  CHECK(repr(*max2) ==
        "MaxPool2d(kernel_size=(2, 3), stride=1, padding=1, dilation=2, ceil_mode=true)");
  CHECK(repr(*max1) ==
        "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=false)");
  CHECK(repr(*nn::AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(repr(*avg2) == "AvgPool2d(kernel_size=(2, 3), stride=1, padding=1)");
  CHECK(repr(*nn::AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))");
  CHECK(repr(*avg1) == "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))");
  CHECK(repr(*nn::AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(repr(*adaptive) == "AdaptiveAvgPool2d(output_size=(3, 4))");

  // No parameters.
  CHECK(max2->parameters().empty());
  CHECK(adaptive->parameters().empty());
}

TEST_CASE("gradients flow through the pooling layers") {
  test::check_gradients(
      [](const auto& in) { return nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(1))(in[0]); },
      {test::leaf({1, 2, 4, 3}, 8)});
  test::check_gradients([](const auto& in) { return nn::AdaptiveAvgPool2d(Size2(2, 3))(in[0]); },
                        {test::strided_leaf({2, 2, 5, 4}, 9)});
  test::check_gradients([](const auto& in) { return nn::AvgPool1d(3)(in[0]); },
                        {test::leaf({2, 2, 7}, 10)});
  test::check_gradients([](const auto& in) { return nn::MaxPool2d(2)(in[0]); },
                        {scrambled_leaf({1, 3, 4, 4})});
  test::check_gradients([](const auto& in) { return nn::MaxPool1d(2)(in[0]); },
                        {scrambled_leaf({2, 6})});
}

TEST_CASE("pooling layers reject inputs of the wrong rank, naming the layer") {
  test::check_error({"MaxPool2d: expected an input [N, C, H, W] or [C, H, W], got float32[4, 4] "
                     "on cpu"},
                    [] {
                      nn::MaxPool2d(2)(zeros({4, 4}));
                    });
  test::check_error({"MaxPool1d: expected an input [N, C, L] or [C, L], got float32[4] on cpu"},
                    [] { nn::MaxPool1d(2)(zeros({4})); });
  test::check_error({"AvgPool2d: expected an input", "float32[1, 1, 1, 4, 4]"}, [] {
    nn::AvgPool2d(2)(zeros({1, 1, 1, 4, 4}));
  });
  test::check_error({"AvgPool1d: expected an input"}, [] { nn::AvgPool1d(2)(zeros({4})); });
  test::check_error({"AdaptiveAvgPool2d: expected an input"}, [] {
    nn::AdaptiveAvgPool2d(2)(zeros({4, 4}));
  });
  // Geometry errors come from the op, with the shapes.
  test::check_error({"max_pool2d: the input float32[1, 1, 3, 3] on cpu is too small"}, [] {
    nn::MaxPool2d(4)(zeros({1, 1, 3, 3}));
  });
}

TEST_CASE("a LeNet-style network trains one step") {
  manual_seed(5);
  nn::Sequential net(nn::Conv2d(1, 6, 5), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(6, 16, 5),
                     nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(256, 10));
  const Tensor x = randn({8, 1, 28, 28});
  const Tensor logits = net->forward(x);
  CHECK(logits.sizes() == Shape{8, 10});
  logits.pow(2).mean().backward();
  for (const auto& item : net->named_parameters()) {
    INFO(item.key());
    REQUIRE(item.value().grad().defined());
    CHECK(item.value().grad().sizes() == item.value().sizes());
    CHECK(item.value().grad().abs().sum().item<float>() > 0);
  }
}
