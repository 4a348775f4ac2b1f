#include "test_util.h"

using namespace bg;

namespace {

// The Tensor-op formulas the fused ops replace.
Tensor sample_formula(const Tensor& mu, const Tensor& rho, const Tensor& eps) {
  return mu + softplus(rho) * eps;
}
Tensor kl_formula(const Tensor& mu, const Tensor& rho, const Tensor& pm, const Tensor& ps) {
  const Tensor s = softplus(rho), d = mu - pm;
  return ((ps / s).log() + (s * s + d * d) / (ps * ps * 2) - 0.5).sum();
}

}  // namespace

TEST_CASE("fused gaussian_sample equals mu + softplus(rho) * eps") {
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    Generator gen(3);
    const Tensor mu = randn({70000}, dtype, &gen), rho = randn({70000}, dtype, &gen) * 5;
    const Tensor eps = randn({70000}, dtype, &gen);
    CHECK(allclose(fused::gaussian_sample(mu, rho, eps), sample_formula(mu, rho, eps), 1e-6, 1e-6));
  }
  // Non-contiguous operands take the element-by-element path.
  const Tensor mu = test::strided_leaf({4, 5}, 1), rho = test::strided_leaf({4, 5}, 2);
  const Tensor eps = test::strided_leaf({4, 5}, 3).detach();
  CHECK(allclose(fused::gaussian_sample(mu, rho, eps), sample_formula(mu, rho, eps), 1e-12, 1e-12));
}

TEST_CASE("fused gaussian_sample: gradients, first and second order") {
  const Tensor eps = test::leaf({3, 4}, 9).detach();
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return fused::gaussian_sample(in[0], in[1], eps); },
      {test::leaf({3, 4}, 1), test::leaf({3, 4}, 2)});
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        return fused::gaussian_sample(in[0], in[1], eps.t().t());
      },
      {test::strided_leaf({3, 4}, 1), test::strided_leaf({3, 4}, 2)});
}

TEST_CASE("fused gaussian_sample: the fused backward equals the formula's") {
  const Tensor mu = test::leaf({50000}, 1), rho = test::leaf({50000}, 2);
  const Tensor eps = test::leaf({50000}, 3).detach();
  const Tensor g = test::leaf({50000}, 4).detach();
  const auto fused_grads = autograd::grad({fused::gaussian_sample(mu, rho, eps)}, {mu, rho}, {g});
  const auto formula_grads = autograd::grad({sample_formula(mu, rho, eps)}, {mu, rho}, {g});
  CHECK(allclose(fused_grads[0], formula_grads[0], 1e-12, 1e-12));
  CHECK(allclose(fused_grads[1], formula_grads[1], 1e-12, 1e-12));
}

TEST_CASE("fused gaussian_kl equals the closed form, with broadcast and tensor priors") {
  Generator gen(5);
  const Tensor mu = randn({300, 200}, kFloat64, &gen), rho = randn({300, 200}, kFloat64, &gen);
  const Tensor scalar_mu = scalar_tensor(0.3, kFloat64),
               scalar_sigma = scalar_tensor(0.7, kFloat64);
  CHECK(
      fused::gaussian_kl(mu, rho, scalar_mu, scalar_sigma).item<double>() ==
      doctest::Approx(kl_formula(mu, rho, scalar_mu, scalar_sigma).item<double>()).epsilon(1e-12));
  const Tensor tensor_mu = randn({300, 200}, kFloat64, &gen);
  const Tensor tensor_sigma = rand({200}, kFloat64, &gen) + 0.5;  // a row, broadcast over rows
  CHECK(
      fused::gaussian_kl(mu, rho, tensor_mu, tensor_sigma).item<double>() ==
      doctest::Approx(kl_formula(mu, rho, tensor_mu, tensor_sigma).item<double>()).epsilon(1e-12));
  // float32 accumulates in float64.
  const Tensor mu32 = mu.to(kFloat32), rho32 = rho.to(kFloat32);
  CHECK(fused::gaussian_kl(mu32, rho32, scalar_mu, scalar_sigma).item<double>() ==
        doctest::Approx(kl_formula(mu, rho, scalar_mu, scalar_sigma).item<double>()).epsilon(1e-6));
}

TEST_CASE("fused gaussian_kl: gradients, first and second order") {
  const Tensor pm = test::leaf({4}, 7).detach(), ps = test::leaf_in({4}, 0.5, 2.0, 8).detach();
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return fused::gaussian_kl(in[0], in[1], pm, ps); },
      {test::leaf({3, 4}, 1), test::leaf({3, 4}, 2)});
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        return fused::gaussian_kl(in[0], in[1], scalar_tensor(0.0, kFloat64),
                                  scalar_tensor(1.0, kFloat64));
      },
      {test::strided_leaf({3, 4}, 1), test::strided_leaf({3, 4}, 2)});
  // A learnable prior is differentiated too.
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return fused::gaussian_kl(in[0], in[1], in[2], in[3]); },
      {test::leaf({2, 3}, 1), test::leaf({2, 3}, 2), test::leaf({3}, 3),
       test::leaf_in({3}, 0.5, 2, 4)});
}

TEST_CASE("fused gaussian_kl: the fused backward equals the formula's") {
  const Tensor mu = test::leaf({40000}, 1), rho = test::leaf({40000}, 2);
  const Tensor pm = scalar_tensor(0.1, kFloat64), ps = scalar_tensor(0.5, kFloat64);
  const Tensor g = scalar_tensor(1.7, kFloat64);
  const auto fused_grads = autograd::grad({fused::gaussian_kl(mu, rho, pm, ps)}, {mu, rho}, {g});
  const auto formula_grads = autograd::grad({kl_formula(mu, rho, pm, ps)}, {mu, rho}, {g});
  CHECK(allclose(fused_grads[0], formula_grads[0], 1e-12, 1e-12));
  CHECK(allclose(fused_grads[1], formula_grads[1], 1e-12, 1e-12));
}

TEST_CASE("fused gaussian ops: results are the same on 1 and 2 threads") {
  const int before = get_num_threads();
  Generator gen(11);
  const Tensor mu = randn({1 << 20}, kFloat32, &gen), rho = randn({1 << 20}, kFloat32, &gen);
  const Tensor eps = randn({1 << 20}, kFloat32, &gen);
  const Tensor pm = scalar_tensor(0.0), ps = scalar_tensor(1.0);
  set_num_threads(1);
  const Tensor sample1 = fused::gaussian_sample(mu, rho, eps),
               kl1 = fused::gaussian_kl(mu, rho, pm, ps);
  set_num_threads(2);
  const Tensor sample2 = fused::gaussian_sample(mu, rho, eps),
               kl2 = fused::gaussian_kl(mu, rho, pm, ps);
  set_num_threads(before);
  CHECK(equal(sample1, sample2));
  CHECK(equal(kl1, kl2));
}

TEST_CASE("fused gaussian ops: errors name the op and the operands") {
  const Tensor mu = zeros({3}), rho = zeros({3});
  test::check_error({"gaussian_sample", "eps", "float32[4]"},
                    [&] { (void)fused::gaussian_sample(mu, rho, zeros({4})); });
  test::check_error({"gaussian_sample", "rho", "float64[3]"},
                    [&] { (void)fused::gaussian_sample(mu, zeros({3}, kFloat64), zeros({3})); });
  test::check_error({"gaussian_kl", "[2] and [3] cannot be broadcast"},
                    [&] { (void)fused::gaussian_kl(mu, rho, zeros({2}), ones({3})); });
  test::check_error({"gaussian_kl", "float32[5, 3]", "does not broadcast to mu's shape [3]"}, [&] {
    (void)fused::gaussian_kl(mu, rho, zeros({5, 3}), ones({3}));
  });
  test::check_error({"gaussian_kl", "float32 or float64"}, [&] {
    (void)fused::gaussian_kl(zeros({3}, kInt64), rho, zeros({}), ones({}));
  });
}
