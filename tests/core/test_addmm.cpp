// addmm and baddbmm with beta = alpha = 1: the input added in the GEMM's epilogue (the matmul
// primitive's bias). The result must be the product's plus the input bit for bit, on every kernel
// path of the CPU backend and for every layout of the input, on any number of threads; gradients
// and errors as for the composition.

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
      for (const auto& [name, input] : inputs(p.a.size(0), p.b.size(1), dtype)) {
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

TEST_CASE("addmm gives the same bits on 1 and 2 threads") {
  const Tensor a = randn({5000, 20}), weight = randn({20, 20}), bias = randn({20});
  const Tensor wide = randn({20, 400}), wide_bias = randn({400});
  const int saved = get_num_threads();
  set_num_threads(1);
  const Tensor narrow_one = addmm(bias, a, weight.t()), wide_one = addmm(wide_bias, a, wide);
  set_num_threads(2);
  const Tensor narrow_two = addmm(bias, a, weight.t()), wide_two = addmm(wide_bias, a, wide);
  set_num_threads(saved);
  CHECK(equal(narrow_one, narrow_two));
  CHECK(equal(wide_one, wide_two));
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
