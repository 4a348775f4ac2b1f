// AnyModule with forwards of any signature: one and several tensors, defaults, optional
// parameters, non-tensor results, the run-time errors that name the module and the types; AnyValue;
// Sequential whose first module takes several arguments. (Calling a holder with the wrong
// arguments fails to compile: tests/nn/compile_errors/, checked by ctest.)

#include <bg/nn.h>

#include <optional>
#include <string>
#include <tuple>

#include "test_util.h"

using namespace bg;
using test::check_error;

namespace {

// forward(x, scale = 2, shift = {}): a default argument declared for AnyModule, and an optional.
class ScaleImpl : public nn::Module {
 public:
  ScaleImpl() : Module("Scale") {}
  Tensor forward(const Tensor& x, double scale = 2.0, std::optional<Tensor> shift = std::nullopt) {
    return shift ? x * scale + *shift : x * scale;
  }
  BG_FORWARD_DEFAULT_ARGS(2.0, std::nullopt)
};
BG_MODULE(Scale);

// Returns a tuple and a string: results that are not tensors.
class StatsImpl : public nn::Module {
 public:
  StatsImpl() : Module("Stats") {}
  std::tuple<Tensor, std::string> forward(const Tensor& x) const { return {x.sum(), "sum"}; }
};
BG_MODULE(Stats);

}  // namespace

TEST_CASE("AnyModule calls forwards that take several tensors") {
  nn::AnyModule bilinear(nn::Bilinear(2, 3, 4));
  const Tensor a = randn({5, 2}), b = randn({5, 3});
  CHECK(bilinear.forward(a, b).sizes() == Shape{5, 4});
  CHECK_FALSE(bilinear.is_tensor_to_tensor());
  check_error({"AnyModule", "bg::nn::BilinearImpl's forward takes (bg::Tensor, bg::Tensor)",
               "called with (bg::Tensor)"},
              [&] { bilinear.forward(a); });
  check_error({"called with (bg::Tensor, double)"}, [&] { bilinear.forward(a, 1.0); });
  nn::AnyModule linear(nn::Linear(2, 1));
  CHECK(linear.is_tensor_to_tensor());
  CHECK(linear.forward(a).sizes() == Shape{5, 1});
  check_error({"AnyModule", "no module was given"}, [&] { nn::AnyModule().forward(a); });
}

TEST_CASE("AnyModule fills the declared defaults and std::optional parameters") {
  nn::AnyModule scale(Scale{});
  const Tensor x = ones({3});
  CHECK(scale.is_tensor_to_tensor());
  test::check_close(scale.forward(x), {2, 2, 2}, 0.0);
  test::check_close(scale.forward(x, 3.0), {3, 3, 3}, 0.0);
  // A Tensor given for the std::optional<Tensor> parameter, and std::nullopt.
  test::check_close(scale.forward(x, 3.0, full({3}, 1.0)), {4, 4, 4}, 0.0);
  test::check_close(scale.forward(x, 3.0, std::nullopt), {3, 3, 3}, 0.0);
  check_error({"ScaleImpl's forward takes (bg::Tensor, double, std::optional<bg::Tensor>)",
               "the last 2 with defaults", "called with (bg::Tensor, int)"},
              [&] { scale.forward(x, 3); });
  check_error({"called with ()"}, [&] { scale.forward<Tensor>(); });
}

TEST_CASE("AnyModule returns other types with forward<R>, and any_forward erases them") {
  nn::AnyModule stats(Stats{});
  const auto [sum, name] = stats.forward<std::tuple<Tensor, std::string>>(ones({4}));
  CHECK(sum.item<float>() == 4.0f);
  CHECK(name == "sum");
  check_error({"StatsImpl's forward returns std::tuple<bg::Tensor, std::", "not bg::Tensor",
               "call forward<std::tuple<bg::Tensor"},
              [&] { stats.forward(ones({4})); });
  std::vector<nn::AnyValue> arguments;
  arguments.emplace_back(ones({2}));
  const nn::AnyValue result = stats.any_forward(std::move(arguments));
  CHECK((result.is<std::tuple<Tensor, std::string>>()));
  check_error({"AnyValue", "the value is a std::tuple<bg::Tensor", "not a int"},
              [&] { result.get<int>(); });
  // AnyValue: a U fills a std::optional<U>; std::nullopt an empty one.
  CHECK(nn::AnyValue(2.5).get<std::optional<double>>() == 2.5);
  CHECK_FALSE(nn::AnyValue(std::nullopt).get<std::optional<double>>().has_value());
  CHECK(nn::AnyValue(ones({1})).type_name() == "bg::Tensor");
}

TEST_CASE("Sequential passes several inputs to its first module") {
  nn::Sequential seq(nn::Bilinear(2, 3, 4), nn::ReLU(), nn::Linear(4, 1));
  const Tensor a = randn({5, 2}), b = randn({5, 3});
  const Tensor y = seq(a, b);
  CHECK(y.sizes() == Shape{5, 1});
  auto* bilinear = seq->ptr<nn::BilinearImpl>(0).get();
  CHECK(allclose(y, seq[2]->as<nn::LinearImpl>()->forward(bilinear->forward(a, b).relu())));
  check_error({"BilinearImpl's forward takes (bg::Tensor, bg::Tensor)", "called with (bg::Tensor)"},
              [&] { seq(a); });
  // As a module inside an AnyModule (what BayesianModule and nested Sequentials hold).
  nn::AnyModule any(seq);
  CHECK(allclose(any.forward(a, b), y));
  // A tuple-valued last module is asked for by type.
  nn::Sequential stats(nn::Linear(3, 3), Stats{});
  CHECK(std::get<1>(stats->forward<std::tuple<Tensor, std::string>>(b)) == "sum");
  check_error({"Sequential", "the last module returns std::tuple", "not bg::Tensor"},
              [&] { stats(b); });
  nn::Sequential empty;
  check_error({"Sequential", "an empty Sequential returns its input", "not 2"},
              [&] { empty(a, b); });
}
