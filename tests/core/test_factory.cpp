// Tensor creation (factory.h) and the properties every tensor has (sizes, dtype, item, to, ...).

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "test_util.h"

using namespace bg;

namespace {

// `t` has these sizes, this dtype and these elements.
void check_tensor(const Tensor& t, const Shape& sizes, Dtype dtype,
                  const std::vector<double>& expected) {
  INFO(t);
  CHECK(t.sizes() == sizes);
  CHECK(t.dtype() == dtype);
  CHECK(t.is_contiguous());
  CHECK(test::values(t) == expected);
}

}  // namespace

// ---- Filled tensors -----------------------------------------------------------------------------

TEST_CASE("factory: zeros, ones and empty default to float32") {
  check_tensor(zeros({2, 3}), {2, 3}, kFloat32, std::vector<double>(6, 0.0));
  check_tensor(ones({4}), {4}, kFloat32, std::vector<double>(4, 1.0));
  check_tensor(ones({2}, kInt64), {2}, kInt64, {1, 1});
  check_tensor(zeros({3}, kBool), {3}, kBool, {0, 0, 0});
  const Tensor e = empty({3, 0, 2}, kFloat64);
  CHECK(e.sizes() == Shape{3, 0, 2});
  CHECK(e.numel() == 0);
  CHECK(e.dtype() == kFloat64);
  // A 0-dim tensor has one element.
  CHECK(zeros({}).numel() == 1);
  CHECK(zeros({}).dim() == 0);
  // Empty tensors are contiguous whatever their strides, as in PyTorch.
  CHECK(zeros({0, 3}).t().is_contiguous());
}

TEST_CASE("factory: full takes its dtype from the value's kind") {
  check_tensor(full({2}, 2.5), {2}, kFloat32, {2.5, 2.5});
  check_tensor(full({2}, 3), {2}, kInt64, {3, 3});
  check_tensor(full({2}, true), {2}, kBool, {1, 1});
  check_tensor(full({1, 2}, 3, kFloat64), {1, 2}, kFloat64, {3, 3});
  check_tensor(full({2}, 2.9, kInt64), {2}, kInt64, {2, 2});
}

TEST_CASE("factory: scalar_tensor is 0-dim") {
  const Tensor f = scalar_tensor(3.5);
  CHECK(f.dim() == 0);
  CHECK(f.dtype() == kFloat32);
  CHECK(f.item<float>() == 3.5f);
  CHECK(scalar_tensor(7).dtype() == kInt64);
  CHECK(scalar_tensor(false).dtype() == kBool);
  CHECK(scalar_tensor(7, kFloat64).item<double>() == 7.0);
}

TEST_CASE("factory: negative sizes throw naming the op and the sizes") {
  CHECK_THROWS_WITH_AS(empty({2, -1}), doctest::Contains("empty: sizes must be non-negative"),
                       Error);
  CHECK_THROWS_WITH_AS(zeros({-3}), doctest::Contains("[-3]"), Error);
  CHECK_THROWS_AS(ones({1, -1}), Error);
  CHECK_THROWS_WITH_AS(full({-1}, 2.0), doctest::Contains("full"), Error);
  CHECK_THROWS_WITH_AS(rand({-2}), doctest::Contains("rand"), Error);
  CHECK_THROWS_WITH_AS(randn({-2}), doctest::Contains("randn"), Error);
  CHECK_THROWS_WITH_AS(randint(0, 3, {-2}), doctest::Contains("randint"), Error);
  CHECK_THROWS_WITH_AS(eye(-1), doctest::Contains("eye: sizes must be non-negative"), Error);
  CHECK_THROWS_WITH_AS(linspace(0, 1, -1), doctest::Contains("linspace"), Error);
  CHECK_THROWS_WITH_AS(tensor(std::vector<float>{}, {-1, 0}), doctest::Contains("tensor"), Error);
}

// ---- Ranges -------------------------------------------------------------------------------------

TEST_CASE("factory: arange of integers is int64") {
  check_tensor(arange(5), {5}, kInt64, {0, 1, 2, 3, 4});
  check_tensor(arange(2, 11, 3), {3}, kInt64, {2, 5, 8});
  check_tensor(arange(2, 12, 3), {4}, kInt64, {2, 5, 8, 11});
  check_tensor(arange(5, 0, -2), {3}, kInt64, {5, 3, 1});
  check_tensor(arange(-3, 0), {3}, kInt64, {-3, -2, -1});
  check_tensor(arange(4, 4), {0}, kInt64, {});
  check_tensor(arange(3, kFloat64), {3}, kFloat64, {0, 1, 2});
}

TEST_CASE("factory: arange with a float bound or step is float32") {
  check_tensor(arange(2.0), {2}, kFloat32, {0, 1});
  check_tensor(arange(0, 1, 0.25), {4}, kFloat32, {0, 0.25, 0.5, 0.75});
  check_tensor(arange(1.0, 0.0, -0.5), {2}, kFloat32, {1, 0.5});
  // ceil((2 - 1) / 0.3) = 4 elements; the last one (1.9) stays below the end.
  const Tensor r = arange(1.0, 2.0, 0.3, kFloat64);
  CHECK(r.sizes() == Shape{4});
  CHECK(r[3].item<double>() == doctest::Approx(1.9));
}

TEST_CASE("factory: arange errors") {
  test::check_error({"arange: the range [0, 5)", "disagree in sign"},
                    [] { (void)arange(0, 5, -1); });
  CHECK_THROWS_WITH_AS(arange(5, 0, 1), doctest::Contains("disagree in sign"), Error);
  CHECK_THROWS_WITH_AS(arange(0, 5, 0), doctest::Contains("arange: step must be nonzero"), Error);
  CHECK_THROWS_WITH_AS(arange(0.0, INFINITY), doctest::Contains("bounds must be finite"), Error);
}

TEST_CASE("factory: linspace hits both ends exactly") {
  check_tensor(linspace(0, 1, 5), {5}, kFloat32, {0, 0.25, 0.5, 0.75, 1});
  // -1 + 6 * step need not round to 0.7: counting back from the end keeps the end exact.
  const Tensor l = linspace(-1.0, 0.7, 7, kFloat64);
  CHECK(l[0].item<double>() == -1.0);
  CHECK(l[6].item<double>() == 0.7);
  for (int64_t i = 0; i < 7; ++i) {
    CHECK(l[i].item<double>() == doctest::Approx(-1.0 + 1.7 * static_cast<double>(i) / 6));
  }
  check_tensor(linspace(3, 9, 1), {1}, kFloat32, {3});
  check_tensor(linspace(3, 9, 0), {0}, kFloat32, {});
  check_tensor(linspace(2, -2, 3, kInt64), {3}, kInt64, {2, 0, -2});
}

TEST_CASE("factory: eye, square and rectangular") {
  check_tensor(eye(3), {3, 3}, kFloat32, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  check_tensor(eye(2, 3), {2, 3}, kFloat32, {1, 0, 0, 0, 1, 0});
  check_tensor(eye(3, 2, kInt64), {3, 2}, kInt64, {1, 0, 0, 1, 0, 0});
  check_tensor(eye(0), {0, 0}, kFloat32, {});
}

// ---- Random factories (distributions are checked in test_random.cpp) ----------------------------

TEST_CASE("factory: rand, randn and randint sizes and dtypes") {
  Generator g(5);
  const Tensor u = rand({2, 3}, {}, &g);
  CHECK(u.sizes() == Shape{2, 3});
  CHECK(u.dtype() == kFloat32);
  for (double v : test::values(u)) CHECK((v >= 0 && v < 1));
  CHECK(randn({4}, kFloat64, &g).dtype() == kFloat64);
  const Tensor i = randint(-2, 3, {50}, {}, &g);
  CHECK(i.dtype() == kInt64);
  for (double v : test::values(i)) CHECK((v >= -2 && v < 3));
  CHECK(randint(0, 4, {3}, kFloat32, &g).dtype() == kFloat32);
  CHECK(rand({2}, requires_grad()).requires_grad());
}

TEST_CASE("factory: random factories reject wrong dtypes and ranges") {
  CHECK_THROWS_WITH_AS(rand({2}, kInt64),
                       doctest::Contains("rand: expected a float dtype, got int64"), Error);
  CHECK_THROWS_WITH_AS(randn({2}, kBool), doctest::Contains("randn: expected a float dtype"),
                       Error);
  CHECK_THROWS_WITH_AS(randint(3, 3, {2}),
                       doctest::Contains("randint: expected low < high, got [3, 3)"), Error);
  CHECK_THROWS_WITH_AS(randint(0, 2, {2}, kBool), doctest::Contains("randint"), Error);
}

// ---- *_like -------------------------------------------------------------------------------------

TEST_CASE("factory: *_like copy sizes, dtype and device from the template") {
  const Tensor like = zeros({2, 3}, kFloat64).t();  // non-contiguous: the result is not
  const std::vector<Tensor> made = {empty_like(like),        zeros_like(like), ones_like(like),
                                    full_like(like, 4),      rand_like(like),  randn_like(like),
                                    randint_like(like, 0, 5)};
  for (const Tensor& t : made) {
    CHECK(t.sizes() == Shape{3, 2});
    CHECK(t.dtype() == kFloat64);
    CHECK(t.device() == like.device());
    CHECK(t.is_contiguous());
    CHECK_FALSE(t.requires_grad());
  }
  CHECK(test::values(ones_like(like)) == std::vector<double>(6, 1.0));
  CHECK(test::values(full_like(like, 4)) == std::vector<double>(6, 4.0));
  // Integer values in a float template keep the template's dtype (full() alone would pick int64).
  CHECK(full_like(like, 4).dtype() == kFloat64);
}

TEST_CASE("factory: *_like options override the template") {
  const Tensor like = ones({4}, kInt64);
  CHECK(zeros_like(like, kFloat32).dtype() == kFloat32);
  CHECK(full_like(like, 2.5, kFloat64).dtype() == kFloat64);
  const Tensor r = rand_like(like, TensorOptions(kFloat64).requires_grad(true));
  CHECK(r.dtype() == kFloat64);
  CHECK(r.requires_grad());
  CHECK(randn_like(zeros({2}), kFloat64).dtype() == kFloat64);
  CHECK(randint_like(like, 0, 3).dtype() == kInt64);
  // An undefined template is named as such by every *_like, whatever the compiler's order of
  // evaluating arguments.
  const Tensor undefined;
  CHECK_THROWS_WITH_AS(empty_like(undefined), doctest::Contains("*_like"), Error);
  CHECK_THROWS_WITH_AS(zeros_like(undefined), doctest::Contains("*_like"), Error);
  CHECK_THROWS_WITH_AS(ones_like(undefined), doctest::Contains("*_like"), Error);
  CHECK_THROWS_WITH_AS(full_like(undefined, 1), doctest::Contains("*_like"), Error);
  CHECK_THROWS_WITH_AS(rand_like(undefined), doctest::Contains("*_like"), Error);
  CHECK_THROWS_WITH_AS(randn_like(undefined), doctest::Contains("*_like"), Error);
  CHECK_THROWS_WITH_AS(randint_like(undefined, 0, 3), doctest::Contains("*_like"), Error);
}

// ---- From C++ values ----------------------------------------------------------------------------

TEST_CASE("factory: tensor from initializer lists follows the C++ type") {
  check_tensor(tensor({1.5f, 2.f}), {2}, kFloat32, {1.5, 2});
  check_tensor(tensor({1.5, 2.0}), {2}, kFloat64, {1.5, 2});
  check_tensor(tensor({1, -2}), {2}, kInt64, {1, -2});
  check_tensor(tensor({int64_t{1} << 40}), {1}, kInt64, {std::ldexp(1.0, 40)});
  check_tensor(tensor({true, false, true}), {3}, kBool, {1, 0, 1});
  check_tensor(tensor({{1, 2, 3}, {4, 5, 6}}), {2, 3}, kInt64, {1, 2, 3, 4, 5, 6});
  check_tensor(tensor({{true}, {false}}), {2, 1}, kBool, {1, 0});
  check_tensor(tensor({{{1.f, 2.f}}, {{3.f, 4.f}}, {{5.f, 6.f}}}), {3, 1, 2}, kFloat32,
               {1, 2, 3, 4, 5, 6});
  check_tensor(tensor({{{1.0}, {2.0}}}), {1, 2, 1}, kFloat64, {1, 2});
  check_tensor(tensor({{{int64_t{7}}}}), {1, 1, 1}, kInt64, {7});
}

TEST_CASE("factory: tensor options set the dtype and requires_grad") {
  check_tensor(tensor({1, 2}, kFloat32), {2}, kFloat32, {1, 2});
  check_tensor(tensor({1.7, -1.7}, kInt64), {2}, kInt64, {1, -1});
  check_tensor(tensor({0.0, 0.5}, kBool), {2}, kBool, {0, 1});
  const Tensor x = tensor({{1., 2.}}, requires_grad());
  CHECK(x.requires_grad());
  CHECK(x.is_leaf());
  CHECK_THROWS_WITH_AS(tensor({1, 2}, requires_grad()),
                       doctest::Contains("only float32 and float64 tensors can require gradients"),
                       Error);
}

TEST_CASE("factory: ragged lists throw naming the depth") {
  CHECK_THROWS_WITH_AS(
      tensor({{1, 2}, {3}}),
      doctest::Contains("tensor: nested lists have inconsistent lengths at depth 1 "
                        "(2 vs 1)"),
      Error);
  CHECK_THROWS_WITH_AS(tensor({{{1.f}, {2.f}}, {{3.f}}}),
                       doctest::Contains("inconsistent lengths at depth 1"), Error);
  CHECK_THROWS_WITH_AS(tensor({{{1.f, 2.f}}, {{3.f}}}),
                       doctest::Contains("inconsistent lengths at depth 2 (2 vs 1)"), Error);
}

TEST_CASE("factory: tensor from a flat vector and a shape") {
  check_tensor(tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2}), {3, 2}, kFloat64,
               {1, 2, 3, 4, 5, 6});
  check_tensor(tensor(std::vector<int>{4, 5}, {2, 1}), {2, 1}, kInt64, {4, 5});
  check_tensor(tensor(std::vector<bool>{true, false}, {2}), {2}, kBool, {1, 0});
  check_tensor(tensor(std::vector<float>{2.5f}, {}), {}, kFloat32, {2.5});
  check_tensor(tensor(std::vector<float>{1, 2}, {2}, kFloat64), {2}, kFloat64, {1, 2});
  check_tensor(tensor(std::vector<float>{}, {0, 4}), {0, 4}, kFloat32, {});
  CHECK_THROWS_WITH_AS(tensor(std::vector<float>{1, 2, 3, 4, 5}, {2, 3}),
                       doctest::Contains("tensor: got 5 values for shape [2, 3] (6 elements)"),
                       Error);
}

TEST_CASE("factory: TensorOptions chain") {
  const TensorOptions o = TensorOptions().dtype(kFloat64).device(Device::cpu()).requires_grad(true);
  CHECK(o.dtype() == kFloat64);
  CHECK(o.has_dtype());
  CHECK(o.device() == Device::cpu());
  CHECK(o.requires_grad());
  // Each setter returns a copy: the original keeps its (default) values.
  const TensorOptions base;
  const TensorOptions changed = base.dtype(kInt64);
  CHECK_FALSE(base.has_dtype());
  CHECK(base.dtype() == kDefaultDtype);
  CHECK(base.dtype_or(kBool) == kBool);
  CHECK(changed.dtype_or(kBool) == kInt64);
  const Tensor z = zeros({2}, o);
  CHECK(z.dtype() == kFloat64);
  CHECK(z.requires_grad());
  CHECK(dtype(kInt64).dtype() == kInt64);
  CHECK(bg::requires_grad().requires_grad());
  CHECK(zeros({1}).options().dtype() == kFloat32);
}

// ---- Properties ---------------------------------------------------------------------------------

TEST_CASE("properties: sizes, strides, offset of contiguous tensors and views") {
  const Tensor x = arange(24.).reshape({2, 3, 4});
  CHECK(x.sizes() == Shape{2, 3, 4});
  CHECK(x.shape() == x.sizes());
  CHECK(x.size(0) == 2);
  CHECK(x.size(-1) == 4);
  CHECK(x.size(-3) == 2);
  CHECK(x.strides() == Shape{12, 4, 1});
  CHECK(x.stride(-2) == 4);
  CHECK(x.dim() == 3);
  CHECK(x.numel() == 24);
  CHECK(x.dtype() == kFloat32);
  CHECK(x.device() == Device::cpu());
  CHECK(x.device().str() == "cpu");
  CHECK(x.is_contiguous());
  CHECK(x.is_floating_point());
  CHECK(x.storage_offset() == 0);
  CHECK_THROWS_WITH_AS(x.size(3), doctest::Contains("size"), Error);
  CHECK_THROWS_AS(x.size(-4), Error);

  const Tensor t = x.transpose(0, 2);
  CHECK(t.sizes() == Shape{4, 3, 2});
  CHECK(t.strides() == Shape{1, 4, 12});
  CHECK_FALSE(t.is_contiguous());
  const Tensor s = x.select(1, 2).narrow(1, 1, 2);  // x[:, 2, 1:3]
  CHECK(s.sizes() == Shape{2, 2});
  CHECK(s.storage_offset() == 2 * 4 + 1);
  CHECK(test::values(s) == std::vector<double>{9, 10, 21, 22});
}

TEST_CASE("properties: item converts between dtypes") {
  CHECK(scalar_tensor(2.75).item<double>() == 2.75);
  CHECK(scalar_tensor(2.75).item<int64_t>() == 2);  // truncation toward zero
  CHECK(scalar_tensor(-2.75).item<int>() == -2);
  CHECK(scalar_tensor(0.5).item<bool>());
  CHECK(scalar_tensor(7).item<double>() == 7.0);
  CHECK(scalar_tensor(7).item<float>() == 7.0f);
  CHECK(scalar_tensor(true).item<int64_t>() == 1);
  CHECK(tensor({{3.5}}).item<float>() == 3.5f);  // any one-element tensor
  CHECK(arange(10).select(0, 7).item<int64_t>() == 7);
}

TEST_CASE("properties: item of several elements throws naming the count") {
  CHECK_THROWS_WITH_AS(zeros({2, 3}).item<float>(),
                       doctest::Contains("item: a tensor with 6 elements (shape [2, 3])"), Error);
  CHECK_THROWS_WITH_AS(zeros({0}).item<float>(), doctest::Contains("0 elements"), Error);
}

TEST_CASE("properties: data_ptr checks the dtype") {
  const Tensor x = tensor({1.f, 2.f, 3.f});
  float* p = x.data_ptr<float>();
  CHECK(p[2] == 3.f);
  p[0] = 9.f;  // writes through to the tensor
  CHECK(x[0].item<float>() == 9.f);
  // A view's pointer starts at its offset.
  CHECK(*x.slice(0, 1, 3).data_ptr<float>() == 2.f);
  CHECK_THROWS_WITH_AS(x.data_ptr<double>(),
                       doctest::Contains("data_ptr: requested float64 elements of a float32[3]"),
                       Error);
  CHECK_THROWS_AS(x.data_ptr<int64_t>(), Error);
}

TEST_CASE("properties: to(dtype)") {
  const Tensor x = tensor({1.5f, -2.7f, 0.f});
  CHECK(x.to(kFloat32).is_same(x));
  check_tensor(x.to(kInt64), {3}, kInt64, {1, -2, 0});
  check_tensor(x.to(kBool), {3}, kBool, {1, 1, 0});
  check_tensor(x.to(kFloat64), {3}, kFloat64, {1.5, static_cast<double>(-2.7f), 0});
  check_tensor(tensor({true, false}).to(kFloat32), {2}, kFloat32, {1, 0});
  // A converted copy does not share memory.
  const Tensor y = x.to(kFloat64);
  x.data_ptr<float>()[0] = 5.f;
  CHECK(y[0].item<double>() == 1.5);
}

TEST_CASE("properties: NaN, inf and out-of-range floats convert to INT64_MIN") {
  const int64_t lowest = std::numeric_limits<int64_t>::min();
  const double inf = INFINITY;
  const Tensor x = tensor({std::nan(""), inf, -inf, 1e19, -1e19, std::ldexp(-1.0, 63)});
  const Tensor i = x.to(kInt64);
  const int64_t* p = i.data_ptr<int64_t>();
  for (int k = 0; k < 5; ++k) CHECK(p[k] == lowest);
  CHECK(p[5] == lowest);  // -2^63 itself fits
  CHECK(x.to(kFloat32).to(kInt64).data_ptr<int64_t>()[1] == lowest);
  CHECK(tensor({std::nanf("")}).to(kInt64).item<int64_t>() == lowest);
  // item() converts the same way.
  CHECK(scalar_tensor(std::nan("")).item<int64_t>() == lowest);
  CHECK(scalar_tensor(-inf, kFloat64).item<int64_t>() == lowest);
  CHECK(scalar_tensor(1e30).item<int64_t>() == lowest);
}

TEST_CASE("properties: clone is independent, contiguous copies only when needed") {
  const Tensor x = tensor({{1.f, 2.f}, {3.f, 4.f}});
  const Tensor c = x.clone();
  CHECK(equal(c, x));
  CHECK(c.data_ptr<float>() != x.data_ptr<float>());
  c.data_ptr<float>()[0] = 100.f;
  CHECK(x[0][0].item<float>() == 1.f);
  x.data_ptr<float>()[3] = -4.f;
  CHECK(c[1][1].item<float>() == 4.f);

  CHECK(x.contiguous().is_same(x));
  const Tensor t = x.t();
  const Tensor tc = t.contiguous();
  CHECK_FALSE(tc.is_same(t));
  CHECK(tc.is_contiguous());
  CHECK(tc.strides() == Shape{2, 1});
  CHECK(test::values(tc) == std::vector<double>{1, 3, 2, -4});
  // The clone of a view is contiguous, with its own storage from offset 0.
  const Tensor sc = x.select(1, 1).clone();
  CHECK(sc.storage_offset() == 0);
  CHECK(test::values(sc) == std::vector<double>{2, -4});
}

TEST_CASE("properties: allclose and equal") {
  const Tensor a = tensor({1.0, 2.0, 3.0});
  CHECK(equal(a, a.clone()));
  CHECK_FALSE(equal(a, tensor({1.0, 2.0, 3.5})));
  CHECK_FALSE(equal(a, tensor({1.0, 2.0})));       // sizes differ
  CHECK_FALSE(equal(a, tensor({1.f, 2.f, 3.f})));  // dtypes differ
  CHECK_FALSE(equal(a, a.reshape({3, 1})));        // same elements, other shape
  CHECK_FALSE(equal(tensor({std::nan("")}), tensor({std::nan("")})));

  // |a - b| <= atol + rtol * |b|, with rtol = 1e-5 and atol = 1e-8 by default: the relative
  // error may be just below 1e-5, not just above (at the element 1.0).
  CHECK(allclose(a, a * (1 + 0.9e-5)));
  CHECK_FALSE(allclose(a, a * (1 + 1.1e-5)));
  CHECK(allclose(zeros({2}), full({2}, 0.9e-8)));
  CHECK_FALSE(allclose(zeros({2}), full({2}, 1.1e-8)));
  CHECK(allclose(a, a + 0.05, 0.0, 0.051));
  CHECK_FALSE(allclose(a, a + 0.05, 0.0, 0.049));
  CHECK(allclose(a, a.to(kFloat32)));  // compared in float64 whatever the dtypes
  CHECK(allclose(tensor({INFINITY, -INFINITY}), tensor({INFINITY, -INFINITY})));
  CHECK_FALSE(allclose(tensor({INFINITY}), tensor({-INFINITY})));
  CHECK_FALSE(allclose(tensor({std::nan("")}), tensor({std::nan("")})));
}

TEST_CASE("properties: an undefined tensor throws bg::Error instead of crashing") {
  const Tensor u;
  CHECK_FALSE(u.defined());
  CHECK_THROWS_WITH_AS(u.sizes(), doctest::Contains("undefined"), Error);
  CHECK_THROWS_AS(u.dim(), Error);
  CHECK_THROWS_AS(u.numel(), Error);
  CHECK_THROWS_AS(u.dtype(), Error);
  CHECK_THROWS_AS(u.device(), Error);
  CHECK_THROWS_AS(u.strides(), Error);
  CHECK_THROWS_AS(u.is_contiguous(), Error);
  CHECK_THROWS_AS(u.item<float>(), Error);
  CHECK_THROWS_AS(u.data_ptr<float>(), Error);
  CHECK_THROWS_AS(u.to(kFloat64), Error);
  CHECK_THROWS_AS(u.clone(), Error);
  CHECK_THROWS_AS(u.contiguous(), Error);
  CHECK_THROWS_AS(u.requires_grad(), Error);
  CHECK_THROWS_AS(u.grad(), Error);
  CHECK_THROWS_AS(u.grad_fn(), Error);
  CHECK_THROWS_AS(u.detach(), Error);
  CHECK_THROWS_AS(Tensor().requires_grad_(), Error);
  CHECK_THROWS_AS(u.backward(), Error);
  CHECK_THROWS_AS(u.exp(), Error);
  CHECK_THROWS_AS(u + ones({1}), Error);
  CHECK_THROWS_AS(equal(u, u), Error);
  CHECK_THROWS_AS(allclose(u, ones({1})), Error);
}
