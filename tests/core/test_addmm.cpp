// addmm and baddbmm with beta = alpha = 1: the input added in the GEMM's epilogue (the matmul
// primitive's bias), and addmm_relu and baddbmm_relu, which apply the ReLU there too. The result
// must be the product's plus the input (then its ReLU) bit for bit, on every kernel path of the CPU
// backend and for every layout of the input, on any number of threads; gradients and errors as
// for the composition.

#include <cmath>
#include <limits>
#include <string>

#include "test_util.h"

using namespace bg;

namespace {

struct Product {
  std::string name;
  Tensor a, b;
};

// One product per kernel path of core/src/cpu/matmul.cpp, with the layouts a Linear layer gives
// (b = weight.t()).
std::vector<Product> products(Dtype dtype) {
  Generator generator(31);
  const auto draw = [&](const Shape& sizes) { return randn(sizes, dtype, &generator); };
  return {
      {"small", draw({6, 5}), draw({7, 5}).t()},
      {"small, a transposed", draw({5, 6}).t(), draw({5, 7})},
      // B row-major with a partial register (20 columns): read in place, its tail by masked loads.
      {"small, b row-major", draw({13, 64}), draw({64, 20})},
      // Tall and narrow (a small MLP's hidden layer on a large batch): row chunks of 512, a last
      // chunk of 6 rows, 20 columns in one full and one partial register.
      {"tall, 20 columns", draw({1030, 20}), draw({20, 20}).t()},
      {"tall, 1 column", draw({1030, 20}), draw({1, 20}).t()},
      {"tall, 1 inner", draw({1030, 1}), draw({20, 1}).t()},
      // At least 48 columns: the packed GEMM for float32 (two depth slices), Eigen for float64.
      {"wide", draw({70, 300}), draw({130, 300}).t()},
      // Large: Eigen's tiles for float64 (the packed GEMM for float32).
      {"large", draw({300, 57}), draw({57, 270})},
      // A long inner dimension with both operands contiguous along it: dot_gemm.
      {"long inner", draw({20, 600}), draw({30, 600}).t()},
  };
}

// Inputs of every layout for an [M, N] product: named, each broadcastable to [M, N].
std::vector<std::pair<std::string, Tensor>> inputs(int64_t M, int64_t N, Dtype dtype) {
  Generator generator(37);
  const auto draw = [&](const Shape& sizes) { return randn(sizes, dtype, &generator); };
  return {
      {"[N]", draw({N})},
      {"[M, N]", draw({M, N})},
      {"[1, N]", draw({1, N})},
      {"[M, 1] (broadcast along the rows)", draw({M, 1})},
      {"[N] strided", draw({2 * N}).slice(0, 0, 2 * N, 2)},
      {"[M, N] transposed", draw({N, M}).t()},
      {"0-d", draw({})},
  };
}

}  // namespace

TEST_CASE("addmm adds its input to the product bit for bit, on every GEMM path and layout") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const Product& p : products(dtype)) {
      const Tensor product = mm(p.a, p.b);
      for (const auto& entry : inputs(p.a.size(0), p.b.size(1), dtype)) {
        const auto& name = entry.first;  // not [name, input]: clang 14 cannot capture bindings
        const auto& input = entry.second;
        INFO(p.name, " + ", name, " in ", dtype_name(dtype));
        const Tensor out = addmm(input, p.a, p.b);
        CHECK(out.sizes() == product.sizes());
        CHECK(equal(out, product + input));
      }
    }
  }
}

TEST_CASE("baddbmm adds its input to each batch's product bit for bit") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator generator(41);
    const auto draw = [&](const Shape& sizes) { return randn(sizes, dtype, &generator); };
    // The vectorised Monte Carlo pass's layer: S draws of a [20, 20] weight, transposed, each with
    // its own bias [S, 1, 20]; one batch shared by all draws (stride 0).
    const Tensor weights = draw({3, 20, 20}).transpose(1, 2);
    for (const Tensor& batch : {draw({3, 600, 20}), draw({1, 600, 20}).expand({3, 600, 20})}) {
      const Tensor product = bmm(batch, weights);
      for (const Tensor& input :
           {draw({3, 1, 20}), draw({20}), draw({600, 20}), draw({3, 600, 1})}) {
        INFO(describe(batch), " + ", describe(input), " in ", dtype_name(dtype));
        CHECK(equal(baddbmm(input, batch, weights), product + input));
      }
    }
  }
}

TEST_CASE("addmm_relu is addmm's ReLU bit for bit, on every GEMM path and layout") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (const Product& p : products(dtype)) {
      for (const auto& entry : inputs(p.a.size(0), p.b.size(1), dtype)) {
        const auto& name = entry.first;  // not [name, input]: clang 14 cannot capture bindings
        const auto& input = entry.second;
        INFO(p.name, " + ", name, " in ", dtype_name(dtype));
        CHECK(equal(addmm_relu(input, p.a, p.b), addmm(input, p.a, p.b).relu()));
      }
    }
  }
}

TEST_CASE("addmm_relu keeps NaN and -0 as relu does") {
  // A zero product plus these inputs: ReLU keeps NaN and -0 (x < 0 is false for both), so the
  // epilogue must too, on the small kernel (8 columns), the packed one (64, float32) and Eigen's
  // (64, float64).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> special{nan, -0.0, -inf, inf, -1.0, 2.0, 0.0, -nan};
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (int64_t columns : {8, 64}) {
      std::vector<double> row;
      for (int64_t j = 0; j < columns; ++j) row.push_back(special[static_cast<size_t>(j % 8)]);
      const Tensor input = tensor(row, {columns}, dtype);
      const Tensor a = zeros({3, 5}, dtype), b = ones({5, columns}, dtype);
      const std::vector<double> fused = test::values(addmm_relu(input, a, b));
      const std::vector<double> unfused = test::values(addmm(input, a, b).relu());
      REQUIRE(fused.size() == unfused.size());
      for (size_t i = 0; i < fused.size(); ++i) {
        INFO("element ", i, " of ", columns, " columns in ", dtype_name(dtype), ": ", fused[i],
             " and ", unfused[i]);
        CHECK(std::isnan(fused[i]) == std::isnan(unfused[i]));
        CHECK(std::signbit(fused[i]) == std::signbit(unfused[i]));
        if (!std::isnan(unfused[i])) CHECK(fused[i] == unfused[i]);
      }
    }
  }
}

TEST_CASE("baddbmm_relu is baddbmm's ReLU bit for bit") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator generator(43);
    const auto draw = [&](const Shape& sizes) { return randn(sizes, dtype, &generator); };
    const Tensor weights = draw({3, 20, 20}).transpose(1, 2);
    for (const Tensor& batch : {draw({3, 600, 20}), draw({1, 600, 20}).expand({3, 600, 20})}) {
      for (const Tensor& input : {draw({3, 1, 20}), draw({20}), draw({3, 600, 1})}) {
        INFO(describe(batch), " + ", describe(input), " in ", dtype_name(dtype));
        CHECK(equal(baddbmm_relu(input, batch, weights), baddbmm(input, batch, weights).relu()));
      }
    }
  }
}

TEST_CASE("addmm and addmm_relu give the same bits on 1 and 2 threads") {
  const Tensor a = randn({5000, 20}), weight = randn({20, 20}), bias = randn({20});
  const Tensor wide = randn({20, 400}), wide_bias = randn({400});
  const int saved = get_num_threads();
  const auto products = [&] {
    return std::vector<Tensor>{addmm(bias, a, weight.t()), addmm(wide_bias, a, wide),
                               addmm_relu(bias, a, weight.t()), addmm_relu(wide_bias, a, wide)};
  };
  set_num_threads(1);
  const std::vector<Tensor> one = products();
  set_num_threads(2);
  const std::vector<Tensor> two = products();
  set_num_threads(saved);
  for (size_t i = 0; i < one.size(); ++i) CHECK(equal(one[i], two[i]));
}

TEST_CASE("gradients of addmm and baddbmm with the input in the epilogue") {
  // Broadcast inputs (their gradients are sums over the broadcast dims) and non-contiguous
  // operands.
  const auto addmm_of = [](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2]); };
  test::check_gradients(addmm_of, {test::leaf({3}), test::leaf({2, 4}, 2), test::leaf({4, 3}, 3)});
  test::check_gradients(
      addmm_of, {test::leaf({2, 1}, 4), test::strided_leaf({2, 4}, 5), test::leaf({3, 4}, 6).t()});
  test::check_gradients(addmm_of, {test::strided_leaf({2, 3}, 7), test::leaf({4, 2}, 8).t(),
                                   test::strided_leaf({4, 3}, 9)});
  const auto baddbmm_of = [](const std::vector<Tensor>& in) {
    return baddbmm(in[0], in[1], in[2]);
  };
  test::check_gradients(baddbmm_of, {test::leaf({2, 1, 3}, 10), test::leaf({2, 2, 4}, 11),
                                     test::leaf({2, 3, 4}, 12).transpose(1, 2)});
  test::check_gradients(baddbmm_of, {test::strided_leaf({2, 3}, 13),
                                     test::strided_leaf({2, 2, 4}, 14), test::leaf({2, 4, 3}, 15)});
}

TEST_CASE("gradients of addmm_relu and baddbmm_relu") {
  // Against finite differences (no sum lies within the step of the kink at 0), with broadcast
  // inputs and non-contiguous operands.
  const auto addmm_relu_of = [](const std::vector<Tensor>& in) {
    return addmm_relu(in[0], in[1], in[2]);
  };
  test::check_gradients(addmm_relu_of,
                        {test::leaf({3}, 20), test::leaf({4, 5}, 21), test::leaf({5, 3}, 22)});
  test::check_gradients(addmm_relu_of, {test::leaf({4, 1}, 23), test::strided_leaf({4, 5}, 24),
                                        test::leaf({3, 5}, 25).t()});
  const auto baddbmm_relu_of = [](const std::vector<Tensor>& in) {
    return baddbmm_relu(in[0], in[1], in[2]);
  };
  test::check_gradients(baddbmm_relu_of,
                        {test::leaf({2, 1, 3}, 26), test::strided_leaf({2, 4, 5}, 27),
                         test::leaf({2, 3, 5}, 28).transpose(1, 2)});

  // The same bits as the gradients of the composition, in float32 too.
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator generator(47);
    const auto draw = [&](const Shape& sizes) {
      return randn(sizes, dtype, &generator).requires_grad_();
    };
    const Tensor bias = draw({20}), a = draw({70, 30}), weight = draw({20, 30});
    const Tensor g = randn({70, 20}, dtype, &generator);
    const std::vector<Tensor> inputs{bias, a, weight};
    const std::vector<Tensor> fused =
        autograd::grad({addmm_relu(bias, a, weight.t())}, inputs, {g});
    const std::vector<Tensor> unfused =
        autograd::grad({addmm(bias, a, weight.t()).relu()}, inputs, {g});
    for (size_t i = 0; i < inputs.size(); ++i) {
      INFO("input ", i, " in ", dtype_name(dtype));
      CHECK(equal(fused[i], unfused[i]));
    }
    const Tensor batch = draw({3, 40, 30}), weights = draw({3, 20, 30}), biases = draw({3, 1, 20});
    const Tensor gb = randn({3, 40, 20}, dtype, &generator);
    const std::vector<Tensor> batch_inputs{biases, batch, weights};
    const std::vector<Tensor> fused_b =
        autograd::grad({baddbmm_relu(biases, batch, weights.transpose(1, 2))}, batch_inputs, {gb});
    const std::vector<Tensor> unfused_b = autograd::grad(
        {baddbmm(biases, batch, weights.transpose(1, 2)).relu()}, batch_inputs, {gb});
    for (size_t i = 0; i < batch_inputs.size(); ++i) {
      INFO("batched input ", i, " in ", dtype_name(dtype));
      CHECK(equal(fused_b[i], unfused_b[i]));
    }
  }
}

TEST_CASE("addmm and baddbmm with the input in the epilogue name the op and operands in errors") {
  test::check_error({"addmm", "cannot multiply", "float32[2, 3]", "float32[2, 2]"}, [] {
    addmm(ones({2}), ones({2, 3}), ones({2, 2}));
  });
  test::check_error({"addmm", "float32[3]", "does not broadcast", "[2, 2]"}, [] {
    addmm(ones({3}), ones({2, 2}), ones({2, 2}));
  });
  test::check_error({"addmm", "float64", "float32"}, [] {
    addmm(ones({2}), ones({2, 2}, kFloat64), ones({2, 2}));
  });
  test::check_error({"addmm", "float32 or float64", "int64[2, 2]"}, [] {
    addmm(ones({2}, kInt64), ones({2, 2}, kInt64), ones({2, 2}, kInt64));
  });
  test::check_error({"addmm", "undefined"}, [] { addmm(ones({2}), Tensor(), ones({2, 2})); });
  test::check_error({"baddbmm", "cannot multiply", "float32[2, 2, 3]", "float32[3, 3, 2]"}, [] {
    baddbmm(ones({2}), ones({2, 2, 3}), ones({3, 3, 2}));
  });
  test::check_error({"baddbmm", "float64[2]", "float32"}, [] {
    baddbmm(ones({2}, kFloat64), ones({1, 2, 2}), ones({1, 2, 2}));
  });
  test::check_error({"baddbmm", "float32[2, 1, 3]", "does not broadcast", "[1, 2, 2]"}, [] {
    baddbmm(ones({2, 1, 3}), ones({1, 2, 2}), ones({1, 2, 2}));
  });
}

TEST_CASE("addmm_relu and baddbmm_relu name the op and operands in errors") {
  test::check_error({"addmm_relu", "cannot multiply", "float32[2, 3]", "float32[2, 2]"}, [] {
    addmm_relu(ones({2}), ones({2, 3}), ones({2, 2}));
  });
  test::check_error({"addmm_relu", "float32[3]", "does not broadcast", "[2, 2]"}, [] {
    addmm_relu(ones({3}), ones({2, 2}), ones({2, 2}));
  });
  test::check_error({"addmm_relu", "float64", "float32"}, [] {
    addmm_relu(ones({2}), ones({2, 2}, kFloat64), ones({2, 2}));
  });
  test::check_error({"addmm_relu", "float32 or float64", "int64[2, 2]"}, [] {
    addmm_relu(ones({2}, kInt64), ones({2, 2}, kInt64), ones({2, 2}, kInt64));
  });
  test::check_error({"addmm_relu", "undefined"}, [] {
    addmm_relu(Tensor(), ones({2, 2}), ones({2, 2}));
  });
  test::check_error({"baddbmm_relu", "cannot multiply", "float32[2, 2, 3]", "float32[3, 3, 2]"},
                    [] {
                      baddbmm_relu(ones({2}), ones({2, 2, 3}), ones({3, 3, 2}));
                    });
  test::check_error({"baddbmm_relu", "float64[2]", "float32"}, [] {
    baddbmm_relu(ones({2}, kFloat64), ones({1, 2, 2}), ones({1, 2, 2}));
  });
}
