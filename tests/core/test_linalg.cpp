// Matrix products: matmul's numpy forms, mm and bmm against a naive triple loop in double, with
// transposed, strided and broadcast operands, a product large enough for the tiled parallel path,
// gradients and error messages.

#include <cmath>
#include <functional>
#include <string>

#include "test_util.h"

using namespace bg;

namespace {

// numpy's matmul computed by the definition, in double. `magnitude` holds sum_k |a_ik b_kj| for
// each output: a dot product of length K computed in floating point is off by at most about
// K * unit roundoff * magnitude, whatever the order of the additions.
struct Product {
  Shape sizes;
  std::vector<double> value, magnitude;
  int64_t inner = 0;
};

Product naive_matmul(const Tensor& a, const Tensor& b) {
  const std::vector<double> av = test::values(a), bv = test::values(b);
  // A 1-d left operand is a row [1, K], a 1-d right operand a column [K, 1]; those dims are dropped
  // from the result again.
  Shape as = a.sizes(), bs = b.sizes();
  if (a.dim() == 1) as = {1, as[0]};
  if (b.dim() == 1) bs = {bs[0], 1};
  const int64_t M = as[as.size() - 2], K = as[as.size() - 1], N = bs[bs.size() - 1];
  REQUIRE(K == bs[bs.size() - 2]);
  // Batch dims, right-aligned and padded with 1s to the same length, then broadcast.
  const size_t batch_dims = std::max(as.size(), bs.size()) - 2;
  Shape batch_a(batch_dims, 1), batch_b(batch_dims, 1), batch(batch_dims, 1);
  std::copy(as.begin(), as.end() - 2, batch_a.end() - (as.size() - 2));
  std::copy(bs.begin(), bs.end() - 2, batch_b.end() - (bs.size() - 2));
  for (size_t d = 0; d < batch_dims; ++d) batch[d] = std::max(batch_a[d], batch_b[d]);

  Product p;
  p.inner = K;
  for (int64_t flat = 0; flat < numel_of(batch); ++flat) {
    // The matrix of each operand this batch element reads (index 0 along broadcast dims).
    int64_t rest = flat, offset_a = 0, offset_b = 0, stride_a = 1, stride_b = 1;
    for (size_t d = batch_dims; d-- > 0;) {
      const int64_t index = rest % batch[d];
      rest /= batch[d];
      offset_a += (batch_a[d] == 1 ? 0 : index) * stride_a;
      offset_b += (batch_b[d] == 1 ? 0 : index) * stride_b;
      stride_a *= batch_a[d];
      stride_b *= batch_b[d];
    }
    const double* am = av.data() + offset_a * M * K;
    const double* bm = bv.data() + offset_b * K * N;
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        double sum = 0, magnitude = 0;
        for (int64_t k = 0; k < K; ++k) {
          sum += am[i * K + k] * bm[k * N + j];
          magnitude += std::abs(am[i * K + k] * bm[k * N + j]);
        }
        p.value.push_back(sum);
        p.magnitude.push_back(magnitude);
      }
    }
  }
  p.sizes = batch;
  if (a.dim() > 1) p.sizes.push_back(M);
  if (b.dim() > 1) p.sizes.push_back(N);
  return p;
}

// `out` is a @ b within the rounding error a dot product of its dtype may make.
void check_product(const Tensor& out, const Tensor& a, const Tensor& b) {
  const Product expected = naive_matmul(a, b);
  CHECK(out.dtype() == a.dtype());
  REQUIRE(out.sizes() == expected.sizes);
  const double unit_roundoff = out.dtype() == kFloat32 ? 0x1p-24 : 0x1p-53;
  const std::vector<double> got = test::values(out);
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element ", i, ": got ", got[i], ", expected ", expected.value[i]);
    CHECK(std::abs(got[i] - expected.value[i]) <=
          2 * static_cast<double>(expected.inner) * unit_roundoff * expected.magnitude[i]);
  }
}

struct Operands {
  std::string name;
  Tensor a, b;
};

// Operand pairs for every form of matmul; `make` draws a tensor of the given sizes. Views of those
// tensors give transposed, strided and permuted layouts.
std::vector<Operands> matmul_cases(const std::function<Tensor(const Shape&)>& make) {
  return {
      {"1-d . 1-d", make({5}), make({5})},
      {"2-d @ 2-d", make({3, 4}), make({4, 5})},
      {"1-d @ 2-d", make({4}), make({4, 5})},
      {"2-d @ 1-d", make({3, 4}), make({4})},
      {"3-d @ 3-d", make({2, 3, 4}), make({2, 4, 5})},
      {"[B, M, K] @ [K, N]", make({2, 3, 4}), make({4, 5})},
      {"[M, K] @ [B, K, N]", make({3, 4}), make({2, 4, 5})},
      {"3-d @ 1-d", make({2, 3, 4}), make({4})},
      {"1-d @ 3-d", make({4}), make({2, 4, 5})},
      {"4-d with broadcast batch dims", make({2, 1, 3, 4}), make({1, 3, 4, 2})},
      {"4-d @ 3-d", make({2, 3, 2, 4}), make({3, 4, 2})},
      {"batch of one @ batch", make({1, 3, 4}), make({2, 4, 5})},
      {"a transposed", make({4, 3}).t(), make({4, 5})},
      {"b transposed", make({3, 4}), make({5, 4}).t()},
      {"both transposed", make({4, 3}).t(), make({5, 4}).t()},
      {"batches transposed", make({2, 4, 3}).transpose(1, 2), make({2, 5, 4}).transpose(1, 2)},
      {"strided both ways", make({6, 8}).slice(0, 0, 6, 2).slice(1, 0, 8, 2),
       make({4, 10}).slice(1, 1, 10, 2)},
      {"permuted batch dim", make({3, 2, 4}).permute({1, 0, 2}),
       make({4, 2, 5}).permute({1, 0, 2})},
      {"strided 1-d", make({10}).slice(0, 0, 10, 2), make({5, 3})},
  };
}

Tensor draw(const Shape& sizes, Dtype dtype, Generator& generator) {
  return randn(sizes, dtype, &generator);
}

// ---- Values -------------------------------------------------------------------------------------

TEST_CASE("matmul matches a naive loop for every numpy form and layout") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator generator(17);
    for (const Operands& c :
         matmul_cases([&](const Shape& sizes) { return draw(sizes, dtype, generator); })) {
      INFO(c.name, " in ", dtype_name(dtype));
      check_product(matmul(c.a, c.b), c.a, c.b);
      check_product(c.a.matmul(c.b), c.a, c.b);
      // mm and bmm for the cases in their form.
      if (c.a.dim() == 2 && c.b.dim() == 2) check_product(mm(c.a, c.b), c.a, c.b);
      if (c.a.dim() == 3 && c.b.dim() == 3 && c.a.size(0) == c.b.size(0)) {
        check_product(c.a.bmm(c.b), c.a, c.b);
      }
    }
    // bmm reads a batch dim of stride 0 without copying it.
    const Tensor shared = draw({1, 3, 4}, dtype, generator).expand({2, 3, 4});
    const Tensor batch = draw({2, 4, 5}, dtype, generator);
    check_product(bmm(shared, batch), shared, batch);
    check_product(bmm(batch.transpose(1, 2), shared.transpose(1, 2)), batch.transpose(1, 2),
                  shared.transpose(1, 2));
  }
}

TEST_CASE("matmul of 1-d operands drops their dims") {
  const Tensor v = tensor({1.0, 2.0, 3.0});
  const Tensor m = tensor({{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}});  // [3, 2]
  CHECK(matmul(v, v).dim() == 0);
  CHECK(matmul(v, v).item<double>() == 14.0);
  CHECK(matmul(v, m).sizes() == Shape{2});
  CHECK(test::values(matmul(v, m)) == std::vector<double>{4.0, 5.0});
  CHECK(matmul(m.t(), v).sizes() == Shape{2});
  CHECK(test::values(matmul(m.t(), v)) == std::vector<double>{4.0, 5.0});
}

TEST_CASE("an empty inner dim gives zeros") {
  const Tensor out = matmul(zeros({3, 0}), zeros({0, 4}));
  CHECK(out.sizes() == Shape{3, 4});
  CHECK(test::values(out) == std::vector<double>(12, 0.0));
  CHECK(test::values(bmm(zeros({2, 2, 0}), zeros({2, 0, 3}))) == std::vector<double>(12, 0.0));
}

TEST_CASE("matmul of an empty batch or an empty row count gives an empty result") {
  // (torch.zeros(0, 5, 3) @ torch.zeros(3, 2)).shape == (0, 5, 2), and so on.
  CHECK(matmul(zeros({0, 5, 3}), zeros({3, 2})).sizes() == Shape{0, 5, 2});
  CHECK(matmul(zeros({2, 0, 3}), zeros({3})).sizes() == Shape{2, 0});
  CHECK(matmul(zeros({0, 2, 3}), zeros({0, 3, 4})).sizes() == Shape{0, 2, 4});
  CHECK(matmul(zeros({2, 0, 3}), zeros({2, 3, 4})).sizes() == Shape{2, 0, 4});
}

TEST_CASE("each row of a small product has the same bits whatever block of rows computes it") {
  // The small-matrix kernel computes rows in blocks of 8, then 4, 2 and 1: 15 rows are one block
  // of each size. Each row must equal the product of that row alone (a block of 1). float32 on
  // AVX-512 also computes one-column products as dot products of 16 rows at once (15 rows: one
  // partial group), and outputs 20, 24 or 28 wide, from 256 rows on, 4 rows at a time (263 rows:
  // groups of 8, one of 4, then blocks of 2 and 1). 1030 rows are chunks of 512, 512 and 6 rows
  // sharing one copy of B.
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator generator(29);
    for (const int64_t rows : {int64_t{15}, int64_t{263}, int64_t{1030}}) {
      const Tensor a = randn({rows, 64}, dtype, &generator);
      // B transposed and row-major with 20 columns (both copied into a padded buffer), row-major
      // with 32 (read in place), one column (contiguous or strided), 24 and 28 columns.
      for (const Tensor& b :
           {randn({20, 64}, dtype, &generator).t(), randn({64, 20}, dtype, &generator),
            randn({64, 32}, dtype, &generator), randn({64, 1}, dtype, &generator),
            randn({64, 2}, dtype, &generator).narrow(1, 0, 1), randn({64, 24}, dtype, &generator),
            randn({28, 64}, dtype, &generator).t()}) {
        const Tensor product = mm(a, b);
        check_product(product, a, b);
        for (int64_t i = 0; i < rows; ++i) {
          INFO("row ", i, " of ", rows, " in ", dtype_name(dtype), ", ", b.size(1), " columns");
          CHECK(equal(product.narrow(0, i, 1), mm(a.narrow(0, i, 1), b)));
        }
      }
    }
  }
}

TEST_CASE("a large float32 product (the tiled parallel path) is within rounding of double") {
  Generator generator(23);
  // 300 x 270 outputs make several row and column tiles; K = 257 is not a multiple of any vector
  // width.
  const Tensor a = randn({300, 257}, kFloat32, &generator);
  const Tensor b = randn({257, 270}, kFloat32, &generator);
  check_product(matmul(a, b), a, b);
  // The same product with b stored transposed (a column-major map in every tile).
  const Tensor b_transposed = b.t().contiguous().t();
  CHECK_FALSE(b_transposed.is_contiguous());
  check_product(matmul(a, b_transposed), a, b_transposed);
  // A narrow product (at most three 48-column panels) reads a row-major A in place instead of
  // packing it; 301 rows end in a partial panel of 5.
  const Tensor tall = randn({301, 300}, kFloat32, &generator);
  const Tensor narrow = randn({300, 130}, kFloat32, &generator);
  check_product(matmul(tall, narrow), tall, narrow);
  check_product(matmul(tall, narrow.t().contiguous().t()), tall, narrow);
  // Widths whose last 48-column panel holds 16 or 32 columns (one or two registers' worth: 1024
  // columns end that way), packed (256 = 5 x 48 + 16) or, for a short A, read in place with masked
  // loads at the edge (112 = 2 x 48 + 16, 80 = 48 + 32).
  // An inner dimension deeper than one slice (kDepth 1024): the second slice adds to C's tiles,
  // packed and with A read in place.
  const Tensor deep = randn({60, 1100}, kFloat32, &generator);
  const Tensor deep_b = randn({1100, 200}, kFloat32, &generator);
  check_product(matmul(deep, deep_b), deep, deep_b);
  check_product(matmul(deep, deep_b.narrow(1, 0, 100)), deep, deep_b.narrow(1, 0, 100));
  // Up to 256 rows a row-major B is read in place (Note [B in place]): 203 rows are two blocks of
  // 128 rows, the last panel 3 rows; 130 columns end in a masked panel of 34. B with its rows 512
  // floats apart is packed instead.
  const Tensor mid = randn({203, 257}, kFloat32, &generator);
  const Tensor mid_b = randn({257, 130}, kFloat32, &generator);
  check_product(matmul(mid, mid_b), mid, mid_b);
  const Tensor aligned_b = randn({257, 512}, kFloat32, &generator);
  check_product(matmul(mid, aligned_b), mid, aligned_b);
  for (const int64_t width : {int64_t{256}, int64_t{112}, int64_t{80}}) {
    INFO("width ", width);
    const Tensor wide = randn({257, width}, kFloat32, &generator);
    check_product(matmul(a, wide), a, wide);
    const Tensor short_a = a.narrow(0, 0, 16);
    check_product(matmul(short_a, wide), short_a, wide);
  }
}

// Whether float32 products run the packed GEMM: the avx512 kernels of a portable build, or a
// BG_NATIVE build for a CPU with AVX-512 (compiled, as this file then is, with -march=native).
bool packed_gemm_runs() {
  const std::string kernels = cpu_kernels();
#if defined(__AVX512F__)
  if (kernels == "native") return true;
#endif
  return kernels == "avx512";
}

TEST_CASE("x W^T with few rows (a Linear layer's forward) has the bits of x W^T made contiguous") {
  // float32 on AVX-512 computes it as (W x^T)^T, the weight read in place and the tiles stored
  // transposed (Note [Transposed C]). Rows: one, a partial panel, 128, the most (3 x 48 = 144)
  // and one past (the usual way); 130 outputs end in a partial panel of 2 rows of 8; K = 1100 is
  // two slices, the second added to C's tiles (with outputs enough that dot_gemm, whose sums run
  // in another order, does not take it). Eigen, which takes float64 and, without AVX-512, float32,
  // sums in an order that depends on the layout: only within rounding there.
  struct Shape3 {
    int64_t M, K, N;
  };
  std::vector<Shape3> shapes;
  for (const int64_t M : {int64_t{1}, int64_t{7}, int64_t{128}, int64_t{144}, int64_t{145}}) {
    shapes.push_back({M, 5, 130});
    shapes.push_back({M, 300, 48});
    shapes.push_back({M, 300, 130});
    if (M >= 128) shapes.push_back({M, 1100, 130});
  }
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator generator(43);
    for (const Shape3& shape : shapes) {
      const int64_t M = shape.M, K = shape.K, N = shape.N;
      INFO(std::string(dtype_name(dtype)), ": [", M, ", ", K, "] x [", K, ", ", N, "]");
      const Tensor w = randn({N, K}, dtype, &generator);
      const Tensor bias = randn({N}, dtype, &generator);
      const Tensor x = randn({M, K}, dtype, &generator);
      const Tensor product = mm(x, w.t());
      check_product(product, x, w.t());
      if (dtype != kFloat32 || !packed_gemm_runs()) continue;
      CHECK(equal(product, mm(x, w.t().contiguous())));
      CHECK(equal(addmm(bias, x, w.t()), addmm(bias, x, w.t().contiguous())));
      CHECK(equal(addmm_relu(bias, x, w.t()), addmm_relu(bias, x, w.t().contiguous())));
    }
  }
}

// ---- Gradients ----------------------------------------------------------------------------------

TEST_CASE("gradients of matmul, mm and bmm for every form and layout") {
  uint64_t seed = 100;
  // Float64 leaves; the transposed and strided operands are views of them.
  const std::vector<Operands> cases =
      matmul_cases([&seed](const Shape& sizes) { return test::leaf(sizes, ++seed); });
  for (const Operands& c : cases) {
    INFO(c.name);
    test::check_gradients([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
                          {c.a, c.b});
    if (c.a.dim() == 2 && c.b.dim() == 2) {
      test::check_gradients([](const std::vector<Tensor>& in) { return mm(in[0], in[1]); },
                            {c.a, c.b});
    }
    if (c.a.dim() == 3 && c.b.dim() == 3 && c.a.size(0) == c.b.size(0)) {
      test::check_gradients([](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); },
                            {c.a, c.b});
    }
  }
  // Non-contiguous leaves themselves.
  test::check_gradients([](const std::vector<Tensor>& in) { return mm(in[0], in[1]); },
                        {test::strided_leaf({3, 4}, 1), test::strided_leaf({4, 2}, 2)});
  test::check_gradients([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
                        {test::strided_leaf({2, 3, 4}, 3), test::strided_leaf({4}, 4)});
}

// ---- Errors -------------------------------------------------------------------------------------

TEST_CASE("a transposed operand's gradient reaches its matrix contiguous") {
  // A Linear layer computes x @ weight.t(). In a BNN the weight is not a leaf but a sample, whose
  // gradient goes on into the fused sampling backward and the optimizer: it must arrive in the
  // weight's own layout so that those kernels run their contiguous path. (A leaf's .grad would be
  // made contiguous anyway when it is accumulated; the gradient on its way is what is checked.)
  const auto gradient_reaching = [](Tensor matrix, const auto& product) {
    const Tensor sample = matrix.requires_grad_() * 1.0;  // a non-leaf, as a sampled weight
    Tensor seen;
    sample.register_hook([&](const Tensor& grad) {
      seen = grad;
      return grad;
    });
    product(sample).sum().backward();
    return seen;
  };
  // More outputs than inputs: from 512 rows on the gradient is computed as x^T g and copied into
  // the weight's layout, below as (g^T x)^T; as many inputs as outputs: always the latter.
  for (const Shape& x_sizes : {Shape{4, 3}, Shape{600, 3}}) {
    for (const Shape& weight_sizes : {Shape{5, 3}, Shape{3, 3}}) {
      INFO("x ", x_sizes, ", weight ", weight_sizes);
      const Tensor x = randn(x_sizes);
      const Tensor weight_grad =
          gradient_reaching(randn(weight_sizes), [&](const Tensor& w) { return x.mm(w.t()); });
      CHECK(weight_grad.is_contiguous());
      CHECK(test::values(weight_grad) ==
            test::values(ones({x_sizes[0], weight_sizes[0]}).t().mm(x)));
    }
  }
  const Tensor left_grad = gradient_reaching(randn({3, 4}), [&](const Tensor& a) {
    return a.t().mm(randn({3, 2}));
  });
  CHECK(left_grad.is_contiguous());
}

TEST_CASE("shape errors name the op and both shapes") {
  test::check_error({"mm", "[2, 3]", "[4, 5]"}, [] { (void)mm(zeros({2, 3}), zeros({4, 5})); });
  test::check_error({"mm", "[2, 2, 3]", "[3, 5]"}, [] {
    (void)mm(zeros({2, 2, 3}), zeros({3, 5}));
  });
  test::check_error({"mm", "[3]", "[3, 5]"}, [] { (void)mm(zeros({3}), zeros({3, 5})); });
  test::check_error({"bmm", "[2, 3, 4]", "[3, 4, 5]"}, [] {
    (void)bmm(zeros({2, 3, 4}), zeros({3, 4, 5}));
  });
  test::check_error({"bmm", "[2, 3, 4]", "[2, 5, 6]"}, [] {
    (void)bmm(zeros({2, 3, 4}), zeros({2, 5, 6}));
  });
  test::check_error({"bmm", "[3, 4]", "[4, 5]"}, [] { (void)bmm(zeros({3, 4}), zeros({4, 5})); });
  test::check_error({"matmul", "[2, 3]", "[4, 5]"}, [] {
    (void)matmul(zeros({2, 3}), zeros({4, 5}));
  });
  test::check_error({"matmul", "[3]", "[4]"}, [] { (void)matmul(zeros({3}), zeros({4})); });
  test::check_error({"matmul", "[2, 3, 4]", "[5]"}, [] {
    (void)matmul(zeros({2, 3, 4}), zeros({5}));
  });
  test::check_error({"matmul", "[2, 3, 4]", "[3, 4, 5]"}, [] {
    (void)matmul(zeros({2, 3, 4}), zeros({3, 4, 5}));
  });
  test::check_error({"matmul", "at least 1 dim"},
                    [] { (void)matmul(scalar_tensor(2.0), zeros({3})); });
}

TEST_CASE("mixed dtypes and integer operands throw") {
  const Tensor f32 = zeros({2, 2}, kFloat32), f64 = zeros({2, 2}, kFloat64);
  const Tensor i64 = zeros({2, 2}, kInt64);
  test::check_error({"matmul", "float32", "float64"}, [&] { (void)matmul(f32, f64); });
  test::check_error({"mm", "float64", "float32"}, [&] { (void)mm(f64, f32); });
  test::check_error({"bmm", "float32", "float64"},
                    [&] { (void)bmm(f32.unsqueeze(0), f64.unsqueeze(0)); });
  test::check_error({"matmul", "int64"}, [&] { (void)matmul(i64, i64); });
  test::check_error({"mm", "int64"}, [&] { (void)mm(i64, i64); });
  test::check_error({"bmm", "int64"}, [&] { (void)bmm(i64.unsqueeze(0), i64.unsqueeze(0)); });
  test::check_error({"matmul", "bool"}, [&] {
    (void)matmul(zeros({2, 2}, kBool), zeros({2, 2}, kBool));
  });
}

TEST_CASE("undefined operands throw naming the op") {
  const Tensor undefined, m = zeros({2, 2});
  test::check_error({"matmul", "undefined"}, [&] { (void)matmul(undefined, m); });
  test::check_error({"mm", "undefined"}, [&] { (void)m.mm(undefined); });
  test::check_error({"bmm", "undefined"}, [&] { (void)bmm(undefined, undefined); });
}

}  // namespace
