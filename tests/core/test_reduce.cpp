// Reductions, softmax and sum_to: values against naive loops over every element, structure
// (dims, keepdim, layouts, sizes the kernels split differently), gradients and error messages.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "test_util.h"

using namespace bg;

namespace {

using ReduceFn = std::function<Tensor(const Tensor& x, const Dims& dims, bool keepdim)>;

// ---- The naive reference ------------------------------------------------------------------------

// Where each element of a tensor of `sizes` (row-major) goes when `dims` are reduced: the index of
// its output element in the keepdim shape. An empty dim list means every dim.
struct Reduction {
  Shape kept_sizes;    // the output's sizes with keepdim
  Shape output_sizes;  // ... and without
  std::vector<int64_t> target;
  int64_t count = 1;  // elements per output

  Reduction(const Shape& sizes, const Dims& dims) {
    const auto ndim = static_cast<int64_t>(sizes.size());
    std::vector<bool> reduced(sizes.size(), dims.empty());
    for (int64_t d : dims.list()) reduced[static_cast<size_t>(d < 0 ? d + ndim : d)] = true;
    for (size_t d = 0; d < sizes.size(); ++d) {
      kept_sizes.push_back(reduced[d] ? 1 : sizes[d]);
      if (reduced[d])
        count *= sizes[d];
      else
        output_sizes.push_back(sizes[d]);
    }
    for (int64_t flat = 0; flat < numel_of(sizes); ++flat) {
      int64_t rest = flat, out = 0, out_stride = 1;
      for (int64_t d = ndim - 1; d >= 0; --d) {
        const int64_t index = rest % sizes[d];
        rest /= sizes[d];
        if (!reduced[d]) out += index * out_stride;
        out_stride *= kept_sizes[d];
      }
      target.push_back(out);
    }
  }

  int64_t outputs() const { return numel_of(kept_sizes); }

  // `combine` folded over each output's elements, starting from `init`.
  template <typename T, typename Combine>
  std::vector<T> fold(const std::vector<T>& x, T init, Combine combine) const {
    std::vector<T> out(static_cast<size_t>(outputs()), init);
    for (size_t i = 0; i < x.size(); ++i) {
      T& acc = out[static_cast<size_t>(target[i])];
      acc = combine(acc, x[i]);
    }
    return out;
  }
};

// The variance of each output's elements, in two passes (mean, then squared deviations).
std::vector<double> naive_var(const Reduction& r, const std::vector<double>& x,
                              int64_t correction) {
  std::vector<double> mean = r.fold(x, 0.0, std::plus<>());
  for (double& m : mean) m /= static_cast<double>(r.count);
  std::vector<double> squares(mean.size(), 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    const double deviation = x[i] - mean[static_cast<size_t>(r.target[i])];
    squares[static_cast<size_t>(r.target[i])] += deviation * deviation;
  }
  for (double& s : squares) s /= static_cast<double>(r.count - correction);
  return squares;
}

// Inputs of shape [3, 4, 5] in three layouts: contiguous, permuted, and sliced along a middle dim.
std::vector<std::pair<std::string, Tensor>> layouts(Dtype dtype) {
  Generator generator(7);
  return {
      {"contiguous", randn({3, 4, 5}, dtype, &generator)},
      {"permuted", randn({5, 4, 3}, dtype, &generator).permute({2, 1, 0})},
      {"sliced", randn({3, 8, 5}, dtype, &generator).slice(1, 0, 8, 2)},
  };
}

// Dim lists over a 3-d tensor: single, negative, several (adjacent or not), all.
const std::vector<Dims>& dim_lists() {
  static const std::vector<Dims> lists = {Dims{},     Dims{0},    Dims{1},      Dims{-1},
                                          Dims{0, 2}, Dims{1, 2}, Dims{-3, -1}, Dims{0, 1, 2}};
  return lists;
}

struct ReduceCase {
  std::string name;
  ReduceFn op;
  double init;
  std::function<double(double, double)> combine;
  bool average;  // divide by the element count (mean)
};

const std::vector<ReduceCase>& reduce_cases() {
  static const std::vector<ReduceCase> cases = {
      {"sum", [](const Tensor& x, const Dims& d, bool k) { return x.sum(d, k); }, 0.0,
       std::plus<>(), false},
      {"mean", [](const Tensor& x, const Dims& d, bool k) { return mean(x, d, k); }, 0.0,
       std::plus<>(), true},
      {"prod", [](const Tensor& x, const Dims& d, bool k) { return x.prod(d, k); }, 1.0,
       std::multiplies<>(), false},
      {"max", [](const Tensor& x, const Dims& d, bool k) { return x.max(d, k); }, -test::kInf,
       [](double a, double b) { return std::max(a, b); }, false},
      {"min", [](const Tensor& x, const Dims& d, bool k) { return min(x, d, k); }, test::kInf,
       [](double a, double b) { return std::min(a, b); }, false},
  };
  return cases;
}

std::string dims_str(const Dims& dims) { return shape_str(dims.list()); }

// ---- Values -------------------------------------------------------------------------------------

TEST_CASE("sum, mean, prod, max and min match a naive loop over every dim list and layout") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const auto& entry : layouts(dtype)) {
      const auto& layout = entry.first;  // not [layout, x]: clang 14 cannot capture bindings
      const auto& x = entry.second;
      const std::vector<double> data = test::values(x);
      for (const ReduceCase& c : reduce_cases()) {
        for (const Dims& dims : dim_lists()) {
          const Reduction r(x.sizes(), dims);
          std::vector<double> expected = r.fold(data, c.init, c.combine);
          if (c.average) {
            for (double& e : expected) e /= static_cast<double>(r.count);
          }
          for (bool keepdim : {false, true}) {
            INFO(c.name, " over ", dims_str(dims), " keepdim ", keepdim, " of ", layout, " ",
                 dtype_name(dtype));
            const Tensor out = c.op(x, dims, keepdim);
            CHECK(out.dtype() == dtype);
            CHECK(out.sizes() == (keepdim ? r.kept_sizes : r.output_sizes));
            if (dtype == kFloat32)
              test::check_close(out, expected, 1e-6, 1e-6);
            else
              test::check_close(out, expected, 1e-13, 1e-13);
          }
        }
      }
    }
  }
}

TEST_CASE("int64 sum, prod, max and min are exact and stay int64") {
  Generator generator(3);
  // |x| <= 5 over 24 elements: every product fits in int64.
  const Tensor x = randint(-5, 6, {2, 3, 4}, {}, &generator);
  const Tensor t = x.transpose(0, 2);  // a non-contiguous view
  std::vector<int64_t> data = test::ints(x), data_t = test::ints(t);
  struct Case {
    std::string name;
    ReduceFn op;
    int64_t init;
    std::function<int64_t(int64_t, int64_t)> combine;
  };
  const std::vector<Case> cases = {
      {"sum", [](const Tensor& v, const Dims& d, bool k) { return sum(v, d, k); }, 0,
       std::plus<>()},
      {"prod", [](const Tensor& v, const Dims& d, bool k) { return prod(v, d, k); }, 1,
       std::multiplies<>()},
      {"max", [](const Tensor& v, const Dims& d, bool k) { return max(v, d, k); },
       std::numeric_limits<int64_t>::min(), [](int64_t a, int64_t b) { return std::max(a, b); }},
      {"min", [](const Tensor& v, const Dims& d, bool k) { return min(v, d, k); },
       std::numeric_limits<int64_t>::max(), [](int64_t a, int64_t b) { return std::min(a, b); }},
  };
  for (const Case& c : cases) {
    for (const Dims& dims : dim_lists()) {
      INFO(c.name, " over ", dims_str(dims));
      const Tensor out = c.op(x, dims, false);
      CHECK(out.dtype() == kInt64);
      CHECK(test::ints(out) == Reduction(x.sizes(), dims).fold(data, c.init, c.combine));
      CHECK(test::ints(c.op(t, dims, true)) ==
            Reduction(t.sizes(), dims).fold(data_t, c.init, c.combine));
    }
  }
}

TEST_CASE("bool reductions: sum counts as int64, max and min are any and all") {
  const Tensor x = tensor({{true, false, true}, {false, false, false}});
  CHECK(x.sum().dtype() == kInt64);
  CHECK(x.sum().item<int64_t>() == 2);
  CHECK(test::ints(x.sum(1)) == std::vector<int64_t>{2, 0});
  CHECK(test::ints(x.prod(0)) == std::vector<int64_t>{0, 0, 0});
  CHECK(x.max(1).dtype() == kBool);
  CHECK(test::ints(x.max(1)) == std::vector<int64_t>{1, 0});
  CHECK(test::ints(x.min(0)) == std::vector<int64_t>{0, 0, 0});
}

TEST_CASE("sum, max and min over long rows, long columns and middle dims are exact") {
  // Whole numbers: every sum is exact (float32 accumulates in float64), so the kernels' split into
  // blocks, column chunks and threads must reproduce the naive result exactly.
  struct Case {
    Shape sizes;
    Dims dims;
  };
  const std::vector<Case> cases = {
      {{3, 10000}, Dims{1}},       // long rows (several blocks each)
      {{10000, 3}, Dims{0}},       // column sums, as for a bias gradient
      {{4, 3000, 5}, Dims{1}},     // the middle of a 3-d tensor
      {{2, 3000, 3}, Dims{0, 2}},  // non-adjacent dims: reduced after a copy
      {{50000}, Dims{0}},          // one long row, its blocks reduced in parallel
  };
  Generator generator(9);
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const Case& c : cases) {
      const Tensor x = randint(-100, 100, c.sizes, dtype, &generator);
      const std::vector<double> data = test::values(x);
      const Reduction r(c.sizes, c.dims);
      for (const ReduceCase& op : reduce_cases()) {
        if (op.name != "sum" && op.name != "max" && op.name != "min") continue;
        INFO(op.name, " of ", shape_str(c.sizes), " over ", dims_str(c.dims), " in ",
             dtype_name(dtype));
        test::check_close(op.op(x, c.dims, false), r.fold(data, op.init, op.combine), 0.0);
      }
    }
  }
}

TEST_CASE("a million float32 values sum accurately") {
  CHECK(ones({1000000}).sum().item<float>() == 1e6f);
  CHECK(ones({1000000}).mean().item<float>() == 1.0f);
  test::check_close(ones({1000, 1000}).sum(0), std::vector<double>(1000, 1000.0), 0.0);
  test::check_close(ones({1000, 1000}).sum(1), std::vector<double>(1000, 1000.0), 0.0);
  Generator generator(5);
  const Tensor x = rand({1000000}, kFloat32, &generator);
  long double exact = 0;
  for (double v : test::values(x)) exact += v;
  // Only the final rounding to float32 remains (a float32 running sum would be off by ~1e-4).
  test::check_close(x.sum(), {static_cast<double>(exact)}, 1e-7);
  test::check_close(x.mean(), {static_cast<double>(exact / 1e6L)}, 1e-7);
}

TEST_CASE("argmax and argmin give the first index of ties") {
  const Tensor x = tensor({{1.0, 3.0, 3.0, 2.0}, {5.0, 0.0, 5.0, 0.0}});
  CHECK(x.argmax(1).dtype() == kInt64);
  CHECK(test::ints(x.argmax(1)) == std::vector<int64_t>{1, 0});
  CHECK(test::ints(x.argmin(1)) == std::vector<int64_t>{0, 1});
  CHECK(test::ints(argmax(x, -1)) == std::vector<int64_t>{1, 0});
  CHECK(test::ints(x.argmax(0)) == std::vector<int64_t>{1, 0, 1, 0});
  CHECK(test::ints(x.argmin(0)) == std::vector<int64_t>{0, 1, 0, 1});
  CHECK(x.argmax(1).sizes() == Shape{2});
  CHECK(x.argmax(1, true).sizes() == Shape{2, 1});
  CHECK(x.argmin(0, true).sizes() == Shape{1, 4});

  SUBCASE("over all elements: a 0-dim index into the flattened tensor") {
    CHECK(x.argmax().dim() == 0);
    CHECK(x.argmax().item<int64_t>() == 4);
    CHECK(x.argmin().item<int64_t>() == 5);
    // Flattened in the transposed view's own order: 1, 5, 3, 0, 3, 5, 2, 0.
    CHECK(x.t().argmax().item<int64_t>() == 1);
    CHECK(x.t().argmin().item<int64_t>() == 3);
    CHECK(scalar_tensor(2.0).argmax().item<int64_t>() == 0);
    CHECK(argmax(scalar_tensor(2.0), 0).item<int64_t>() == 0);
  }
  SUBCASE("non-contiguous, int64, bool and NaN inputs") {
    CHECK(test::ints(x.t().argmax(0)) == test::ints(x.argmax(1)));
    CHECK(test::ints(x.t().argmin(1)) == test::ints(x.argmin(0)));
    CHECK(tensor({3, 7, 7}).argmax().item<int64_t>() == 1);
    CHECK(tensor({false, true, true}).argmax().item<int64_t>() == 1);
    CHECK(tensor({true, false, false}).argmin().item<int64_t>() == 1);
    // NaN counts as the largest and the smallest, as in PyTorch.
    CHECK(tensor({1.0, test::kNaN, 3.0, test::kNaN}).argmax().item<int64_t>() == 1);
    CHECK(tensor({1.0, test::kNaN, -3.0, test::kNaN}).argmin().item<int64_t>() == 1);
  }
  SUBCASE("against a naive loop over the middle dim of every layout") {
    for (const auto& entry : layouts(kFloat64)) {
      const auto& layout = entry.first;  // not [layout, v]: clang 14 cannot capture bindings
      const auto& v = entry.second;
      INFO(layout);
      const std::vector<double> data = test::values(v);  // [3, 4, 5], no ties
      std::vector<int64_t> expected_max, expected_min;
      for (int64_t i = 0; i < 3; ++i) {
        for (int64_t k = 0; k < 5; ++k) {
          auto at = [&](int64_t j) { return data[static_cast<size_t>((i * 4 + j) * 5 + k)]; };
          int64_t best_max = 0, best_min = 0;
          for (int64_t j = 1; j < 4; ++j) {
            if (at(j) > at(best_max)) best_max = j;
            if (at(j) < at(best_min)) best_min = j;
          }
          expected_max.push_back(best_max);
          expected_min.push_back(best_min);
        }
      }
      CHECK(test::ints(v.argmax(1)) == expected_max);
      CHECK(test::ints(v.argmin(-2)) == expected_min);
    }
  }
}

TEST_CASE("var and std match the two-pass formula with corrections 0 and 1") {
  test::check_close(tensor({1.0, 2.0, 3.0, 4.0}).var(), {5.0 / 3.0}, 1e-15);
  test::check_close(tensor({1.0, 2.0, 3.0, 4.0}).var({}, 0), {1.25}, 1e-15);
  test::check_close(tensor({1.0, 2.0, 3.0, 4.0}).std({}, 0), {std::sqrt(1.25)}, 1e-15);
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const auto& entry : layouts(dtype)) {
      const auto& layout = entry.first;  // not [layout, x]: clang 14 cannot capture bindings
      const auto& x = entry.second;
      const std::vector<double> data = test::values(x);
      for (const Dims& dims : dim_lists()) {
        const Reduction r(x.sizes(), dims);
        for (int64_t correction : {0, 1}) {
          const std::vector<double> expected_var = naive_var(r, data, correction);
          std::vector<double> expected_std;
          for (double v : expected_var) expected_std.push_back(std::sqrt(v));
          for (bool keepdim : {false, true}) {
            INFO("over ", dims_str(dims), " correction ", correction, " keepdim ", keepdim, " of ",
                 layout, " ", dtype_name(dtype));
            const Tensor v = var(x, dims, correction, keepdim);
            CHECK(v.sizes() == (keepdim ? r.kept_sizes : r.output_sizes));
            const double rtol = dtype == kFloat32 ? 1e-5 : 1e-13;
            test::check_close(v, expected_var, rtol);
            test::check_close(x.std(dims, correction, keepdim), expected_std, rtol);
          }
        }
      }
    }
  }
}

TEST_CASE("norm for p = 1, 2, 3, inf, -inf and 0") {
  test::check_close(tensor({3.0, -4.0}).norm(), {5.0}, 1e-15);
  test::check_close(tensor({3.0, -4.0}).norm(1), {7.0}, 0.0);
  test::check_close(tensor({3.0, -4.0}).norm(3), {std::cbrt(91.0)}, 1e-15);
  test::check_close(tensor({3.0, -4.0}).norm(INFINITY), {4.0}, 0.0);
  test::check_close(tensor({3.0, -4.0}).norm(-INFINITY), {3.0}, 0.0);
  test::check_close(tensor({0.0, -4.0, 0.0, 0.5}).norm(0), {2.0}, 0.0);

  struct Case {
    double p;
    double init;
    std::function<double(double, double)> combine;  // over |x| (|x|^p for finite p > 0)
  };
  const std::vector<Case> cases = {
      {1, 0, std::plus<>()},
      {2, 0, std::plus<>()},
      {3, 0, std::plus<>()},
      {test::kInf, 0, [](double a, double b) { return std::max(a, b); }},
      {-test::kInf, test::kInf, [](double a, double b) { return std::min(a, b); }},
      {0, 0, [](double a, double b) { return a + (b != 0); }},
  };
  for (const auto& entry : layouts(kFloat64)) {
    const auto& layout = entry.first;  // not [layout, x]: clang 14 cannot capture bindings
    const auto& x = entry.second;
    std::vector<double> magnitudes = test::values(x);
    for (double& m : magnitudes) m = std::abs(m);
    for (const Case& c : cases) {
      const bool power = std::isfinite(c.p) && c.p > 0;
      std::vector<double> powered = magnitudes;
      if (power) {
        for (double& m : powered) m = std::pow(m, c.p);
      }
      for (const Dims& dims : {Dims{}, Dims{1}, Dims{0, 2}, Dims{-1}}) {
        std::vector<double> expected = Reduction(x.sizes(), dims).fold(powered, c.init, c.combine);
        if (power) {
          for (double& e : expected) e = std::pow(e, 1 / c.p);
        }
        for (bool keepdim : {false, true}) {
          INFO("p ", c.p, " over ", dims_str(dims), " keepdim ", keepdim, " of ", layout);
          test::check_close(norm(x, c.p, dims, keepdim), expected, 1e-13);
        }
      }
    }
  }
}

TEST_CASE("logsumexp matches log(sum(exp(x))) and survives huge and infinite values") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const auto& entry : layouts(dtype)) {
      const auto& layout = entry.first;  // not [layout, x]: clang 14 cannot capture bindings
      const auto& x = entry.second;
      std::vector<long double> data;
      for (double v : test::values(x)) data.push_back(std::exp(static_cast<long double>(v)));
      for (const Dims& dims : dim_lists()) {
        const Reduction r(x.sizes(), dims);
        std::vector<double> expected;
        for (long double s : r.fold(data, 0.0L, std::plus<>())) {
          expected.push_back(static_cast<double>(std::log(s)));
        }
        for (bool keepdim : {false, true}) {
          INFO("over ", dims_str(dims), " keepdim ", keepdim, " of ", layout, " ",
               dtype_name(dtype));
          const Tensor out = logsumexp(x, dims, keepdim);
          CHECK(out.dtype() == dtype);
          CHECK(out.sizes() == (keepdim ? r.kept_sizes : r.output_sizes));
          test::check_close(out, expected, dtype == kFloat32 ? 1e-6 : 1e-14, 1e-6);
        }
      }
    }
    INFO(dtype_name(dtype));
    const Tensor huge = tensor({{1000.0, 1000.0}, {-1000.0, -1000.0}, {1000.0, -1000.0}}, dtype);
    test::check_close(huge.logsumexp(1), {1000 + std::log(2.0), -1000 + std::log(2.0), 1000.0},
                      1e-7);
    // All -inf is log(0) = -inf; one +inf makes the result +inf. Never NaN.
    const Tensor infinite = tensor({{-test::kInf, -test::kInf},
                                    {0.0, -test::kInf},
                                    {test::kInf, 1.0},
                                    {test::kInf, -test::kInf}},
                                   dtype);
    test::check_close(infinite.logsumexp(1), {-test::kInf, 0.0, test::kInf, test::kInf}, 0.0);
    test::check_close(infinite.logsumexp(1, true), {-test::kInf, 0.0, test::kInf, test::kInf}, 0.0);
  }
}

// Softmax along `dim` of a contiguous-order copy of `x`, in long double.
std::vector<double> naive_softmax(const Tensor& x, int64_t dim, bool log) {
  const std::vector<double> data = test::values(x);
  const Reduction r(x.sizes(), Dims{dim});
  const std::vector<double> max =
      r.fold(data, -test::kInf, [](double a, double b) { return std::max(a, b); });
  std::vector<long double> shifted;
  for (size_t i = 0; i < data.size(); ++i) {
    shifted.push_back(static_cast<long double>(data[i]) - max[static_cast<size_t>(r.target[i])]);
  }
  std::vector<long double> exps;
  for (long double s : shifted) exps.push_back(std::exp(s));
  const std::vector<long double> sums = r.fold(exps, 0.0L, std::plus<>());
  std::vector<double> out;
  for (size_t i = 0; i < data.size(); ++i) {
    const long double total = sums[static_cast<size_t>(r.target[i])];
    out.push_back(static_cast<double>(log ? shifted[i] - std::log(total) : exps[i] / total));
  }
  return out;
}

TEST_CASE("softmax and log_softmax match the formula along every dim") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const auto& entry : layouts(dtype)) {
      const auto& layout = entry.first;  // not [layout, x]: clang 14 cannot capture bindings
      const auto& x = entry.second;
      for (int64_t dim : {0, 1, 2, -1, -3}) {
        INFO("dim ", dim, " of ", layout, " ", dtype_name(dtype));
        const double rtol = dtype == kFloat32 ? 1e-6 : 1e-14;
        const Tensor soft = softmax(x, dim);
        CHECK(soft.dtype() == dtype);
        CHECK(soft.sizes() == x.sizes());
        test::check_close(soft, naive_softmax(x, dim, false), rtol, 1e-7);
        test::check_close(x.log_softmax(dim), naive_softmax(x, dim, true), rtol, 1e-6);
      }
    }
    INFO(dtype_name(dtype));
    // Huge inputs: no overflow to inf and no inf - inf = NaN.
    test::check_close(softmax(tensor({1000.0, 1000.0, -1000.0}, dtype), 0), {0.5, 0.5, 0.0}, 1e-7);
    test::check_close(log_softmax(tensor({1000.0, -1000.0}, dtype), 0), {0.0, -2000.0}, 0.0);
    test::check_close(log_softmax(tensor({-1000.0, -1000.0}, dtype), 0),
                      {-std::log(2.0), -std::log(2.0)}, 1e-7);
  }
  // Masked (-inf) entries of a row long enough for the vectorized path get exactly 0.
  for (Dtype dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const Tensor masked = cat({zeros({8}, dtype), full({8}, -test::kInf, dtype)});
    std::vector<double> expected(16, 0.0);
    std::fill(expected.begin(), expected.begin() + 8, 0.125);
    test::check_close(softmax(masked, 0), expected, 0.0);
    test::check_close(softmax(masked.unsqueeze(0).expand({3, 16}), 1),
                      test::values(softmax(masked, 0).unsqueeze(0).expand({3, 16})), 0.0);
  }
  // A 0-dim tensor is a single-element distribution.
  CHECK(softmax(scalar_tensor(3.0), 0).item<double>() == 1.0);
  CHECK(log_softmax(scalar_tensor(3.0), -1).item<double>() == 0.0);
}

TEST_CASE("sum_to sums the broadcast dims away") {
  const Tensor x = test::leaf({2, 3, 4});
  const std::vector<double> data = test::values(x);
  struct Case {
    Shape target;
    Dims dims;
  };
  for (const Case& c : std::vector<Case>{{{3, 1}, Dims{0, 2}},
                                         {{4}, Dims{0, 1}},
                                         {{1, 3, 4}, Dims{0}},
                                         {{2, 1, 1}, Dims{1, 2}},
                                         {{}, Dims{}}}) {
    INFO(shape_str(c.target));
    const Tensor out = sum_to(x, c.target);
    CHECK(out.sizes() == c.target);
    test::check_close(out, Reduction(x.sizes(), c.dims).fold(data, 0.0, std::plus<>()), 1e-14,
                      1e-14);
    test::check_gradients([&c](const std::vector<Tensor>& in) { return sum_to(in[0], c.target); },
                          {x});
  }
  CHECK(sum_to(x, {2, 3, 4}).is_same(x));
  test::check_error({"sum_to", "[2, 3, 4]", "[5]"}, [&] { (void)sum_to(x, {5}); });
  test::check_error({"sum_to", "[2, 3, 4]", "[2, 4]"}, [&] { (void)sum_to(x, {2, 4}); });
  test::check_error({"sum_to", "[3, 4]", "[2, 3, 4]"}, [&] { (void)sum_to(x.sum(0), {2, 3, 4}); });
}

// ---- Gradients ----------------------------------------------------------------------------------

TEST_CASE("gradients of reductions over every kind of dim list") {
  const std::vector<std::pair<std::string, ReduceFn>> ops = {
      {"sum", [](const Tensor& x, const Dims& d, bool k) { return x.sum(d, k); }},
      {"mean", [](const Tensor& x, const Dims& d, bool k) { return x.mean(d, k); }},
      {"prod", [](const Tensor& x, const Dims& d, bool k) { return x.prod(d, k); }},
      {"max", [](const Tensor& x, const Dims& d, bool k) { return x.max(d, k); }},
      {"min", [](const Tensor& x, const Dims& d, bool k) { return x.min(d, k); }},
      {"var", [](const Tensor& x, const Dims& d, bool k) { return x.var(d, 1, k); }},
      {"var correction 0", [](const Tensor& x, const Dims& d, bool k) { return var(x, d, 0, k); }},
      {"std", [](const Tensor& x, const Dims& d, bool k) { return x.std(d, 1, k); }},
      {"std correction 0",
       [](const Tensor& x, const Dims& d, bool k) { return bg::std(x, d, 0, k); }},
      {"logsumexp", [](const Tensor& x, const Dims& d, bool k) { return x.logsumexp(d, k); }},
      {"norm 1", [](const Tensor& x, const Dims& d, bool k) { return x.norm(1, d, k); }},
      {"norm 2", [](const Tensor& x, const Dims& d, bool k) { return x.norm(2, d, k); }},
      {"norm 3", [](const Tensor& x, const Dims& d, bool k) { return norm(x, 3, d, k); }},
      {"norm inf",
       [](const Tensor& x, const Dims& d, bool k) { return norm(x, test::kInf, d, k); }},
      {"norm 0", [](const Tensor& x, const Dims& d, bool k) { return norm(x, 0, d, k); }},
  };
  const std::vector<std::pair<std::string, Tensor>> inputs = {
      {"contiguous", test::leaf({2, 3, 4}, 41)}, {"strided", test::strided_leaf({2, 3, 4}, 42)}};
  for (const auto& entry : ops) {
    const auto& name = entry.first;  // not [name, op]: clang 14 cannot capture bindings
    const auto& op = entry.second;
    for (const Dims& dims : {Dims{1}, Dims{-1}, Dims{0, 2}, Dims{}}) {
      for (bool keepdim : {false, true}) {
        for (const auto& input : inputs) {
          const auto& layout = input.first;  // not [layout, x]: clang 14 cannot capture bindings
          const auto& x = input.second;
          INFO(name, " over ", dims_str(dims), " keepdim ", keepdim, " of ", layout);
          test::check_gradients(
              [&](const std::vector<Tensor>& in) { return op(in[0], dims, keepdim); }, {x});
        }
      }
    }
  }
}

TEST_CASE("gradients of softmax and log_softmax") {
  for (int64_t dim : {0, 1, -1}) {
    for (const Tensor& x : {test::leaf({2, 3, 4}, 43), test::strided_leaf({2, 3, 4}, 44)}) {
      INFO("dim ", dim, x.is_contiguous() ? " contiguous" : " strided");
      test::check_gradients([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); },
                            {x});
      test::check_gradients([dim](const std::vector<Tensor>& in) { return in[0].log_softmax(dim); },
                            {x});
    }
  }
}

TEST_CASE("prod's gradient is the product of the others, also at zeros") {
  // One zero in the first row, two in the second, none in the third.
  const Tensor x = tensor({{2.0, 0.0, 3.0}, {0.0, 0.0, 4.0}, {1.0, 2.0, 3.0}}).requires_grad_();
  test::check_close(test::gradient_of([](const Tensor& v) { return v.prod(1); }, x),
                    {0, 6, 0, 0, 0, 0, 6, 3, 2}, 1e-15);
  test::check_close(test::gradient_of([](const Tensor& v) { return v.prod(1, true); }, x),
                    {0, 6, 0, 0, 0, 0, 6, 3, 2}, 1e-15);
  // Over all elements there are three zeros: every derivative is 0.
  test::check_close(test::gradient_of([](const Tensor& v) { return v.prod(); }, x),
                    std::vector<double>(9, 0.0), 0.0);
  test::check_close(test::gradient_of([](const Tensor& v) { return v.prod(); }, x[0]), {0, 6, 0},
                    1e-15);
  // prod is multilinear, so finite differences are exact even at the zeros; second derivatives
  // across two zeros of a slice are the product of the rest, not 0.
  for (int64_t dim : {0, 1}) {
    INFO("dim ", dim);
    test::check_gradients([dim](const std::vector<Tensor>& in) { return in[0].prod(dim); }, {x});
  }
  test::check_gradients([](const std::vector<Tensor>& in) { return in[0].prod(); },
                        {tensor({0.0, 0.0, 2.0, 3.0}).requires_grad_()});
}

TEST_CASE("max and min split the gradient evenly between ties") {
  const Tensor x = tensor({{1.0, 3.0, 3.0}, {2.0, 2.0, 2.0}}).requires_grad_();
  const double third = 1.0 / 3.0;
  test::check_close(test::gradient_of([](const Tensor& v) { return v.max(1); }, x),
                    {0, 0.5, 0.5, third, third, third}, 1e-15);
  test::check_close(test::gradient_of([](const Tensor& v) { return v.max(-1, true); }, x),
                    {0, 0.5, 0.5, third, third, third}, 1e-15);
  test::check_close(test::gradient_of([](const Tensor& v) { return v.max(); }, x),
                    {0, 0.5, 0.5, 0, 0, 0}, 0.0);
  test::check_close(test::gradient_of([](const Tensor& v) { return v.min(1); }, x),
                    {1, 0, 0, third, third, third}, 1e-15);
  test::check_close(test::gradient_of([](const Tensor& v) { return v.min(0); }, x),
                    {1, 0, 0, 0, 1, 1}, 0.0);
  test::check_close(test::gradient_of(
                        [](const Tensor& v) {
                          return v.t().min({0, 1});
                        },
                        x),
                    {1, 0, 0, 0, 0, 0}, 0.0);
}

TEST_CASE("norm's gradient at zero is 0, not NaN") {
  for (double p : {1.0, 2.0, 3.0, test::kInf}) {
    INFO("p ", p);
    const Tensor zero = zeros({3}, kFloat64).requires_grad_();
    test::check_close(test::gradient_of([p](const Tensor& v) { return v.norm(p); }, zero),
                      {0, 0, 0}, 0.0);
  }
  // One zero row among nonzero ones.
  const Tensor x = tensor({{0.0, 0.0}, {3.0, -4.0}}).requires_grad_();
  test::check_close(test::gradient_of([](const Tensor& v) { return v.norm(2, 1); }, x),
                    {0, 0, 0.6, -0.8}, 1e-15);
  // A zero element of a nonzero slice: x |x|^(p-2) tends to 0 for every p > 1, also below 2.
  for (double p : {1.5, 2.0, 3.0}) {
    INFO("p ", p);
    const Tensor v = tensor({0.0, 3.0, -4.0}).requires_grad_();
    const double n = std::pow(std::pow(3.0, p) + std::pow(4.0, p), 1 / p);
    const double scale = std::pow(n, 1 - p);
    test::check_close(test::gradient_of([p](const Tensor& t) { return t.norm(p); }, v),
                      {0.0, std::pow(3.0, p - 1) * scale, -std::pow(4.0, p - 1) * scale}, 1e-14);
  }
}

// ---- Errors -------------------------------------------------------------------------------------

TEST_CASE("bad dims name the op and the dim") {
  const Tensor x = zeros({2, 3, 4});
  const std::vector<std::pair<std::vector<std::string>, std::function<Tensor()>>> calls = {
      {{"sum", "dim 3", "out of range"}, [&] { return x.sum(3); }},
      {{"mean", "dim -4", "out of range"},
       [&] {
         return x.mean({0, -4});
       }},
      {{"prod", "repeats"},
       [&] {
         return x.prod({0, 0});
       }},
      {{"max", "repeats"},
       [&] {
         return x.max({1, -2});
       }},
      {{"min", "dim 5"}, [&] { return x.min(5); }},
      {{"var", "repeats"},
       [&] {
         return x.var({2, -1});
       }},
      {{"std", "dim 7"}, [&] { return x.std(7); }},
      {{"logsumexp", "dim 3"}, [&] { return x.logsumexp(3); }},
      {{"norm", "dim 3"}, [&] { return x.norm(2, 3); }},
      {{"softmax", "dim 3"}, [&] { return x.softmax(3); }},
      {{"log_softmax", "dim -4"}, [&] { return x.log_softmax(-4); }},
      {{"argmax", "dim 3"}, [&] { return x.argmax(3); }},
      {{"argmin", "dim -4"}, [&] { return x.argmin(-4); }},
  };
  for (const auto& entry : calls) {
    const auto& parts = entry.first;  // not [parts, call]: clang 14 cannot capture bindings
    const auto& call = entry.second;
    INFO(parts[0]);
    test::check_error(parts, [&] { (void)call(); });
  }
}

TEST_CASE("reductions over a size-0 dim") {
  const Tensor empty = zeros({0, 3});
  CHECK(empty.sum(0).sizes() == Shape{3});
  test::check_close(empty.sum(0), {0, 0, 0}, 0.0);
  CHECK(empty.sum().item<double>() == 0.0);
  test::check_close(empty.prod(0), {1, 1, 1}, 0.0);
  CHECK(empty.sum(1).sizes() == Shape{0});
  CHECK(empty.max(1).sizes() == Shape{0});  // reduces a non-empty dim: an empty result
  test::check_close(empty.logsumexp(0), {-test::kInf, -test::kInf, -test::kInf}, 0.0);
  // max, min and the arg forms have no identity to return.
  test::check_error({"max", "size 0", "[0, 3]"}, [&] { (void)empty.max(0); });
  test::check_error({"min", "size 0"}, [&] { (void)empty.min(); });
  test::check_error({"argmax", "empty"}, [&] { (void)empty.argmax(); });
  test::check_error({"argmin", "size 0"}, [&] { (void)empty.argmin(0); });
}

TEST_CASE("std of a constant row has gradient 0, as PyTorch") {
  // x = torch.tensor([[2., 2., 2.], [1., 2., 4.]], dtype=torch.float64, requires_grad=True)
  // x.std(1).sum().backward(); x.grad
  const Tensor x = tensor({{2.0, 2.0, 2.0}, {1.0, 2.0, 4.0}}).requires_grad_();
  const Tensor s = x.std(1);
  test::check_close(s, {0.0, 1.5275252316519465}, 1e-15);
  s.sum().backward();
  test::check_close(
      x.grad(), {0, 0, 0, -0.43643578047198484, -0.10910894511799625, 0.5455447255899809}, 1e-14);
  // Elsewhere the gradient is sqrt's: checked against finite differences.
  test::check_gradients([](const auto& in) { return in[0].std(1, 0); }, {test::leaf({3, 4}, 7)});
}

TEST_CASE("var and std divide by max(0, N - correction): inf past N, NaN over an empty dim") {
  // torch.tensor([[1., 2.]]).var(1, correction=3) and .std(...): tensor([inf]); correction=2 too.
  const Tensor x = tensor({{1.0, 2.0}});
  test::check_close(x.var(1, 3), {test::kInf}, 0.0);
  test::check_close(x.std(1, 3), {test::kInf}, 0.0);
  test::check_close(x.var(1, 2), {test::kInf}, 0.0);
  // torch.zeros(3, 0).var(1) and .std(1): tensor([nan, nan, nan]); also with correction=0.
  const Tensor empty = zeros({3, 0});
  test::check_close(empty.var(1), {test::kNaN, test::kNaN, test::kNaN}, 0.0);
  test::check_close(empty.std(1), {test::kNaN, test::kNaN, test::kNaN}, 0.0);
  test::check_close(empty.var(1, 0), {test::kNaN, test::kNaN, test::kNaN}, 0.0);
}

TEST_CASE("softmax and log_softmax over or beside a size-0 dim give the empty result, as PyTorch") {
  // torch.zeros(3, 0).softmax(1) is tensor([], size=(3, 0)); so is log_softmax.
  for (const Shape& sizes : {Shape{3, 0}, Shape{0, 3}, Shape{2, 0, 4}}) {
    for (int64_t dim = 0; dim < static_cast<int64_t>(sizes.size()); ++dim) {
      INFO("sizes ", shape_str(sizes), ", dim ", dim);
      const Tensor x = zeros(sizes, TensorOptions(kFloat64).requires_grad(true));
      const Tensor y = x.softmax(dim), log_y = x.log_softmax(dim);
      CHECK(y.sizes() == sizes);
      CHECK(log_y.sizes() == sizes);
      (y.sum() + log_y.sum()).backward();
      CHECK(x.grad().sizes() == sizes);
    }
  }
  // Non-contiguous: the transposed view of an empty tensor.
  CHECK(zeros({0, 3}).t().softmax(0).sizes() == Shape{3, 0});
}

TEST_CASE("floating-only reductions reject integer tensors") {
  const Tensor x = tensor({1, 2, 3});
  test::check_error({"mean", "int64"}, [&] { (void)x.mean(); });
  test::check_error({"var", "int64"}, [&] { (void)x.var(); });
  test::check_error({"std", "int64"}, [&] { (void)x.std(); });
  test::check_error({"norm", "int64"}, [&] { (void)x.norm(); });
  test::check_error({"logsumexp", "int64"}, [&] { (void)x.logsumexp(0); });
  test::check_error({"softmax", "int64"}, [&] { (void)x.softmax(0); });
  test::check_error({"log_softmax", "int64"}, [&] { (void)x.log_softmax(0); });
  test::check_error({"mean", "bool"}, [&] { (void)tensor({true}).mean(); });
}

TEST_CASE("undefined tensors passed to reductions throw naming the op") {
  const Tensor undefined;
  const std::vector<std::pair<std::string, std::function<Tensor()>>> calls = {
      {"sum", [&] { return sum(undefined); }},
      {"mean", [&] { return mean(undefined); }},
      {"prod", [&] { return prod(undefined); }},
      {"max", [&] { return max(undefined); }},
      {"min", [&] { return min(undefined, 0); }},
      {"argmax", [&] { return argmax(undefined); }},
      {"argmin", [&] { return argmin(undefined, 0); }},
      {"var", [&] { return var(undefined); }},
      {"std", [&] { return bg::std(undefined); }},
      {"logsumexp", [&] { return logsumexp(undefined, 0); }},
      {"norm", [&] { return norm(undefined); }},
      {"softmax", [&] { return softmax(undefined, 0); }},
      {"log_softmax", [&] { return log_softmax(undefined, 0); }},
      {"sum_to", [&] { return sum_to(undefined, {1}); }},
  };
  for (const auto& entry : calls) {
    const auto& name = entry.first;  // not [name, call]: clang 14 cannot capture bindings
    const auto& call = entry.second;
    INFO(name);
    test::check_error({name, "undefined"}, [&] { (void)call(); });
  }
}

}  // namespace
