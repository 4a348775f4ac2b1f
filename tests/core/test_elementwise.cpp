// Elementwise ops: arithmetic, comparison and logic, elementwise math. Forward values against std::
// or hand-computed values, PyTorch's type promotion, closed forms, gradients and error messages.

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"

using namespace bg;

namespace {

using UnaryFn = std::function<Tensor(const Tensor&)>;
using BinaryFn = std::function<Tensor(const Tensor&, const Tensor&)>;

// Tolerances for comparing a float32 result with a double reference computed at the same inputs.
constexpr double kFloat32Rtol = 1e-5;
constexpr double kFloat32Atol = 1e-6;
constexpr double kFloat64Rtol = 1e-12;
constexpr double kFloat64Atol = 1e-14;

void check_close_for(Dtype dtype, const Tensor& actual, const std::vector<double>& expected) {
  CHECK(actual.dtype() == dtype);
  if (dtype == kFloat32)
    test::check_close(actual, expected, kFloat32Rtol, kFloat32Atol);
  else
    test::check_close(actual, expected, kFloat64Rtol, kFloat64Atol);
}

// ---- Binary ops ---------------------------------------------------------------------------------

struct BinaryCase {
  std::string name;
  BinaryFn op;
  std::function<double(double, double)> reference;
};

// Arithmetic whose reference is plain double arithmetic.
const std::vector<BinaryCase>& arithmetic_cases() {
  static const std::vector<BinaryCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; },
       [](double a, double b) { return a + b; }},
      {"add with alpha", [](const Tensor& a, const Tensor& b) { return add(a, b, 2.5); },
       [](double a, double b) { return a + 2.5 * b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; },
       [](double a, double b) { return a - b; }},
      {"sub with alpha", [](const Tensor& a, const Tensor& b) { return sub(a, b, -1.5); },
       [](double a, double b) { return a + 1.5 * b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; },
       [](double a, double b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; },
       [](double a, double b) { return a / b; }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }},
  };
  return cases;
}

TEST_CASE("arithmetic matches double arithmetic in float32 and float64") {
  // Negative bases only meet integer exponents, so pow stays real.
  const std::vector<double> a = {1.5, -2.0, 3.25, 0.5, 4.0, -0.75};
  const std::vector<double> b = {0.5, -3.0, -1.5, 2.0, 0.5, 2.0};
  for (Dtype dtype : {kFloat32, kFloat64}) {
    const Tensor ta = tensor(a, {6}, dtype), tb = tensor(b, {6}, dtype);
    for (const BinaryCase& c : arithmetic_cases()) {
      INFO(c.name, " in ", dtype_name(dtype));
      std::vector<double> expected;
      for (size_t i = 0; i < a.size(); ++i) expected.push_back(c.reference(a[i], b[i]));
      check_close_for(dtype, c.op(ta, tb), expected);
    }
  }
}

TEST_CASE("arithmetic broadcasts with numpy's rules") {
  const Tensor rows = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});  // [2, 3]
  const Tensor column = tensor({{10.0}, {20.0}});                  // [2, 1]
  const Tensor row = tensor({100.0, 200.0, 300.0});                // [3]
  for (const BinaryCase& c : arithmetic_cases()) {
    INFO(c.name);
    // [2, 1] with [3] gives the outer table [2, 3]; [2, 3] with [3] repeats the row.
    const Tensor outer = c.op(column, row);
    const Tensor repeated = c.op(rows, row);
    CHECK(outer.sizes() == Shape{2, 3});
    CHECK(repeated.sizes() == Shape{2, 3});
    std::vector<double> expected_outer, expected_repeated;
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < 3; ++j) {
        const double r = row[j].item<double>();
        expected_outer.push_back(c.reference(column[i][0].item<double>(), r));
        expected_repeated.push_back(c.reference(rows[i][j].item<double>(), r));
      }
    }
    test::check_close(outer, expected_outer, kFloat64Rtol);
    test::check_close(repeated, expected_repeated, kFloat64Rtol);
    // A transposed (non-contiguous) operand reads the same values.
    test::check_close(c.op(rows.t(), row.unsqueeze(1)),
                      test::values(c.op(rows.t().contiguous(), row.unsqueeze(1))), 0.0);
  }
}

TEST_CASE("division by zero and NaN follow IEEE") {
  test::check_close(tensor({1.0, -1.0, 0.0}) / tensor({0.0, 0.0, 0.0}),
                    {test::kInf, -test::kInf, test::kNaN}, 0.0);
  test::check_close(maximum(tensor({test::kNaN, 1.0}), tensor({1.0, test::kNaN})),
                    {test::kNaN, test::kNaN}, 0.0);
  test::check_close(minimum(tensor({test::kNaN, 1.0}), tensor({1.0, test::kNaN})),
                    {test::kNaN, test::kNaN}, 0.0);
}

TEST_CASE("int64 arithmetic stays int64 and is exact") {
  const Tensor a = tensor({7, -3, 0, 5, 2});
  const Tensor b = tensor({2, 4, -6, -5, 10});
  CHECK((a + b).dtype() == kInt64);
  CHECK(test::ints(a + b) == std::vector<int64_t>{9, 1, -6, 0, 12});
  CHECK(test::ints(a - b) == std::vector<int64_t>{5, -7, 6, 10, -8});
  CHECK(test::ints(add(a, b, 3)) == std::vector<int64_t>{13, 9, -18, -10, 32});
  CHECK(test::ints(a * b) == std::vector<int64_t>{14, -12, 0, -25, 20});
  CHECK(test::ints(maximum(a, b)) == std::vector<int64_t>{7, 4, 0, 5, 10});
  CHECK(test::ints(minimum(a, b)) == std::vector<int64_t>{2, -3, -6, -5, 2});
  CHECK((a * 3).dtype() == kInt64);
  CHECK(test::ints(a * 3) == std::vector<int64_t>{21, -9, 0, 15, 6});

  // Powers are computed exactly (2^62 is beyond a double's 53-bit mantissa plus one).
  const Tensor powers = pow(tensor({2, -3, 5, 0, 3}), tensor({62, 3, 0, 2, 39}));
  CHECK(powers.dtype() == kInt64);
  CHECK(test::ints(powers) ==
        std::vector<int64_t>{int64_t{1} << 62, -27, 1, 0, int64_t{4052555153018976267}});
  CHECK(pow(a, 2).dtype() == kInt64);
  CHECK(test::ints(pow(a, 2)) == std::vector<int64_t>{49, 9, 0, 25, 4});
  CHECK(pow(a, 0.5).dtype() == kFloat32);  // a floating exponent makes a floating result

  // Overflow wraps around as in PyTorch (and is no undefined behaviour for the sanitizers).
  const int64_t largest = std::numeric_limits<int64_t>::max();
  CHECK(test::ints(tensor({largest}) + 1) ==
        std::vector<int64_t>{std::numeric_limits<int64_t>::min()});
}

TEST_CASE("int64 unary ops keep the dtype") {
  const Tensor x = tensor({-7, 0, 3, -1});
  for (const Tensor& out : {neg(x), abs(x), sign(x), clamp(x, -2, 2)}) CHECK(out.dtype() == kInt64);
  CHECK(test::ints(-x) == std::vector<int64_t>{7, 0, -3, 1});
  CHECK(test::ints(abs(x)) == std::vector<int64_t>{7, 0, 3, 1});
  CHECK(test::ints(sign(x)) == std::vector<int64_t>{-1, 0, 1, -1});
  CHECK(test::ints(clamp(x, -2, 2)) == std::vector<int64_t>{-2, 0, 2, -1});
  CHECK(test::ints(clamp_min(x, 0)) == std::vector<int64_t>{0, 0, 3, 0});
  CHECK(test::ints(clamp_max(x, 0)) == std::vector<int64_t>{-7, 0, 0, -1});
  // A floating bound makes a floating result, as in PyTorch.
  const Tensor floating = clamp(x, -2.5, std::nullopt);
  CHECK(floating.dtype() == kFloat32);
  test::check_close(floating, {-2.5, 0, 3, -1}, 0.0);
  // Floating ops on integers compute in float32.
  CHECK(exp(x).dtype() == kFloat32);
  test::check_close(exp(x), {std::exp(-7.0), 1.0, std::exp(3.0), std::exp(-1.0)}, kFloat32Rtol);
}

TEST_CASE("bool arithmetic: + is or, * is and, - throws") {
  const Tensor a = tensor({true, true, false, false});
  const Tensor b = tensor({true, false, true, false});
  CHECK((a + b).dtype() == kBool);
  CHECK(test::ints(a + b) == std::vector<int64_t>{1, 1, 1, 0});
  CHECK((a * b).dtype() == kBool);
  CHECK(test::ints(a * b) == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(test::ints(maximum(a, b)) == std::vector<int64_t>{1, 1, 1, 0});
  CHECK(test::ints(minimum(a, b)) == std::vector<int64_t>{1, 0, 0, 0});
  test::check_error({"sub", "bool"}, [&] { (void)(a - b); });
  test::check_error({"neg", "bool"}, [&] { (void)neg(a); });
  test::check_error({"abs", "bool"}, [&] { (void)abs(a); });
  test::check_error({"clamp", "bool"}, [&] { (void)clamp(a, 0, 1); });
  // With an integer operand bools count as 0 and 1.
  CHECK((a + 2).dtype() == kInt64);
  CHECK(test::ints(a + 2) == std::vector<int64_t>{3, 3, 2, 2});
  CHECK(test::ints(a + tensor({5, 5, 5, 5})) == std::vector<int64_t>{6, 6, 5, 5});
}

// ---- Type promotion -----------------------------------------------------------------------------

TEST_CASE("type promotion follows PyTorch") {
  const Tensor i64 = tensor({1, 2, 3});
  const Tensor f32 = tensor({1.f, 2.f, 3.f});
  const Tensor f64 = tensor({1.0, 2.0, 3.0});
  const Tensor zero_dim_f64 = scalar_tensor(2.5, kFloat64);

  SUBCASE("a floating number makes an int64 tensor float32") {
    const Tensor out = i64 + 2.5;
    CHECK(out.dtype() == kFloat32);
    test::check_close(out, {3.5, 4.5, 5.5}, 0.0);
  }
  SUBCASE("a number does not widen a tensor of its category") {
    CHECK((f32 + 2.5).dtype() == kFloat32);
    CHECK((f32 * 1e-3).dtype() == kFloat32);
    CHECK((f64 + 2).dtype() == kFloat64);
    CHECK((i64 * 2).dtype() == kInt64);
    CHECK((2.5 - f32).dtype() == kFloat32);
  }
  SUBCASE("int64 / int64 is a float32 true division") {
    const Tensor out = tensor({7, -7, 1}) / tensor({2, 2, 3});
    CHECK(out.dtype() == kFloat32);
    test::check_close(out, {3.5, -3.5, 1.0 / 3.0}, kFloat32Rtol);
    CHECK((i64 / 2).dtype() == kFloat32);
  }
  SUBCASE("a 0-dim tensor only matters when its category is higher") {
    CHECK((f32 + zero_dim_f64).dtype() == kFloat32);
    const Tensor out = i64 + zero_dim_f64;
    CHECK(out.dtype() == kFloat64);  // unlike a number, a 0-dim tensor keeps its own dtype
    test::check_close(out, {3.5, 4.5, 5.5}, 0.0);
    CHECK((i64 + scalar_tensor(1.5, kFloat32)).dtype() == kFloat32);
    CHECK((zero_dim_f64 + scalar_tensor(1.5, kFloat32)).dtype() == kFloat64);
    CHECK((tensor({true}) + scalar_tensor(int64_t{2})).dtype() == kInt64);
  }
  SUBCASE("dimensioned tensors promote to the wider dtype") {
    CHECK((f32 + f64).dtype() == kFloat64);
    CHECK((i64 * f32).dtype() == kFloat32);
    CHECK(maximum(i64, f64).dtype() == kFloat64);
    CHECK(pow(f32, f64).dtype() == kFloat64);
  }
  SUBCASE("comparisons give bool and compare in the promoted dtype") {
    const Tensor greater = i64 > 2.5;
    CHECK(greater.dtype() == kBool);
    CHECK(test::ints(greater) == std::vector<int64_t>{0, 0, 1});
    // float(0.1) != double(0.1): the comparison happens in float64.
    CHECK(test::ints(tensor({0.1f}) == tensor({0.1})) == std::vector<int64_t>{0});
    CHECK(test::ints(tensor({0.5f}) == tensor({0.5})) == std::vector<int64_t>{1});
  }
  SUBCASE("where promotes its two branches") {
    const Tensor cond = tensor({true, false, true});
    CHECK(where(cond, i64, 2.5).dtype() == kFloat32);
    CHECK(where(cond, i64, f64).dtype() == kFloat64);
    CHECK(where(cond, f32, 0).dtype() == kFloat32);
  }
}

// ---- Comparison and logic -----------------------------------------------------------------------

TEST_CASE("comparisons match C++ operators, NaN included") {
  const std::vector<double> a = {1.0, 2.0, 3.0, test::kNaN, -0.0};
  const std::vector<double> b = {2.0, 2.0, 2.0, test::kNaN, 0.0};
  struct Case {
    std::string name;
    BinaryFn op;
    std::function<bool(double, double)> reference;
  };
  const std::vector<Case> cases = {
      {"eq", [](const Tensor& x, const Tensor& y) { return eq(x, y); }, std::equal_to<>()},
      {"ne", [](const Tensor& x, const Tensor& y) { return x != y; }, std::not_equal_to<>()},
      {"lt", [](const Tensor& x, const Tensor& y) { return x < y; }, std::less<>()},
      {"le", [](const Tensor& x, const Tensor& y) { return le(x, y); }, std::less_equal<>()},
      {"gt", [](const Tensor& x, const Tensor& y) { return x > y; }, std::greater<>()},
      {"ge", [](const Tensor& x, const Tensor& y) { return x >= y; }, std::greater_equal<>()},
  };
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const Case& c : cases) {
      INFO(c.name, " in ", dtype_name(dtype));
      std::vector<int64_t> expected;
      for (size_t i = 0; i < a.size(); ++i) expected.push_back(c.reference(a[i], b[i]));
      const Tensor out = c.op(tensor(a, {5}, dtype), tensor(b, {5}, dtype));
      CHECK(out.dtype() == kBool);
      CHECK(test::ints(out) == expected);
    }
  }
  // The number forms and the methods.
  const Tensor x = tensor({1, 2, 3});
  CHECK(test::ints(x == 2) == std::vector<int64_t>{0, 1, 0});
  CHECK(test::ints(x != 2) == std::vector<int64_t>{1, 0, 1});
  CHECK(test::ints(x < 2) == std::vector<int64_t>{1, 0, 0});
  CHECK(test::ints(x <= 2) == std::vector<int64_t>{1, 1, 0});
  CHECK(test::ints(x >= 2) == std::vector<int64_t>{0, 1, 1});
  CHECK(test::ints(x.gt(tensor({0, 5, 3}))) == std::vector<int64_t>{1, 0, 0});
  // Broadcast comparison: [3, 1] against [3] is a [3, 3] table.
  CHECK(test::ints(x.unsqueeze(1) < x) == std::vector<int64_t>{0, 1, 1, 0, 0, 1, 0, 0, 0});
}

TEST_CASE("logical ops treat nonzero as true") {
  const Tensor a = tensor({0.0, 2.5, -1.0, test::kNaN});
  const Tensor b = tensor({3, 0, 7, 0});
  CHECK(logical_and(a, b).dtype() == kBool);
  CHECK(test::ints(logical_and(a, b)) == std::vector<int64_t>{0, 0, 1, 0});
  CHECK(test::ints(logical_or(a, b)) == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(test::ints(logical_not(a)) == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(test::ints(a.logical_not()) == test::ints(logical_not(a)));
  CHECK(test::ints(logical_not(tensor({true, false}))) == std::vector<int64_t>{0, 1});
  CHECK(test::ints(isnan(a)) == std::vector<int64_t>{0, 0, 0, 1});
  CHECK(test::ints(isnan(b)) == std::vector<int64_t>{0, 0, 0, 0});
}

TEST_CASE("where selects elementwise with broadcasting") {
  const Tensor cond = tensor({{true}, {false}});  // [2, 1]
  const Tensor a = tensor({{1.0, 2.0, 3.0}});     // [1, 3]
  const Tensor b = tensor({10.0, 20.0, 30.0});    // [3]
  const Tensor out = where(cond, a, b);
  CHECK(out.sizes() == Shape{2, 3});
  test::check_close(out, {1, 2, 3, 10, 20, 30}, 0.0);
  test::check_close(where(cond, a, -1.0), {1, 2, 3, -1, -1, -1}, 0.0);
  test::check_close(where(cond, 7.0, b), {7, 7, 7, 10, 20, 30}, 0.0);
  CHECK(test::ints(where(tensor({true, false}), tensor({1, 2}), tensor({3, 4}))) ==
        std::vector<int64_t>{1, 4});
}

// ---- Elementwise math ---------------------------------------------------------------------------

struct UnaryCase {
  std::string name;
  UnaryFn op;
  std::function<double(double)> reference;
  double low, high;  // the domain tested (and where gradients are checked)
};

double sigmoid_of(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Every differentiable unary op (pow with one number operand included), with its formula.
const std::vector<UnaryCase>& unary_cases() {
  static const std::vector<UnaryCase> cases = {
      {"neg", [](const Tensor& x) { return -x; }, [](double x) { return -x; }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }, -3, 3},
      {"sign", [](const Tensor& x) { return sign(x); },
       [](double x) { return static_cast<double>((x > 0) - (x < 0)); }, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -3, 3},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.1, 5},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); },
       -0.9, 5},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](double x) { return std::expm1(x); },
       -3, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.1,
       5},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); },
       [](double x) { return 1.0 / std::sqrt(x); }, 0.1, 5},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -4, 4},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -4, 4},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -3,
       3},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_of, -6, 6},
      {"erf", [](const Tensor& x) { return erf(x); }, [](double x) { return std::erf(x); }, -3, 3},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; },
       -3, 3},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); },
       [](double x) { return x > 0 ? x : 0.01 * x; }, -3, 3},
      {"leaky_relu(0.2)", [](const Tensor& x) { return leaky_relu(x, 0.2); },
       [](double x) { return x > 0 ? x : 0.2 * x; }, -3, 3},
      {"elu", [](const Tensor& x) { return elu(x); },
       [](double x) { return x > 0 ? x : std::expm1(x); }, -3, 3},
      {"elu(1.5)", [](const Tensor& x) { return elu(x, 1.5); },
       [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); }, -3, 3},
      {"gelu", [](const Tensor& x) { return gelu(x); },
       [](double x) { return x * 0.5 * (1 + std::erf(x / std::sqrt(2.0))); }, -4, 4},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_of(x); },
       -6, 6},
      {"softplus", [](const Tensor& x) { return softplus(x); },
       [](double x) { return std::log1p(std::exp(x)); }, -6, 6},
      {"softplus(beta 2, threshold 5)", [](const Tensor& x) { return softplus(x, 2.0, 5.0); },
       [](double x) { return 2 * x > 5 ? x : std::log1p(std::exp(2 * x)) / 2; }, -4, 4},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); },
       [](double x) { return std::min(std::max(x, -0.5), 0.7); }, -2, 2},
      {"clamp_min", [](const Tensor& x) { return clamp_min(x, -0.3); },
       [](double x) { return std::max(x, -0.3); }, -2, 2},
      {"clamp_max", [](const Tensor& x) { return x.clamp_max(0.4); },
       [](double x) { return std::min(x, 0.4); }, -2, 2},
      {"pow 2", [](const Tensor& x) { return x.pow(2); }, [](double x) { return x * x; }, -3, 3},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }, -3,
       3},
      {"pow 0.5", [](const Tensor& x) { return pow(x, 0.5); },
       [](double x) { return std::sqrt(x); }, 0.2, 4},
      {"pow -1.5", [](const Tensor& x) { return pow(x, -1.5); },
       [](double x) { return std::pow(x, -1.5); }, 0.5, 3},
      {"number ^ tensor", [](const Tensor& x) { return pow(2.5, x); },
       [](double x) { return std::pow(2.5, x); }, -2, 2},
  };
  return cases;
}

TEST_CASE("elementwise math matches std:: in float32 and float64") {
  for (const UnaryCase& c : unary_cases()) {
    for (Dtype dtype : {kFloat32, kFloat64}) {
      INFO(c.name, " in ", dtype_name(dtype));
      // 41 points across the domain, contiguous and as every other element of a longer tensor;
      // the reference is evaluated at the values actually stored.
      for (const Tensor& x : {linspace(c.low, c.high, 41, dtype),
                              linspace(c.low, c.high, 81, dtype).slice(0, 0, 81, 2)}) {
        INFO("layout: ", x.is_contiguous() ? "contiguous" : "strided");
        std::vector<double> expected;
        for (double v : test::values(x)) expected.push_back(c.reference(v));
        check_close_for(dtype, c.op(x), expected);
      }
    }
  }
}

TEST_CASE("elementwise math at infinities, NaN and saturation") {
  test::check_close(exp(tensor({-test::kInf, test::kInf, -1000.0})), {0.0, test::kInf, 0.0}, 0.0);
  test::check_close(log(tensor({0.0, test::kInf, -1.0})), {-test::kInf, test::kInf, test::kNaN},
                    0.0);
  test::check_close(sqrt(tensor({-1.0, test::kInf})), {test::kNaN, test::kInf}, 0.0);
  for (Dtype dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const Tensor big = tensor({-1000.0, 1000.0}, dtype);
    test::check_close(sigmoid(big), {0.0, 1.0}, 0.0, 1e-30);
    test::check_close(tanh(big), {-1.0, 1.0}, 0.0);
    test::check_close(silu(big), {0.0, 1000.0}, 0.0, 1e-30);
    test::check_close(gelu(big), {0.0, 1000.0}, 0.0, 1e-30);
    test::check_close(elu(big), {-1.0, 1000.0}, 0.0);
  }
  // NaN passes through relu, clamp and abs, as in PyTorch.
  test::check_close(relu(tensor({test::kNaN})), {test::kNaN}, 0.0);
  test::check_close(clamp(tensor({test::kNaN}), 0, 1), {test::kNaN}, 0.0);
  test::check_close(abs(tensor({test::kNaN, -0.0})), {test::kNaN, 0.0}, 0.0);
}

TEST_CASE("exp underflows to exactly 0, also on long (vectorized) inputs") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (int64_t n : {3, 64}) {
      INFO(dtype_name(dtype), " with ", n, " elements");
      for (double v : {-test::kInf, -1000.0, -800.0}) {
        test::check_close(exp(full({n}, v, dtype)),
                          std::vector<double>(static_cast<size_t>(n), 0.0), 0.0);
      }
      test::check_close(exp(full({n}, test::kInf, dtype)),
                        std::vector<double>(static_cast<size_t>(n), test::kInf), 0.0);
    }
  }
}

TEST_CASE("softplus is log(1 + exp(x)) without overflow or underflow") {
  SUBCASE("moderate x against long double") {
    for (Dtype dtype : {kFloat32, kFloat64}) {
      INFO(dtype_name(dtype));
      const Tensor x = linspace(-15, 15, 61, dtype);
      std::vector<double> expected;
      for (double v : test::values(x)) {
        const long double lv = v;
        expected.push_back(static_cast<double>(std::log1p(std::exp(lv))));
      }
      test::check_close(softplus(x), expected, dtype == kFloat32 ? 2e-6 : 1e-14);
    }
  }
  SUBCASE("large x gives x itself, never inf") {
    for (Dtype dtype : {kFloat32, kFloat64}) {
      INFO(dtype_name(dtype));
      test::check_close(softplus(tensor({30.0, 100.0, 1e4}, dtype)), {30.0, 100.0, 1e4}, 0.0);
      // Even with the threshold out of the way the stable form does not overflow.
      test::check_close(softplus(tensor({100.0, 1e4}, dtype), 1.0, 1e9), {100.0, 1e4}, 1e-15);
    }
  }
  SUBCASE("very negative x gives exp(x), not 0") {
    // log(1 + e) = e - e^2/2 + ...: for e = exp(-50) the correction is far below rounding.
    test::check_close(softplus(tensor({-50.0, -700.0})), {std::exp(-50.0), std::exp(-700.0)},
                      1e-14);
    test::check_close(softplus(tensor({-50.f})), {std::exp(-50.0)}, 1e-6);
  }
  SUBCASE("beta scales and the threshold applies to beta * x") {
    const Tensor x = tensor({3.0, 2.0, -1.0});
    // beta = 2, threshold = 5: 2 * 3 > 5 gives x; the others use the formula.
    test::check_close(softplus(x, 2.0, 5.0),
                      {3.0, std::log1p(std::exp(4.0)) / 2, std::log1p(std::exp(-2.0)) / 2}, 1e-14);
    // beta = 0.5: 0.5 * 30 = 15 is below the default threshold, so the formula is used.
    test::check_close(softplus(tensor({30.0}), 0.5), {30.0 + 2 * std::log1p(std::exp(-15.0))},
                      1e-15);
    test::check_error({"softplus", "beta"}, [&] { (void)softplus(x, 0.0); });
  }
}

// ---- Gradients ----------------------------------------------------------------------------------

TEST_CASE("gradients of unary ops") {
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    const test::Function fn = [&c](const std::vector<Tensor>& in) { return c.op(in[0]); };
    test::check_gradients(fn, {test::leaf_in({3, 4}, c.low, c.high, 11)});
    test::check_gradients(fn, {test::strided_leaf({3, 4}, 12, c.low, c.high)});
  }
}

struct BinaryGradCase {
  std::string name;
  BinaryFn op;
  double a_low, a_high, b_low, b_high;  // domains (denominators and pow bases stay positive)
};

const std::vector<BinaryGradCase>& binary_grad_cases() {
  static const std::vector<BinaryGradCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, -2, 2, -2, 2},
      {"add with alpha", [](const Tensor& a, const Tensor& b) { return add(a, b, 2.5); }, -2, 2, -2,
       2},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, -2, 2, -2, 2},
      {"sub with alpha", [](const Tensor& a, const Tensor& b) { return sub(a, b, -1.5); }, -2, 2,
       -2, 2},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, -2, 2, -2, 2},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, -2, 2, 0.5, 2},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, 0.5, 2, -2, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, -2, 2, -2, 2},
      {"minimum", [](const Tensor& a, const Tensor& b) { return a.minimum(b); }, -2, 2, -2, 2},
      {"where", [](const Tensor& a, const Tensor& b) { return where(a > 0, a, b); }, -2, 2, -2, 2},
  };
  return cases;
}

TEST_CASE("gradients of binary ops, same shapes, broadcast and strided") {
  struct Shapes {
    Shape a, b;
  };
  const std::vector<Shapes> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {3, 1}}, {{3, 4}, {4}}, {{1}, {3, 4}}, {{2, 1}, {1, 3}}};
  for (const BinaryGradCase& c : binary_grad_cases()) {
    const test::Function fn = [&c](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); };
    for (const Shapes& s : shapes) {
      INFO(c.name, " of ", shape_str(s.a), " and ", shape_str(s.b));
      test::check_gradients(fn, {test::leaf_in(s.a, c.a_low, c.a_high, 21),
                                 test::leaf_in(s.b, c.b_low, c.b_high, 22)});
    }
    INFO(c.name, " of strided operands");
    test::check_gradients(fn, {test::strided_leaf({3, 4}, 23, c.a_low, c.a_high),
                               test::strided_leaf({4}, 24, c.b_low, c.b_high)});
    // Only one operand requires grad.
    test::check_gradients(fn, {test::leaf_in({3, 4}, c.a_low, c.a_high, 25).detach(),
                               test::leaf_in({4}, c.b_low, c.b_high, 26)});
  }
}

TEST_CASE("gradients with a number operand") {
  const std::vector<UnaryCase> cases = {
      {"tensor + number", [](const Tensor& x) { return x + 2.5; }, nullptr, -2, 2},
      {"number + tensor", [](const Tensor& x) { return 2.5 + x; }, nullptr, -2, 2},
      {"tensor - number", [](const Tensor& x) { return x - 2.5; }, nullptr, -2, 2},
      {"number - tensor", [](const Tensor& x) { return 2.5 - x; }, nullptr, -2, 2},
      {"tensor * number", [](const Tensor& x) { return x * -1.5; }, nullptr, -2, 2},
      {"number * tensor", [](const Tensor& x) { return 3 * x; }, nullptr, -2, 2},
      {"tensor / number", [](const Tensor& x) { return x / 4.0; }, nullptr, -2, 2},
      {"number / tensor", [](const Tensor& x) { return 2.0 / x; }, nullptr, 0.5, 2},
      {"where(cond, tensor, number)", [](const Tensor& x) { return where(x > 0, x, 0.5); }, nullptr,
       -2, 2},
      {"where(cond, number, tensor)", [](const Tensor& x) { return where(x > 0, 0.5, x * x); },
       nullptr, -2, 2},
  };
  for (const UnaryCase& c : cases) {
    INFO(c.name);
    const test::Function fn = [&c](const std::vector<Tensor>& in) { return c.op(in[0]); };
    test::check_gradients(fn, {test::leaf_in({3, 4}, c.low, c.high, 31)});
    test::check_gradients(fn, {test::strided_leaf({3, 4}, 32, c.low, c.high)});
  }
}

// Gradients of sum(op(a, b)) with respect to both operands.
std::pair<Tensor, Tensor> sum_gradients(const BinaryFn& op, const Tensor& a, const Tensor& b) {
  const std::vector<Tensor> grads = autograd::grad({op(a, b).sum()}, {a, b});
  return {grads[0], grads[1]};
}

TEST_CASE("maximum and minimum split the gradient evenly on ties") {
  const Tensor a = tensor({1.0, 2.0, 3.0}).requires_grad_();
  const Tensor b = tensor({1.0, 0.0, 5.0}).requires_grad_();
  const auto [max_a, max_b] = sum_gradients(maximum, a, b);
  test::check_close(max_a, {0.5, 1.0, 0.0}, 0.0);
  test::check_close(max_b, {0.5, 0.0, 1.0}, 0.0);
  const auto [min_a, min_b] = sum_gradients(minimum, a, b);
  test::check_close(min_a, {0.5, 0.0, 1.0}, 0.0);
  test::check_close(min_b, {0.5, 1.0, 0.0}, 0.0);
}

TEST_CASE("pow's gradient at a zero base is finite") {
  // d(a^b)/db = a^b log a, taken as 0 at a = 0 (the limit for b > 0).
  const Tensor a = tensor({0.0, 2.0}).requires_grad_();
  const Tensor b = tensor({2.0, 3.0}).requires_grad_();
  const auto [grad_a, grad_b] =
      sum_gradients([](const Tensor& x, const Tensor& y) { return pow(x, y); }, a, b);
  test::check_close(grad_a, {0.0, 12.0}, 1e-15);
  test::check_close(grad_b, {0.0, 8.0 * std::log(2.0)}, 1e-15);
}

TEST_CASE("gradients of ops with kinks take PyTorch's choice at the kink") {
  const Tensor x = tensor({0.0, 0.0}).requires_grad_();
  test::check_close(test::gradient_of([](const Tensor& v) { return abs(v); }, x), {0.0, 0.0}, 0.0);
  test::check_close(test::gradient_of([](const Tensor& v) { return relu(v); }, x), {0.0, 0.0}, 0.0);
  // Clamp passes the gradient at its bounds.
  test::check_close(test::gradient_of([](const Tensor& v) { return clamp(v, 0.0, 1.0); }, x),
                    {1.0, 1.0}, 0.0);
  test::check_close(test::gradient_of([](const Tensor& v) { return clamp(v, -1.0, 0.0); }, x),
                    {1.0, 1.0}, 0.0);
}

// ---- Errors -------------------------------------------------------------------------------------

TEST_CASE("elu's gradient far below 0 is alpha e^x in float32, as PyTorch") {
  // x = torch.tensor([-15., -17., -20., -30., -50., 0.5], requires_grad=True)
  // F.elu(x, alpha=0.5).sum().backward(); x.grad
  const Tensor x = tensor({-15.0f, -17.0f, -20.0f, -30.0f, -50.0f, 0.5f}).requires_grad_();
  elu(x, 0.5).sum().backward();
  // From the output, alpha + elu(x) rounded to 0 from x = -20 on, and was 44% off at -17.
  test::check_close(x.grad(),
                    {1.5295115929347958e-07, 2.0699689073921945e-08, 1.030576846083875e-09,
                     4.6788114561099187e-14, 9.643749466768692e-23, 1.0},
                    1e-6);
}

// The float32 elements' bit patterns (NaN compares unequal to itself; -0 equal to 0).
std::vector<uint32_t> float_bits(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<uint32_t> bits;
  for (int64_t i = 0; i < c.numel(); ++i)
    bits.push_back(std::bit_cast<uint32_t>(c.data_ptr<float>()[i]));
  return bits;
}

TEST_CASE("relu_backward masks the gradient by the output in one op, as where(out > 0, g, 0)") {
  const double inf = std::numeric_limits<double>::infinity();
  // Outputs: positive, zero, -0, NaN (a NaN input's ReLU), and a negative (never a ReLU's output,
  // masked all the same); gradients with NaN and infinities.
  const Tensor output = tensor({2.0, 0.0, -0.0, test::kNaN, -1.0, 3.0}, kFloat32);
  const Tensor grad = tensor({1.5, 2.0, 3.0, 4.0, 5.0, test::kNaN}, kFloat32);
  CHECK(float_bits(relu_backward(grad, output)) == float_bits(where(output > 0, grad, 0.0)));
  const Tensor huge = tensor({inf, -inf, 1.0, 1.0, 1.0, 1.0}, kFloat32);
  CHECK(float_bits(relu_backward(huge, output)) == float_bits(where(output > 0, huge, 0.0)));
  // Broadcast, and a non-contiguous gradient; differentiable in the gradient (second order too).
  const Tensor out = relu(test::leaf({3}, 7).detach());
  test::check_gradients([&](const std::vector<Tensor>& in) { return relu_backward(in[0], out); },
                        {test::leaf({4, 3}, 8).t().contiguous().t()});
  test::check_gradients([&](const std::vector<Tensor>& in) { return relu_backward(in[0], out); },
                        {test::leaf({2, 3}, 9).transpose(0, 1).t()});
  // relu's own double backward goes through it.
  test::check_gradients([](const std::vector<Tensor>& in) { return relu(in[0]) * in[0]; },
                        {test::leaf({5}, 10)});
  test::check_error(
      {"relu_backward", "expected float32 or float64 tensors of one dtype", "int64[2] on cpu"}, [] {
        (void)relu_backward(tensor<int64_t>({1, 2}), tensor<int64_t>({1, 0}));
      });
  test::check_error({"relu_backward", "float32[2] on cpu", "float64[2] on cpu"}, [] {
    (void)relu_backward(tensor({1.0, 2.0}, kFloat32), tensor({1.0, 2.0}, kFloat64));
  });
  test::check_error({"relu_backward", "[2]", "[3]"},
                    [] { (void)relu_backward(ones({2}), ones({3})); });
}

TEST_CASE("shapes that do not broadcast name the op and both shapes") {
  const Tensor a = zeros({2, 3}), b = zeros({4});
  const std::vector<std::pair<std::string, BinaryFn>> ops = {
      {"add", [](const Tensor& x, const Tensor& y) { return x + y; }},
      {"sub", [](const Tensor& x, const Tensor& y) { return x - y; }},
      {"mul", [](const Tensor& x, const Tensor& y) { return x * y; }},
      {"div", [](const Tensor& x, const Tensor& y) { return x / y; }},
      {"pow", [](const Tensor& x, const Tensor& y) { return pow(x, y); }},
      {"maximum", [](const Tensor& x, const Tensor& y) { return maximum(x, y); }},
      {"minimum", [](const Tensor& x, const Tensor& y) { return minimum(x, y); }},
      {"eq", [](const Tensor& x, const Tensor& y) { return x == y; }},
      {"lt", [](const Tensor& x, const Tensor& y) { return x < y; }},
      {"logical_and", [](const Tensor& x, const Tensor& y) { return logical_and(x, y); }},
      {"logical_or", [](const Tensor& x, const Tensor& y) { return logical_or(x, y); }},
      {"where", [](const Tensor& x, const Tensor& y) { return where(x > 0, x, y); }},
  };
  for (const auto& entry : ops) {
    const auto& name = entry.first;  // not [name, op]: clang 14 cannot capture bindings
    const auto& op = entry.second;
    INFO(name);
    test::check_error({name, "[2, 3]", "[4]"}, [&] { (void)op(a, b); });
  }
  test::check_error({"where", "[2]", "[2, 3]"}, [&] {
    (void)where(tensor({true, false}), a, 0.0);
  });
}

TEST_CASE("misused elementwise ops throw") {
  const Tensor x = tensor({1.0, -1.0, 0.5});
  test::check_error({"where", "bool", "float64[3]"}, [&] { (void)where(x, x, x); });
  test::check_error({"clamp", "min", "max"}, [&] { (void)clamp(x, std::nullopt, std::nullopt); });
}

TEST_CASE("undefined tensors passed to ops throw naming the op") {
  const Tensor undefined;
  const Tensor x = tensor({1.0, 2.0});
  const std::vector<std::pair<std::string, std::function<Tensor()>>> calls = {
      {"add", [&] { return undefined + x; }},
      {"add", [&] { return x + undefined; }},
      {"add", [&] { return undefined + 2.0; }},
      {"sub", [&] { return undefined - x; }},
      {"sub", [&] { return x - undefined; }},
      {"mul", [&] { return x * undefined; }},
      {"div", [&] { return 1.0 / undefined; }},
      {"pow", [&] { return pow(undefined, x); }},
      {"pow", [&] { return pow(undefined, 2.0); }},
      {"pow", [&] { return pow(2.0, undefined); }},
      {"maximum", [&] { return maximum(x, undefined); }},
      {"eq", [&] { return undefined == 1.0; }},
      {"logical_and", [&] { return logical_and(undefined, x); }},
      {"logical_or", [&] { return logical_or(x, undefined); }},
      {"logical_not", [&] { return logical_not(undefined); }},
      {"where", [&] { return where(undefined, x, x); }},
      {"where", [&] { return where(x > 0, undefined, 0.0); }},
      {"neg", [&] { return -undefined; }},
      {"exp", [&] { return exp(undefined); }},
      {"softplus", [&] { return softplus(undefined); }},
      {"clamp", [&] { return clamp(undefined, 0, 1); }},
  };
  for (const auto& entry : calls) {
    const auto& name = entry.first;  // not [name, call]: clang 14 cannot capture bindings
    const auto& call = entry.second;
    INFO(name);
    test::check_error({name, "undefined"}, [&] { (void)call(); });
  }
}

}  // namespace
