// Layers: outputs against formulas, gradients through the layer (parameters included), PyTorch's
// default initialization, repr strings (PyTorch's, with true/false), train/eval behaviour
// (BatchNorm's running statistics against PyTorch 1.13), shape errors; and the containers.

#include <cmath>

#include "bg/nn.h"
#include "module_repr.h"
#include "test_util.h"

using namespace bg;
using bg::test::repr;
namespace F = bg::nn::functional;
using bg::test::check_close;
using bg::test::check_error;
using bg::test::check_gradients;
using bg::test::values;

namespace {

// Smallest and largest element, mean and standard deviation (biased) of `t`.
struct Stats {
  double min, max, mean, std;
};
Stats stats(const Tensor& t) {
  const std::vector<double> v = values(t);
  Stats s{v[0], v[0], 0, 0};
  for (double x : v) {
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
    s.mean += x;
  }
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  return s;
}

// `t` looks like U(-bound, bound): inside the bounds, reaching close to both, with the uniform's
// mean 0 and standard deviation bound / sqrt(3) (t has thousands of elements).
void check_uniform(const Tensor& t, double bound) {
  const Stats s = stats(t);
  CHECK(s.min >= -bound);
  CHECK(s.max <= bound);
  CHECK(s.min < -0.99 * bound);
  CHECK(s.max > 0.99 * bound);
  CHECK(std::abs(s.mean) < 0.03 * bound);
  CHECK(s.std == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.03));
}

// A PyTorch-reproducible batch: sin(arange(n).reshape(sizes) * 0.7 + k) * (1 + k).
Tensor batch(const Shape& sizes, int k) {
  return (arange(numel_of(sizes), kFloat64).reshape(sizes) * 0.7 + k).sin() * (1.0 + k);
}

}  // namespace

// ---- Linear, Bilinear, Identity, Flatten, Unflatten ---------------------------------------------

TEST_CASE("Linear: x W^T + b, PyTorch's init, repr, gradients, errors") {
  manual_seed(1);
  nn::Linear big(200, 100);
  check_uniform(big->weight, 1 / std::sqrt(200.0));
  // 100 bias values: only the bounds are sharp enough to check.
  CHECK(stats(big->bias).max <= 1 / std::sqrt(200.0));
  CHECK(stats(big->bias).min >= -1 / std::sqrt(200.0));

  nn::Linear linear(3, 2);
  CHECK(repr(*linear) == "Linear(in_features=3, out_features=2, bias=true)");
  CHECK(repr(*nn::Linear(nn::LinearOptions(3, 2).bias(false))) ==
        "Linear(in_features=3, out_features=2, bias=false)");
  linear->to(kFloat64);
  const Tensor x = test::leaf({4, 3}, 2);
  CHECK(allclose(linear(x), x.matmul(linear->weight.t()) + linear->bias, 1e-14));
  check_gradients([&](const auto& in) { return linear(in[0]); }, {x, linear->weight, linear->bias});
  check_error({"Linear", "in_features = 3", "float32[4, 2]"}, [&] { linear(zeros({4, 2})); });
  check_error({"Linear", "positive", "0"}, [] { nn::Linear(0, 2); });
  // 2^21 x 2^21 float32 weights are 16 TiB: the allocation fails with a bg::Error (main.cpp lets
  // malloc return null under AddressSanitizer), not std::bad_alloc.
  check_error({"out of memory", "17592186044416 bytes", "cpu"},
              [] { nn::Linear(1 << 21, 1 << 21); });

  // A module is also a plain object.
  nn::LinearImpl plain(3, 2);
  CHECK(plain.forward(zeros({5, 3})).sizes() == Shape{5, 2});
}

TEST_CASE("Bilinear: x1^T W_k x2 + b_k, PyTorch's init, repr, gradients, errors") {
  manual_seed(2);
  nn::Bilinear big(50, 4, 100);
  check_uniform(big->weight, 1 / std::sqrt(50.0));
  CHECK(big->weight.sizes() == Shape{100, 50, 4});
  CHECK(big->bias.sizes() == Shape{100});
  CHECK(stats(big->bias).max <= 1 / std::sqrt(50.0));

  nn::Bilinear bilinear(2, 3, 4);
  CHECK(repr(*bilinear) == "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=true)");
  nn::Bilinear no_bias(nn::BilinearOptions(2, 3, 4).bias(false));
  CHECK_FALSE(no_bias->bias.defined());
  CHECK(no_bias->named_parameters().keys() == std::vector<std::string>{"weight"});
  bilinear->to(kFloat64);
  const Tensor x1 = test::leaf({5, 2}, 3), x2 = test::leaf({5, 3}, 4);
  // Output k of sample n: x1[n] . (W_k x2[n]) + b_k.
  const Tensor expected = (x1.unsqueeze(1)
                               .unsqueeze(2)
                               .matmul(bilinear->weight.unsqueeze(0))
                               .matmul(x2.unsqueeze(1).unsqueeze(3)))
                              .reshape({5, 4}) +
                          bilinear->bias;
  CHECK(allclose(bilinear(x1, x2), expected, 1e-12));
  check_gradients([&](const auto& in) { return bilinear(in[0], in[1]); },
                  {x1, x2, bilinear->weight, bilinear->bias});
  check_error({"Bilinear", "in1_features = 2", "in2_features = 3", "float64[5, 3]"},
              [&] { bilinear(x2, x1); });
}

TEST_CASE("Identity, Flatten and Unflatten reshape and print like PyTorch") {
  const Tensor x = test::leaf({2, 3, 4}, 5);
  nn::Identity identity;
  CHECK(identity(x).is_same(x));
  CHECK(repr(*identity) == "Identity()");

  nn::Flatten flatten;
  CHECK(flatten(x).sizes() == Shape{2, 12});
  CHECK(repr(*flatten) == "Flatten(start_dim=1, end_dim=-1)");
  nn::Flatten all(nn::FlattenOptions().start_dim(0).end_dim(1));
  CHECK(all(x).sizes() == Shape{6, 4});
  CHECK(repr(*all) == "Flatten(start_dim=0, end_dim=1)");

  nn::Unflatten unflatten(1, Shape{2, 6});
  const Tensor y = unflatten(flatten(x));
  CHECK(y.sizes() == Shape{2, 2, 6});
  check_close(y, values(x), 0.0);
  CHECK(repr(*unflatten) == "Unflatten(dim=1, unflattened_size=(2, 6))");
  CHECK(repr(*nn::Unflatten(-1, Shape{4})) == "Unflatten(dim=-1, unflattened_size=(4,))");
  check_gradients([&](const auto& in) { return unflatten(flatten(in[0])); }, {x});
  check_error({"unflatten", "[2, 5]"}, [&] { nn::Unflatten(1, Shape{2, 5})(zeros({2, 12})); });
  check_error({"Unflatten", "empty"}, [] { nn::Unflatten(1, Shape{}); });
}

// ---- Activations --------------------------------------------------------------------------------

TEST_CASE("activation layers apply their function and print like PyTorch") {
  struct Case {
    nn::AnyModule module;
    std::function<Tensor(const Tensor&)> function;
    std::string repr;
  };
  const std::vector<Case> cases{
      {nn::ReLU(), [](const Tensor& x) { return F::relu(x); }, "ReLU()"},
      {nn::LeakyReLU(), [](const Tensor& x) { return F::leaky_relu(x, 0.01); },
       "LeakyReLU(negative_slope=0.01)"},
      {nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
       [](const Tensor& x) { return F::leaky_relu(x, 0.2); }, "LeakyReLU(negative_slope=0.2)"},
      {nn::ELU(), [](const Tensor& x) { return F::elu(x); }, "ELU(alpha=1.0)"},
      {nn::ELU(nn::ELUOptions().alpha(1e16)), [](const Tensor& x) { return F::elu(x, 1e16); },
       "ELU(alpha=1e+16)"},
      {nn::GELU(), [](const Tensor& x) { return F::gelu(x); }, "GELU(approximate='none')"},
      {nn::GELU(nn::GELUOptions().approximate("tanh")),
       [](const Tensor& x) { return F::gelu(x, "tanh"); }, "GELU(approximate='tanh')"},
      {nn::SiLU(), [](const Tensor& x) { return F::silu(x); }, "SiLU()"},
      {nn::Tanh(), [](const Tensor& x) { return F::tanh(x); }, "Tanh()"},
      {nn::Sigmoid(), [](const Tensor& x) { return F::sigmoid(x); }, "Sigmoid()"},
      {nn::Softplus(), [](const Tensor& x) { return F::softplus(x); },
       "Softplus(beta=1, threshold=20)"},
      {nn::Softplus(nn::SoftplusOptions().beta(0.5).threshold(10.5)),
       [](const Tensor& x) { return F::softplus(x, 0.5, 10.5); },
       "Softplus(beta=0.5, threshold=10.5)"},
      {nn::Softmax(1), [](const Tensor& x) { return F::softmax(x, 1); }, "Softmax(dim=1)"},
      {nn::LogSoftmax(-1), [](const Tensor& x) { return F::log_softmax(x, -1); },
       "LogSoftmax(dim=-1)"},
  };
  const Tensor x = test::strided_leaf({3, 4}, 6, -3, 3);
  for (const Case& c : cases) {
    INFO(c.repr);
    CHECK(repr(*c.module.ptr()) == c.repr);
    test::check_equal(c.module.forward(x), c.function(x));
    check_gradients([&c](const auto& in) { return c.module.forward(in[0]); }, {x});
  }
  check_error({"GELU", "approximate", "'exact'"},
              [] { nn::GELU(nn::GELUOptions().approximate("exact")); });
  check_error({"Softplus", "beta", "positive"},
              [] { nn::Softplus(nn::SoftplusOptions().beta(0)); });
}

// ---- BatchNorm ----------------------------------------------------------------------------------

TEST_CASE("BatchNorm: parameters, buffers, state_dict and repr") {
  nn::BatchNorm1d bn(3);
  check_close(bn->weight, {1, 1, 1}, 0.0);
  check_close(bn->bias, {0, 0, 0}, 0.0);
  check_close(bn->running_mean, {0, 0, 0}, 0.0);
  check_close(bn->running_var, {1, 1, 1}, 0.0);
  CHECK(bn->num_batches_tracked.dtype() == kInt64);
  CHECK(bn->num_batches_tracked.dim() == 0);
  CHECK(bn->named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  CHECK(bn->state_dict().keys() == std::vector<std::string>{"weight", "bias", "running_mean",
                                                            "running_var", "num_batches_tracked"});
  CHECK(repr(*bn) ==
        "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  nn::BatchNorm1dImpl plain(3);
  CHECK(plain.forward(ones({2, 3})).sizes() == Shape{2, 3});
  CHECK(plain.num_batches_tracked.item<int64_t>() == 1);
  // Converting the module keeps the counter an integer.
  bn->to(kFloat64);
  CHECK(bn->running_mean.dtype() == kFloat64);
  CHECK(bn->num_batches_tracked.dtype() == kInt64);

  nn::BatchNorm2d bare(
      nn::BatchNormOptions(4).momentum(std::nullopt).affine(false).track_running_stats(false));
  CHECK(bare->parameters().empty());
  CHECK(bare->buffers().empty());
  CHECK(repr(*bare) ==
        "BatchNorm2d(4, eps=1e-05, momentum=None, affine=false, track_running_stats=false)");
  CHECK(repr(*nn::BatchNorm1d(nn::BatchNormOptions(3).eps(1e-4).momentum(0.0001))) ==
        "BatchNorm1d(3, eps=0.0001, momentum=0.0001, affine=true, track_running_stats=true)");
}

TEST_CASE("BatchNorm in training normalizes with batch statistics") {
  nn::BatchNorm1d bn(nn::BatchNormOptions(3).eps(0.0));
  bn->to(kFloat64);
  const Tensor y = bn(test::leaf({6, 3}, 7));
  // Without eps, every channel of the output has mean 0 and biased variance 1.
  check_close(y.mean(0), {0, 0, 0}, 0.0, 1e-15);
  check_close(y.var(0, 0), {1, 1, 1}, 1e-14);
}

TEST_CASE("BatchNorm running statistics and eval outputs match PyTorch after three batches") {
  // for k in range(3): bn(batch(shape, k)); then bn.eval(); bn(batch(shape, 3)), with
  //   batch(shape, k) = torch.sin(torch.arange(n).reshape(shape) * 0.7 + k) * (1 + k) (float64).
  struct Case {
    nn::AnyModule module;
    std::shared_ptr<nn::BatchNormImplBase> bn;
    Shape sizes;
    std::vector<double> running_mean, running_var, eval;
  };
  nn::BatchNorm1d plain(3), cumulative(nn::BatchNormOptions(3).momentum(std::nullopt)),
      sequence(nn::BatchNormOptions(2).momentum(0.3));
  nn::BatchNorm2d image(3);
  const std::vector<Case> cases{
      // nn.BatchNorm1d(3), shape (4, 3)
      {plain,
       plain.ptr(),
       {4, 3},
       {0.10668028031730961, 0.08965922806135923, 0.030470039884068004},
       {1.6466273948874859, 1.5360008064558146, 1.4761522102542501},
       {0.3567603374359702, -1.7823760002966227, -3.1579917176344954, -2.969060426482168,
        -1.5718350355239779, 0.6831502591347841, 2.390865356034481, 3.151714751902876,
        2.3927408882818413, 0.30481081545687105, -1.8281576330016318, -3.1745614276580603}},
      // nn.BatchNorm1d(3, momentum=None), shape (4, 3): the cumulative average
      {cumulative,
       cumulative.ptr(),
       {4, 3},
       {0.3699019132599195, 0.3258031157648065, 0.12847402211139267},
       {3.1808820483396403, 2.82742131316615, 2.6190157923873567},
       {0.10909868990030905, -1.4541495143932839, -2.431430501834439, -2.2837947667933087,
        -1.2989688122561516, 0.4523188757937391, 1.572616099508926, 2.182556853706973,
        1.7357993986741662, 0.07172154902405245, -1.4878931894819747, -2.4438702635659553}},
      // nn.BatchNorm1d(2, momentum=0.3), shape (2, 2, 3)
      {sequence,
       sequence.ptr(),
       {2, 2, 3},
       {0.47009469077018534, -0.09329099630757318},
       {1.5939707999917536, 2.4812429112046726},
       {0.0747589182231924, -2.0509930297484176, -3.387249884985541, -2.2917529720620413,
        -1.1205678507746513, 0.6054922281637153, 2.1421889249704487, 2.792545131372908,
        1.9544047509630493, 0.3752596139583159, -1.3222412015730554, -2.37001693133993}},
      // nn.BatchNorm2d(3), shape (2, 3, 2, 2)
      {image,
       image.ptr(),
       {2, 3, 2, 2},
       {-0.06036605868170365, 0.010652575092586429, 0.04029187020593268},
       {1.400348695004374, 1.4518905445367163, 1.4802351242887837},
       {0.52802369395993,    -1.7399315635730623, -3.165578033351111,  -3.078411904297025,
        -1.5511546871898907, 0.7052811615392476,  2.6258543449509126,  3.3072892851027995,
        2.3813658719932635,  0.3760527700218815,  -1.8216992545655912, -3.178253083783006,
        -3.0564875011482067, -1.4688790805510223, 0.8335579097239585,  2.767951376580044,
        3.304252842527899,   2.390868293011372,   0.3488631122205736,  -1.8613757561074695,
        -3.1939107105381717, -3.033421130800733,  -1.4618416236232539, 0.781689412161512}},
  };
  for (const Case& c : cases) {
    INFO(repr(*c.bn));
    c.bn->to(kFloat64);
    for (int k = 0; k < 3; ++k) c.module.forward(batch(c.sizes, k));
    check_close(c.bn->running_mean, c.running_mean, 1e-12);
    check_close(c.bn->running_var, c.running_var, 1e-12);
    CHECK(c.bn->num_batches_tracked.item<int64_t>() == 3);
    c.bn->eval();
    check_close(c.module.forward(batch(c.sizes, 3)), c.eval, 1e-12);
    // Eval mode leaves the statistics alone.
    check_close(c.bn->running_mean, c.running_mean, 1e-12);
    CHECK(c.bn->num_batches_tracked.item<int64_t>() == 3);
  }
}

TEST_CASE("BatchNorm without running statistics uses batch statistics in eval mode too") {
  nn::BatchNorm1d bn(nn::BatchNormOptions(2).track_running_stats(false).eps(0.0));
  bn->to(kFloat64);
  bn->eval();
  const Tensor y = bn(test::leaf({5, 2}, 8));
  check_close(y.mean(0), {0, 0}, 0.0, 1e-15);
  check_close(y.var(0, 0), {1, 1}, 1e-14);
}

TEST_CASE("BatchNorm: gradients through the layer, in both modes") {
  nn::BatchNorm2d bn(2);
  bn->to(kFloat64);
  {
    NoGradGuard no_grad;
    bn->weight.copy_(tensor({1.5, -0.5}));
    bn->bias.copy_(tensor({0.2, 0.1}));
  }
  const Tensor x = test::strided_leaf({2, 2, 2, 2}, 9);
  check_gradients([&](const auto& in) { return bn(in[0]); }, {x, bn->weight, bn->bias});
  bn->eval();
  check_gradients([&](const auto& in) { return bn(in[0]); }, {x, bn->weight, bn->bias});
}

TEST_CASE("BatchNorm names the layer and the shapes it cannot use") {
  nn::BatchNorm1d bn1(3);
  nn::BatchNorm2d bn2(3);
  check_error({"BatchNorm1d", "2-d or 3-d", "float32[2, 3, 4, 5]"}, [&] {
    bn1(zeros({2, 3, 4, 5}));
  });
  check_error({"BatchNorm1d", "3 channels", "float32[2, 4]"}, [&] { bn1(zeros({2, 4})); });
  check_error({"BatchNorm2d", "4-d", "float32[2, 3]"}, [&] { bn2(zeros({2, 3})); });
  check_error({"batch_norm", "more than 1 value per channel", "float32[1, 3]"}, [&] {
    bn1(zeros({1, 3}));
  });
  // The failed batch was not counted.
  CHECK(bn1->num_batches_tracked.item<int64_t>() == 0);
  check_error({"BatchNorm1d", "num_features", "positive"}, [] { nn::BatchNorm1d(0); });
}

// ---- LayerNorm and GroupNorm --------------------------------------------------------------------

TEST_CASE("LayerNorm: init, repr, output, gradients, errors") {
  nn::LayerNorm norm(nn::LayerNormOptions({4}));
  check_close(norm->weight, {1, 1, 1, 1}, 0.0);
  check_close(norm->bias, {0, 0, 0, 0}, 0.0);
  CHECK(repr(*norm) == "LayerNorm((4,), eps=1e-05, elementwise_affine=true)");
  nn::LayerNorm bare(nn::LayerNormOptions({2, 3}).eps(1e-3).elementwise_affine(false));
  CHECK(bare->parameters().empty());
  CHECK(repr(*bare) == "LayerNorm((2, 3), eps=0.001, elementwise_affine=false)");

  norm->to(kFloat64);
  {
    NoGradGuard no_grad;
    norm->weight.copy_(tensor({1.0, 2.0, 0.5, -1.0}));
  }
  const Tensor x = test::leaf({3, 4}, 10);
  const Tensor normalized = (x - x.mean(1, true)) / (x.var(1, 0, true) + 1e-5).sqrt();
  CHECK(allclose(norm(x), normalized * norm->weight + norm->bias, 1e-12));
  check_gradients([&](const auto& in) { return norm(in[0]); }, {x, norm->weight, norm->bias});
  check_error({"LayerNorm", "normalized_shape = [2, 3]", "float32[3, 2]"}, [&] {
    bare(zeros({3, 2}));
  });
  check_error({"LayerNorm", "empty"}, [] { nn::LayerNorm(nn::LayerNormOptions({})); });
}

TEST_CASE("GroupNorm: init, repr, output, gradients, errors") {
  nn::GroupNorm norm(2, 4);
  check_close(norm->weight, {1, 1, 1, 1}, 0.0);
  check_close(norm->bias, {0, 0, 0, 0}, 0.0);
  CHECK(repr(*norm) == "GroupNorm(2, 4, eps=1e-05, affine=true)");
  CHECK(repr(*nn::GroupNorm(nn::GroupNormOptions(1, 3).affine(false).eps(0.5))) ==
        "GroupNorm(1, 3, eps=0.5, affine=false)");

  norm->to(kFloat64);
  const Tensor x = test::leaf({2, 4, 3}, 11);
  test::check_equal(norm(x), F::group_norm(x, 2, norm->weight, norm->bias));
  // With one group per channel it is instance normalization: each (sample, channel) row has
  // mean 0.
  nn::GroupNorm instance(4, 4);
  instance->to(kFloat64);
  check_close(instance(x).mean(2), std::vector<double>(8, 0.0), 0.0, 1e-15);
  check_gradients([&](const auto& in) { return norm(in[0]); }, {x, norm->weight, norm->bias});
  check_error({"GroupNorm", "num_channels (5)", "num_groups (2)"}, [] { nn::GroupNorm(2, 5); });
  check_error({"GroupNorm", "num_channels = 4", "float32[2, 3, 5]"}, [&] {
    norm(zeros({2, 3, 5}));
  });
}

// ---- Dropout ------------------------------------------------------------------------------------

TEST_CASE("Dropout and Dropout2d: train scales, eval is the identity, repr, p checked") {
  manual_seed(12);
  nn::Dropout dropout(0.2);
  CHECK(repr(*dropout) == "Dropout(p=0.2, inplace=false)");
  CHECK(repr(*nn::Dropout()) == "Dropout(p=0.5, inplace=false)");
  const Tensor x = ones({4000}, kFloat64);
  const std::vector<double> y = values(dropout(x));
  int64_t dropped = 0;
  for (double v : y) {
    CHECK((v == 0.0 || v == doctest::Approx(1.25)));
    dropped += v == 0.0;
  }
  // Binomial(4000, 0.2): the standard deviation of the fraction is 0.0063.
  CHECK(static_cast<double>(dropped) / 4000 == doctest::Approx(0.2).epsilon(0.15));
  dropout->eval();
  CHECK(dropout(x).is_same(x));

  nn::Dropout2d channels(nn::Dropout2dOptions(0.25).inplace(true));
  CHECK(repr(*channels) == "Dropout2d(p=0.25, inplace=true)");
  Tensor planes = ones({8, 16, 2, 2}, kFloat64);
  CHECK(channels(planes).is_same(planes));  // in place
  for (int64_t plane = 0; plane < 8 * 16; ++plane) {
    const Tensor block = planes.reshape({-1, 4})[plane];
    CHECK(block.min().item<double>() == block.max().item<double>());
  }
  channels->eval();
  const Tensor z = ones({2, 3, 2, 2});
  CHECK(channels(z).is_same(z));
  check_error({"Dropout", "[0, 1]", "1.5"}, [] { nn::Dropout(1.5); });
  check_error({"Dropout2d", "[0, 1]", "-1"}, [] { nn::Dropout2d(-1.0); });
}

// ---- Embedding ----------------------------------------------------------------------------------

TEST_CASE("Embedding: N(0, 1) init with the padding row zeroed, lookup, gradients, repr") {
  manual_seed(13);
  nn::Embedding big(nn::EmbeddingOptions(1000, 20).padding_idx(-1));
  CHECK(big->options.padding_idx() == 999);  // made non-negative
  const Stats s = stats(big->weight.narrow(0, 0, 999));
  CHECK(std::abs(s.mean) < 0.03);
  CHECK(s.std == doctest::Approx(1.0).epsilon(0.03));
  check_close(big->weight[999], std::vector<double>(20, 0.0), 0.0);
  CHECK(repr(*big) == "Embedding(1000, 20, padding_idx=999)");
  CHECK(repr(*nn::Embedding(10, 3)) == "Embedding(10, 3)");

  nn::Embedding embedding(nn::EmbeddingOptions(4, 2).padding_idx(0));
  embedding->to(kFloat64);
  const Tensor indices = tensor({{0, 3}, {3, 1}});
  const Tensor out = embedding(indices);
  CHECK(out.sizes() == Shape{2, 2, 2});
  test::check_equal(out[0][1], embedding->weight[3]);
  out.sum().backward();
  check_close(embedding->weight.grad(), {0, 0, 1, 1, 0, 0, 2, 2}, 0.0);
  check_gradients([&](const auto&) { return embedding(tensor({3, 1, 1})); }, {embedding->weight});
  check_error({"embedding", "index 4", "4 embeddings"}, [&] { embedding(tensor({4})); });
  check_error({"Embedding", "padding_idx 4", "4 embeddings"},
              [] { nn::Embedding(nn::EmbeddingOptions(4, 2).padding_idx(4)); });
  check_error({"Embedding", "positive"}, [] { nn::Embedding(0, 2); });
}

// ---- Containers ---------------------------------------------------------------------------------

TEST_CASE("Sequential chains its modules, names them by index and prints like PyTorch") {
  nn::Sequential seq(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 1));
  CHECK(seq->size() == 3);
  CHECK(seq->named_children().keys() == std::vector<std::string>{"0", "1", "2"});
  CHECK(seq->named_parameters().keys() ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(repr(*seq) ==
        "Sequential(\n"
        "  (0): Linear(in_features=1, out_features=20, bias=true)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=20, out_features=1, bias=true)\n"
        ")");
  const Tensor x = randn({5, 1});
  nn::LinearImpl& first = seq->at<nn::LinearImpl>(0);
  const auto last = seq->ptr<nn::LinearImpl>(2);
  test::check_equal(seq(x), last->forward(first.forward(x).relu()));
  CHECK((*seq)[1]->type_name() == "ReLU");
  CHECK(seq->ptr(1) == (*seq)[1]);

  seq->push_back(nn::Tanh());
  seq->push_back("scale", std::make_shared<nn::LinearImpl>(1, 1));
  CHECK(seq->named_children().keys() == std::vector<std::string>{"0", "1", "2", "3", "scale"});
  CHECK(seq(x).sizes() == Shape{5, 1});
  int count = 0;
  for (const nn::AnyModule& module : *seq) count += module.ptr() != nullptr;
  CHECK(count == 5);

  check_error({"Sequential", "index 5", "5 modules"}, [&] { (*seq)[5]; });
  check_error({"Sequential", "the module 1", "ReLU", "not the type asked for"},
              [&] { seq->at<nn::LinearImpl>(1); });
  check_error({"register_module", "null"}, [&] { seq->push_back(nn::AnyModule()); });
  nn::Sequential empty;
  CHECK(empty(x).is_same(x));
  // As a plain object too.
  nn::SequentialImpl plain(nn::Linear(1, 2), nn::ReLU());
  CHECK(plain.forward(x).sizes() == Shape{5, 2});
  CHECK(repr(*empty) == "Sequential()");
}

TEST_CASE("Sequential: nested, in eval mode, converted, gradients through it") {
  manual_seed(14);
  nn::Sequential inner(nn::Linear(3, 4), nn::Dropout(0.5));
  nn::Sequential outer(inner, nn::GELU(), nn::Linear(4, 2));
  CHECK(outer->named_parameters().keys() ==
        std::vector<std::string>{"0.0.weight", "0.0.bias", "2.weight", "2.bias"});
  CHECK(repr(*outer) ==
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=true)\n"
        "    (1): Dropout(p=0.5, inplace=false)\n"
        "  )\n"
        "  (1): GELU(approximate='none')\n"
        "  (2): Linear(in_features=4, out_features=2, bias=true)\n"
        ")");
  outer->eval();
  CHECK_FALSE((*inner)[1]->is_training());
  outer->to(kFloat64);
  const Tensor x = test::leaf({2, 3}, 15);
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : outer->parameters()) inputs.push_back(p);
  check_gradients([&](const auto& in) { return outer(in[0]); }, inputs);
}

TEST_CASE("ModuleList holds modules by index, without a forward") {
  nn::ModuleList list(nn::Linear(2, 3), std::make_shared<nn::ReLUImpl>());
  list->push_back(nn::Linear(3, 1));
  CHECK(list->size() == 3);
  CHECK(list->named_parameters().keys() ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  std::vector<std::string> types;
  for (const auto& module : *list) types.push_back(module->type_name());
  CHECK(types == std::vector<std::string>{"Linear", "ReLU", "Linear"});
  CHECK(list->at<nn::LinearImpl>(2).options.in_features() == 3);
  CHECK((*list)[1] == list->ptr(1));
  CHECK(repr(*list) ==
        "ModuleList(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=true)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=1, bias=true)\n"
        ")");
  CHECK(repr(*nn::ModuleList()) == "ModuleList()");
  check_error({"ModuleList", "index 3", "3 modules"}, [&] { list->ptr(3); });
  check_error({"ModuleList", "the module 1", "ReLU"}, [&] { list->ptr<nn::LinearImpl>(1); });
}

TEST_CASE("ModuleDict holds modules by name, in insertion order") {
  nn::ModuleDict dict;
  dict->insert("encoder", nn::Linear(4, 2));
  dict->insert("act", std::make_shared<nn::TanhImpl>());
  CHECK(dict->size() == 2);
  CHECK(dict->contains("act"));
  CHECK(dict->keys() == std::vector<std::string>{"encoder", "act"});
  CHECK(dict->named_parameters().keys() ==
        std::vector<std::string>{"encoder.weight", "encoder.bias"});
  CHECK(dict->at<nn::LinearImpl>("encoder").options.out_features() == 2);
  CHECK((*dict)["act"]->type_name() == "Tanh");
  std::vector<std::string> seen;
  for (const auto& item : *dict) seen.push_back(item.key() + "=" + item.value()->type_name());
  CHECK(seen == std::vector<std::string>{"encoder=Linear", "act=Tanh"});
  CHECK(repr(*dict) ==
        "ModuleDict(\n"
        "  (encoder): Linear(in_features=4, out_features=2, bias=true)\n"
        "  (act): Tanh()\n"
        ")");
  check_error({"ModuleDict", "'decoder'", "keys: encoder, act"}, [&] { (*dict)["decoder"]; });
  check_error({"ModuleDict", "'act'", "Tanh", "not the type asked for"},
              [&] { dict->ptr<nn::LinearImpl>("act"); });
  check_error({"OrderedDict", "'act'", "already"}, [&] { dict->insert("act", nn::ReLU()); });
  check_error({"register_module", "invalid name 'a.b'"}, [&] { dict->insert("a.b", nn::ReLU()); });
  CHECK(dict->pop("act")->type_name() == "Tanh");
  CHECK(dict->keys() == std::vector<std::string>{"encoder"});
}
