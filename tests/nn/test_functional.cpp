// nn::functional (losses aside, see test_losses.cpp): values against naive loops and closed forms,
// gradients against finite differences, dropout's statistics, error messages.

#include <cmath>
#include <functional>
#include <numbers>

#include "bg/nn.h"
#include "test_util.h"

using namespace bg;
namespace F = bg::nn::functional;
using bg::test::check_close;
using bg::test::check_error;
using bg::test::check_gradients;
using bg::test::values;

namespace {

// f applied to each element of `x` (row-major), by a scalar reference formula.
std::vector<double> map(const Tensor& x, const std::function<double(double)>& f) {
  std::vector<double> out = values(x);
  for (double& v : out) v = f(v);
  return out;
}

// Mean and biased variance of the elements of `v` at the given positions.
std::pair<double, double> moments(const std::vector<double>& v, const std::vector<size_t>& at) {
  double mean = 0, var = 0;
  for (size_t i : at) mean += v[i];
  mean /= static_cast<double>(at.size());
  for (size_t i : at) var += (v[i] - mean) * (v[i] - mean);
  return {mean, var / static_cast<double>(at.size())};
}

// (x - mean) / sqrt(var + eps) over each group of row-major positions `group_of(i)` belongs to,
// then times weight[channel_of(i)] plus bias[channel_of(i)] (when given).
std::vector<double> naive_normalize(const Tensor& input, int64_t groups,
                                    const std::function<int64_t(size_t)>& group_of, double eps,
                                    const std::vector<double>& weight = {},
                                    const std::vector<double>& bias = {},
                                    const std::function<int64_t(size_t)>& channel_of = {}) {
  const std::vector<double> x = values(input);
  std::vector<std::vector<size_t>> members(static_cast<size_t>(groups));
  for (size_t i = 0; i < x.size(); ++i) members[static_cast<size_t>(group_of(i))].push_back(i);
  std::vector<double> out(x.size());
  for (const auto& group : members) {
    const auto [mean, var] = moments(x, group);
    for (size_t i : group) out[i] = (x[i] - mean) / std::sqrt(var + eps);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = channel_of ? static_cast<size_t>(channel_of(i)) : i;
    if (!weight.empty()) out[i] *= weight[c];
    if (!bias.empty()) out[i] += bias[c];
  }
  return out;
}

}  // namespace

// ---- Linear and bilinear ------------------------------------------------------------------------

TEST_CASE("linear and bilinear match naive sums, with and without bias") {
  const Tensor x = test::leaf({2, 3}, 1), w = test::leaf({4, 3}, 2), b = test::leaf({4}, 3);
  const std::vector<double> xv = values(x), wv = values(w), bv = values(b);
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i) {
    for (int o = 0; o < 4; ++o) {
      double sum = bv[o];
      for (int k = 0; k < 3; ++k) sum += xv[i * 3 + k] * wv[o * 3 + k];
      expected.push_back(sum);
    }
  }
  check_close(F::linear(x, w, b), expected, 1e-12);

  // bilinear: y[n, o] = sum_ij x1[n, i] W[o, i, j] x2[n, j] + b[o], with leading dims [2, 3].
  const Tensor x1 = test::leaf({2, 3, 2}, 4), x2 = test::leaf({2, 3, 4}, 5);
  const Tensor weight = test::leaf({3, 2, 4}, 6), bias = test::leaf({3}, 7);
  const std::vector<double> a = values(x1), c = values(x2), wb = values(weight), bb = values(bias);
  std::vector<double> with_bias, without_bias;
  for (int n = 0; n < 6; ++n) {
    for (int o = 0; o < 3; ++o) {
      double sum = 0;
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 4; ++j) sum += a[n * 2 + i] * wb[(o * 2 + i) * 4 + j] * c[n * 4 + j];
      }
      without_bias.push_back(sum);
      with_bias.push_back(sum + bb[o]);
    }
  }
  const Tensor y = F::bilinear(x1, x2, weight, bias);
  CHECK(y.sizes() == Shape{2, 3, 3});
  check_close(y, with_bias, 1e-12);
  check_close(F::bilinear(x1, x2, weight), without_bias, 1e-12);
}

TEST_CASE("linear and bilinear: gradients agree with finite differences") {
  check_gradients([](const auto& in) { return F::linear(in[0], in[1], in[2]); },
                  {test::strided_leaf({2, 3}, 1), test::leaf({4, 3}, 2), test::leaf({4}, 3)});
  check_gradients([](const auto& in) { return F::bilinear(in[0], in[1], in[2], in[3]); },
                  {test::strided_leaf({3, 2}, 4), test::leaf({3, 3}, 5), test::leaf({2, 2, 3}, 6),
                   test::leaf({2}, 7)});
}

TEST_CASE("linear and bilinear name the shapes they cannot use") {
  check_error({"linear", "float32[2, 3]", "in_features 4"}, [] {
    F::linear(zeros({2, 3}), zeros({5, 4}));
  });
  check_error({"bilinear", "[..., 2]", "[..., 3]", "float32[4, 2]", "float32[5, 3]"}, [] {
    F::bilinear(zeros({4, 2}), zeros({5, 3}), zeros({1, 2, 3}));
  });
  check_error({"bilinear", "3-d weight", "float32[2, 3]"}, [] {
    F::bilinear(zeros({4, 2}), zeros({4, 3}), zeros({2, 3}));
  });
  check_error({"bilinear", "bias", "[1]", "float32[2]"}, [] {
    F::bilinear(zeros({4, 2}), zeros({4, 3}), zeros({1, 2, 3}), zeros({2}));
  });
}

// ---- Activations --------------------------------------------------------------------------------

TEST_CASE("activations match their formulas elementwise") {
  const Tensor x = cat({linspace(-6, 6, 25, kFloat64), tensor({-30.0, 30.0, 1e-3})});
  const double pi = std::numbers::pi;
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> fn;
    std::function<double(double)> formula;
  };
  const std::vector<Case> cases{
      {"relu", [](const Tensor& t) { return F::relu(t); },
       [](double v) { return v > 0 ? v : 0.0; }},
      {"leaky_relu", [](const Tensor& t) { return F::leaky_relu(t, 0.2); },
       [](double v) { return v >= 0 ? v : 0.2 * v; }},
      {"elu", [](const Tensor& t) { return F::elu(t, 1.5); },
       [](double v) { return v > 0 ? v : 1.5 * std::expm1(v); }},
      {"gelu", [](const Tensor& t) { return F::gelu(t); },
       [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }},
      {"gelu tanh", [](const Tensor& t) { return F::gelu(t, "tanh"); },
       [pi](double v) {
         return 0.5 * v * (1 + std::tanh(std::sqrt(2 / pi) * (v + 0.044715 * v * v * v)));
       }},
      {"silu", [](const Tensor& t) { return F::silu(t); },
       [](double v) { return v / (1 + std::exp(-v)); }},
      {"softplus", [](const Tensor& t) { return F::softplus(t, 2.0, 10.0); },
       [](double v) { return 2 * v > 10 ? v : std::log1p(std::exp(2 * v)) / 2; }},
      {"sigmoid", [](const Tensor& t) { return F::sigmoid(t); },
       [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"tanh", [](const Tensor& t) { return F::tanh(t); }, [](double v) { return std::tanh(v); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    check_close(c.fn(x), map(x, c.formula), 1e-12, 1e-15);
    check_gradients([&c](const auto& in) { return c.fn(in[0]); },
                    {test::strided_leaf({3, 4}, 1, -3, 3)});
  }
  check_error({"gelu", "approximate", "'fast'"}, [&] { F::gelu(x, "fast"); });
}

TEST_CASE("softmax and log_softmax normalize along the given dim") {
  const Tensor x = test::leaf({2, 3}, 2);
  const std::vector<double> v = values(x);
  std::vector<double> expected(6), expected_log(6);
  for (int col = 0; col < 3; ++col) {  // dim 0: each column sums to 1
    const double z = std::exp(v[col]) + std::exp(v[3 + col]);
    for (int row = 0; row < 2; ++row) {
      expected[row * 3 + col] = std::exp(v[row * 3 + col]) / z;
      expected_log[row * 3 + col] = v[row * 3 + col] - std::log(z);
    }
  }
  check_close(F::softmax(x, 0), expected, 1e-14);
  check_close(F::log_softmax(x, -2), expected_log, 1e-14);
  check_gradients([](const auto& in) { return F::log_softmax(in[0], 1); },
                  {test::strided_leaf({3, 4}, 3)});
}

// ---- Dropout ------------------------------------------------------------------------------------

TEST_CASE("dropout zeroes a fraction p and scales the rest by 1 / (1 - p) in training") {
  manual_seed(7);
  const double p = 0.3;
  const Tensor x = ones({20000}, kFloat64).requires_grad_();
  const Tensor y = F::dropout(x, p);
  int64_t zeros_seen = 0;
  for (double v : values(y)) {
    if (v == 0.0) {
      ++zeros_seen;
    } else {
      CHECK(v == doctest::Approx(1 / (1 - p)).epsilon(1e-15));
    }
  }
  // Binomial(20000, 0.3): the standard deviation of the fraction is 0.0032.
  CHECK(static_cast<double>(zeros_seen) / 20000 == doctest::Approx(p).epsilon(0.05));
  // The gradient is the same mask: 1 / (1 - p) where kept, 0 where dropped.
  y.sum().backward();
  test::check_equal(x.grad(), y.detach());
  // The same seed draws the same mask.
  manual_seed(7);
  test::check_equal(F::dropout(x, p), y);
}

TEST_CASE("dropout is the identity in eval mode and for p = 0; p = 1 drops everything") {
  const Tensor x = test::leaf({3, 4}, 1);
  CHECK(F::dropout(x, 0.5, false).is_same(x));
  CHECK(F::dropout(x, 0.0).is_same(x));
  const Tensor planes = x.view({1, 3, 2, 2});
  CHECK(F::dropout2d(planes, 0.5, false).is_same(planes));
  const Tensor dropped = F::dropout(x, 1.0);
  check_close(dropped, std::vector<double>(12, 0.0), 0.0);
  dropped.sum().backward();
  check_close(x.grad(), std::vector<double>(12, 0.0), 0.0);
  check_error({"dropout", "[0, 1]", "1.5"}, [&] { F::dropout(x, 1.5); });
  check_error({"dropout2d", "[0, 1]", "-0.1"}, [&] { F::dropout2d(x, -0.1); });
  check_error({"dropout", "floating-point", "int64[2]"}, [] { F::dropout(tensor({1, 2})); });
}

TEST_CASE("dropout in place writes into its input") {
  manual_seed(3);
  Tensor x = ones({4, 5}, kFloat64);
  const Tensor y = F::dropout(x, 0.5, true, true);
  CHECK(y.is_same(x));
  for (double v : values(x)) CHECK((v == 0.0 || v == 2.0));
  // On a tensor computed from a leaf, autograd follows the in-place write.
  const Tensor leaf = ones({4, 5}, kFloat64).requires_grad_();
  manual_seed(3);
  const Tensor out = F::dropout(leaf * 1.0, 0.5, true, true);
  out.sum().backward();
  test::check_equal(leaf.grad(), x);
}

TEST_CASE("dropout2d drops whole channels") {
  manual_seed(11);
  const double p = 0.25;
  for (const Shape& sizes : {Shape{50, 40, 2, 3}, Shape{2000, 2, 3}}) {
    CAPTURE(sizes);
    const Tensor y = F::dropout2d(ones(sizes, kFloat64), p);
    const std::vector<double> v = values(y);
    int64_t planes = 0, dropped = 0;
    for (size_t start = 0; start < v.size(); start += 6) {  // one [2, 3] plane at a time
      ++planes;
      const double first = v[start];
      CHECK((first == 0.0 || first == doctest::Approx(1 / (1 - p))));
      for (size_t i = start; i < start + 6; ++i) CHECK(v[i] == first);
      if (first == 0.0) ++dropped;
    }
    // 2000 planes: the standard deviation of the dropped fraction is 0.0097.
    CHECK(static_cast<double>(dropped) / static_cast<double>(planes) ==
          doctest::Approx(p).epsilon(0.2));
  }
  check_error({"dropout2d", "[N, C, H, W] or [C, H, W]", "float32[4, 5]"}, [] {
    F::dropout2d(zeros({4, 5}));
  });
}

// ---- Normalization ------------------------------------------------------------------------------

TEST_CASE("batch_norm in training normalizes per channel and updates the running statistics") {
  const Tensor x = test::leaf({4, 3, 2}, 1);
  const Tensor w = test::leaf({3}, 2), b = test::leaf({3}, 3);
  Tensor running_mean = tensor({0.5, -0.5, 1.0}), running_var = tensor({2.0, 1.0, 0.5});
  const Tensor y = F::batch_norm(x, running_mean, running_var, w, b, true, 0.2, 1e-3);
  auto channel = [](size_t i) { return static_cast<int64_t>(i / 2 % 3); };
  check_close(y, naive_normalize(x, 3, channel, 1e-3, values(w), values(b), channel), 1e-12);
  // running = 0.8 running + 0.2 batch, with the unbiased variance (8 values per channel).
  const std::vector<double> xv = values(x);
  std::vector<double> expected_mean, expected_var;
  const std::vector<double> old_mean{0.5, -0.5, 1.0}, old_var{2.0, 1.0, 0.5};
  for (int c = 0; c < 3; ++c) {
    std::vector<size_t> at;
    for (size_t i = 0; i < xv.size(); ++i) {
      if (channel(i) == c) at.push_back(i);
    }
    const auto [mean, var] = moments(xv, at);
    expected_mean.push_back(0.8 * old_mean[c] + 0.2 * mean);
    expected_var.push_back(0.8 * old_var[c] + 0.2 * var * 8 / 7);
  }
  check_close(running_mean, expected_mean, 1e-14);
  check_close(running_var, expected_var, 1e-14);
  CHECK_FALSE(running_mean.requires_grad());
}

TEST_CASE("batch_norm in evaluation uses the running statistics") {
  const Tensor x = test::leaf({2, 2, 3}, 4);
  const Tensor mean = tensor({0.5, -1.0}), var = tensor({4.0, 0.25});
  const Tensor w = tensor({2.0, 3.0}), b = tensor({0.1, 0.2});
  std::vector<double> expected = values(x);
  for (size_t i = 0; i < expected.size(); ++i) {
    const size_t c = i / 3 % 2;
    expected[i] =
        (expected[i] - values(mean)[c]) / std::sqrt(values(var)[c] + 1e-5) * values(w)[c] +
        values(b)[c];
  }
  check_close(F::batch_norm(x, mean, var, w, b), expected, 1e-14);
  check_close(mean, {0.5, -1.0}, 0.0);  // untouched
}

TEST_CASE("batch_norm, layer_norm and group_norm: gradients agree with finite differences") {
  const Tensor x = test::strided_leaf({3, 2, 2}, 5);
  const Tensor w = test::leaf({2}, 6), b = test::leaf({2}, 7);
  check_gradients([](const auto& in) { return F::batch_norm(in[0], {}, {}, in[1], in[2], true); },
                  {x, w, b});
  check_gradients(
      [](const auto& in) {
        return F::batch_norm(in[0], tensor({0.1, 0.2}), tensor({1.5, 0.5}), in[1], in[2]);
      },
      {x, w, b});
  check_gradients(
      [](const auto& in) {
        return F::layer_norm(in[0], {2, 2}, in[1], in[2], 1e-3);
      },
      {x, test::leaf({2, 2}, 8), test::leaf({2, 2}, 9)});
  check_gradients([](const auto& in) { return F::group_norm(in[0], 2, in[1], in[2]); },
                  {test::strided_leaf({2, 4, 2}, 10), test::leaf({4}, 11), test::leaf({4}, 12)});
}

TEST_CASE("layer_norm normalizes each sample over its last dims") {
  const Tensor x = test::leaf({2, 3, 4}, 13);
  const Tensor w = test::leaf({3, 4}, 14), b = test::leaf({3, 4}, 15);
  // Over the last two dims: one group per sample, affine per (i, j) position.
  check_close(F::layer_norm(x, {3, 4}, w, b),
              naive_normalize(
                  x, 2, [](size_t i) { return static_cast<int64_t>(i / 12); }, 1e-5, values(w),
                  values(b), [](size_t i) { return static_cast<int64_t>(i % 12); }),
              1e-12);
  // Over the last dim only, without affine.
  check_close(F::layer_norm(x, {4}, {}, {}, 0.1),
              naive_normalize(
                  x, 6, [](size_t i) { return static_cast<int64_t>(i / 4); }, 0.1),
              1e-12);
  check_error({"layer_norm", "[3]", "float32[2, 4]"}, [] { F::layer_norm(zeros({2, 4}), {3}); });
  check_error({"layer_norm", "weight", "[4]", "float32[3]"}, [] {
    F::layer_norm(zeros({2, 4}), {4}, zeros({3}));
  });
}

TEST_CASE("group_norm normalizes each group of channels of each sample") {
  const Tensor x = test::leaf({2, 6, 3}, 16);
  const Tensor w = test::leaf({6}, 17), b = test::leaf({6}, 18);
  // Sample n, channel c, position l is element (n * 6 + c) * 3 + l; 3 groups of 2 channels.
  auto group = [](size_t i) { return static_cast<int64_t>(i / 3 / 6 * 3 + i / 3 % 6 / 2); };
  auto channel = [](size_t i) { return static_cast<int64_t>(i / 3 % 6); };
  check_close(F::group_norm(x, 3, w, b),
              naive_normalize(x, 6, group, 1e-5, values(w), values(b), channel), 1e-12);
  check_error({"group_norm", "6 channels", "4 groups"}, [&] { F::group_norm(x, 4); });
  check_error({"group_norm", "weight", "[6]", "float32[3]"},
              [&] { F::group_norm(x, 3, zeros({3})); });
}

TEST_CASE("batch_norm in training and group_norm take an empty batch, as PyTorch") {
  // F.group_norm(torch.zeros(0, 4, 3, 3), 2).shape == (0, 4, 3, 3); a BatchNorm2d in training
  // returns its empty input's shape and leaves its running statistics alone.
  const Tensor x = zeros({0, 4, 3, 3}, kFloat64).requires_grad_();
  const Tensor w = test::leaf({4}, 41), b = test::leaf({4}, 42);
  const Tensor grouped = F::group_norm(x, 2, w, b);
  CHECK(grouped.sizes() == Shape{0, 4, 3, 3});
  CHECK(F::group_norm(zeros({2, 0, 3}), 1).sizes() == Shape{2, 0, 3});
  const Tensor running_mean = full({4}, 1.0, kFloat64), running_var = full({4}, 2.0, kFloat64);
  const Tensor normalized = F::batch_norm(x, running_mean, running_var, w, b, true);
  CHECK(normalized.sizes() == Shape{0, 4, 3, 3});
  test::check_close(running_mean, {1, 1, 1, 1}, 0.0);
  test::check_close(running_var, {2, 2, 2, 2}, 0.0);
  (grouped.sum() + normalized.sum()).backward();
  test::check_close(w.grad(), {0, 0, 0, 0}, 0.0);
  CHECK(x.grad().sizes() == Shape{0, 4, 3, 3});
  // No channels at all.
  CHECK(F::batch_norm(zeros({2, 0}), {}, {}, {}, {}, true).sizes() == Shape{2, 0});
}

TEST_CASE("batch_norm names bad shapes and batches too small to normalize") {
  check_error({"batch_norm", "more than 1 value per channel", "float32[1, 3]"}, [] {
    F::batch_norm(zeros({1, 3}), {}, {}, {}, {}, true);
  });
  check_error({"batch_norm", "running_mean", "[3]", "float32[2]"}, [] {
    F::batch_norm(zeros({4, 3}), zeros({2}), ones({3}));
  });
  check_error({"batch_norm", "at least 2 dims", "float32[4]"},
              [] { F::batch_norm(zeros({4}), zeros({4}), ones({4})); });
  check_error({"batch_norm", "running_mean and running_var"}, [] {
    F::batch_norm(zeros({4, 3}), {}, {});
  });
}

// ---- Embedding and one_hot ----------------------------------------------------------------------

TEST_CASE("embedding looks up rows; the padding row gets no gradient") {
  const Tensor weight = test::leaf({5, 3}, 19);
  const Tensor indices = tensor({{4, 0, 2}, {2, 1, 4}});
  const Tensor out = F::embedding(indices, weight, 4);
  CHECK(out.sizes() == Shape{2, 3, 3});
  const std::vector<double> w = values(weight);
  std::vector<double> expected;
  for (int64_t index : test::ints(indices)) {
    for (int j = 0; j < 3; ++j) expected.push_back(w[static_cast<size_t>(index * 3 + j)]);
  }
  check_close(out, expected, 0.0);
  // Each row's gradient counts its uses (row 2: twice), except the padding row 4.
  (out * 2.0).sum().backward();
  check_close(weight.grad(), {2, 2, 2, 2, 2, 2, 4, 4, 4, 0, 0, 0, 0, 0, 0}, 0.0);
  // A negative padding_idx counts from the end: -1 is row 4 again.
  weight.set_grad({});
  F::embedding(indices, weight, -1).sum().backward();
  check_close(weight.grad(), {1, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0, 0}, 0.0);
  // (Finite differences do see the padding row's value: check with a row no index uses.)
  check_gradients([&](const auto& in) { return F::embedding(indices, in[0], 3); }, {weight});
}

TEST_CASE("embedding names bad indices") {
  const Tensor weight = zeros({5, 3});
  check_error({"embedding", "index 5", "5 embeddings"}, [&] {
    F::embedding(tensor({1, 5}), weight);
  });
  check_error({"embedding", "index -1"}, [&] { F::embedding(tensor({-1}), weight); });
  check_error({"embedding", "int64 indices", "float32[2]"},
              [&] { F::embedding(zeros({2}), weight); });
  check_error({"embedding", "2-d weight", "float32[5]"},
              [&] { F::embedding(tensor({1}), zeros({5})); });
}

TEST_CASE("one_hot marks each index; num_classes is inferred when -1") {
  const Tensor indices = tensor({{0, 2}, {1, 2}});
  const Tensor encoded = F::one_hot(indices);
  CHECK(encoded.dtype() == kInt64);
  CHECK(encoded.sizes() == Shape{2, 2, 3});
  CHECK(test::ints(encoded) == std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1});
  CHECK(F::one_hot(tensor({1}), 4).sizes() == Shape{1, 4});
  check_error({"one_hot", "class index 3", "3 classes"}, [] { F::one_hot(tensor({3}), 3); });
  check_error({"one_hot", "class index -2"}, [] { F::one_hot(tensor({-2, 1})); });
  check_error({"one_hot", "int64", "float32[2]"}, [] { F::one_hot(zeros({2})); });
  check_error({"one_hot", "empty"}, [] { F::one_hot(zeros({0}, kInt64)); });
}
