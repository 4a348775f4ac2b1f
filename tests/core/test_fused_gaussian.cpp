#include <bg/core/autograd/node.h>

#include "test_util.h"

using namespace bg;

namespace {

// The compositions of Tensor ops the fused kernels replace: the same ops on a backend without
// fused kernels.
Tensor sample_formula(const Tensor& mu, const Tensor& rho, const Tensor& eps) {
  return test::with_primitives_only([&] { return fused::gaussian_sample(mu, rho, eps); });
}
Tensor kl_formula(const Tensor& mu, const Tensor& rho, const Tensor& pm, const Tensor& ps) {
  return test::with_primitives_only([&] { return fused::gaussian_kl(mu, rho, pm, ps); });
}

}  // namespace

TEST_CASE("fused gaussian_sample equals mu + softplus(rho) * eps") {
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    Generator gen(3);
    const Tensor mu = randn({70000}, dtype, &gen), rho = randn({70000}, dtype, &gen) * 5;
    const Tensor eps = randn({70000}, dtype, &gen);
    CHECK(allclose(fused::gaussian_sample(mu, rho, eps), sample_formula(mu, rho, eps), 1e-6, 1e-6));
  }
  // Non-contiguous operands are copied into contiguous blocks first (for_each_contiguous_block).
  const Tensor mu = test::strided_leaf({4, 5}, 1), rho = test::strided_leaf({4, 5}, 2);
  const Tensor eps = test::strided_leaf({4, 5}, 3).detach();
  CHECK(allclose(fused::gaussian_sample(mu, rho, eps), sample_formula(mu, rho, eps), 1e-12, 1e-12));
}

TEST_CASE("fused gaussian_sample on the CPU: the bits of the Tensor-op formula and its gradient") {
  // The CPU kernels compute exp(-|rho|) of a block in a loop of their own, then softplus and
  // sigmoid from it (Note [exp(-|rho|) in a loop of its own]): the same operations in the same
  // order as the unary ops. 70000 elements: several blocks and a partial one; rho spans both
  // sides of softplus's threshold.
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    Generator gen(11);
    const Tensor mu = randn({70000}, dtype, &gen).requires_grad_(true);
    const Tensor rho = (randn({70000}, dtype, &gen) * 8).requires_grad_(true);
    const Tensor eps = randn({70000}, dtype, &gen), g = randn({70000}, dtype, &gen);
    const Tensor w = fused::gaussian_sample(mu, rho, eps);
    INFO(dtype_name(dtype));
    CHECK(equal(w.detach(), sample_formula(mu.detach(), rho.detach(), eps)));
    const auto grads = autograd::grad({w}, {mu, rho}, {g});
    CHECK(equal(grads[1], g * eps * rho.detach().sigmoid()));
  }
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
  // A column, broadcast along the rows' elements (a zero stride inside each run).
  const Tensor column_sigma = rand({300, 1}, kFloat64, &gen) + 0.5;
  CHECK(
      fused::gaussian_kl(mu, rho, tensor_mu, column_sigma).item<double>() ==
      doctest::Approx(kl_formula(mu, rho, tensor_mu, column_sigma).item<double>()).epsilon(1e-12));
  // float32 accumulates in float64, in whole vectors and a tail: sizes that are not multiples of
  // the vectors' or the blocks' lengths.
  for (const Shape& shape : {Shape{300, 200}, Shape{7, 13}, Shape{1}, Shape{3001}}) {
    const Tensor m = randn(shape, kFloat64, &gen), r = randn(shape, kFloat64, &gen);
    CHECK(fused::gaussian_kl(m.to(kFloat32), r.to(kFloat32), scalar_mu, scalar_sigma)
              .item<double>() ==
          doctest::Approx(kl_formula(m.to(kFloat32).to(kFloat64), r.to(kFloat32).to(kFloat64),
                                     scalar_mu, scalar_sigma)
                              .item<double>())
              .epsilon(1e-6));
  }
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

// ---- A KL joined to its sample (Note [Joined Gaussian backward] in fused_gaussian.cpp) ---------

namespace {

// The gradients in mu and rho of sum(w * g) + c * KL, for w a draw of gaussian_sample and the KL
// given w (`joined`) or not.
std::vector<Tensor> sample_kl_gradients(const Tensor& mu, const Tensor& rho, const Tensor& eps,
                                        const Tensor& g, double c, bool joined) {
  const Tensor pm = scalar_tensor(0.1, kFloat64), ps = scalar_tensor(0.6, kFloat64);
  const Tensor w = fused::gaussian_sample(mu, rho, eps);
  const Tensor kl = fused::gaussian_kl(mu, rho, pm, ps, joined ? w : Tensor());
  // The join shows as a third edge of the KL's node, to the sample's node.
  if (joined) CHECK(kl.grad_fn()->next().size() == 3);
  return autograd::grad({(w * g).sum() + kl * c}, {mu, rho});
}

}  // namespace

TEST_CASE("fused gaussian_kl joined to its sample: the gradients of the two apart, float32/64") {
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dtype)));
    // 70000 elements: several parallel chunks and vector blocks, and a tail.
    const Tensor mu = test::leaf({70000}, 1).to(dtype).detach().requires_grad_(true);
    const Tensor rho = (test::leaf({70000}, 2) * 3).to(dtype).detach().requires_grad_(true);
    const Tensor eps = test::leaf({70000}, 3).to(dtype).detach();
    const Tensor g = test::leaf({70000}, 4).to(dtype).detach();
    const double tol = dtype == kFloat32 ? 1e-3 : 1e-11;  // against the composition
    const auto joined = sample_kl_gradients(mu, rho, eps, g, 0.7, true);
    const auto apart = sample_kl_gradients(mu, rho, eps, g, 0.7, false);
    const auto composed = test::with_primitives_only(
        [&] { return sample_kl_gradients(mu, rho, eps, g, 0.7, false); });
    // The joined kernel sums the terms the two kernels apart compute: the same bits.
    for (int i = 0; i < 2; ++i) {
      CHECK(equal(joined[i], apart[i]));
      CHECK(allclose(joined[i], composed[i], tol, tol));
    }
  }
  // Non-contiguous operands are copied into contiguous blocks first (for_each_contiguous_block).
  const Tensor mu = test::strided_leaf({30, 40}, 1), rho = test::strided_leaf({30, 40}, 2);
  const Tensor eps = test::strided_leaf({30, 40}, 3).detach();
  const Tensor g = test::strided_leaf({30, 40}, 4).detach();
  const auto joined = sample_kl_gradients(mu, rho, eps, g, 1.3, true);
  const auto apart = sample_kl_gradients(mu, rho, eps, g, 1.3, false);
  CHECK(equal(joined[0], apart[0]));
  CHECK(equal(joined[1], apart[1]));
}

TEST_CASE("fused gaussian ops: a 0-d prior gives the terms of the same prior as a tensor") {
  // A prior of one value has its terms computed once per kernel, a tensor prior per element, by
  // the same function: the same bits, apart and joined, float32 and float64.
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dtype)));
    const Tensor mu = test::leaf({5000}, 1).to(dtype).detach().requires_grad_(true);
    const Tensor rho = (test::leaf({5000}, 2) * 3).to(dtype).detach().requires_grad_(true);
    const Tensor eps = test::leaf({5000}, 3).to(dtype).detach();
    const Tensor pm = scalar_tensor(0.1, dtype), ps = scalar_tensor(0.6, dtype);
    const Tensor pm_full = full({5000}, 0.1, dtype), ps_full = full({5000}, 0.6, dtype);
    for (const bool joined : {false, true}) {
      INFO("joined: " << joined);
      const auto gradients = [&](const Tensor& prior_mu, const Tensor& prior_sigma) {
        const Tensor w = fused::gaussian_sample(mu, rho, eps);
        const Tensor kl = fused::gaussian_kl(mu, rho, prior_mu, prior_sigma, joined ? w : Tensor());
        return std::pair(kl, autograd::grad({(w * eps).sum() + kl * 0.7}, {mu, rho}));
      };
      const auto [kl_scalar, scalar_grads] = gradients(pm, ps);
      const auto [kl_tensor, tensor_grads] = gradients(pm_full, ps_full);
      CHECK(equal(kl_scalar, kl_tensor));
      CHECK(equal(scalar_grads[0], tensor_grads[0]));
      CHECK(equal(scalar_grads[1], tensor_grads[1]));
    }
  }
}

TEST_CASE("fused gaussian_kl joined to its sample: gradients, first and second order") {
  const Tensor eps = test::leaf({3, 4}, 9).detach(), g = test::leaf({3, 4}, 8).detach();
  const Tensor pm = scalar_tensor(0.2, kFloat64), ps = scalar_tensor(0.8, kFloat64);
  for (const bool strided : {false, true}) {
    const Tensor mu = strided ? test::strided_leaf({3, 4}, 1) : test::leaf({3, 4}, 1);
    const Tensor rho = strided ? test::strided_leaf({3, 4}, 2) : test::leaf({3, 4}, 2);
    test::check_gradients(
        [&](const std::vector<Tensor>& in) {
          const Tensor w = fused::gaussian_sample(in[0], in[1], eps);
          return (w * g).sum() + fused::gaussian_kl(in[0], in[1], pm, ps, w) * 0.3;
        },
        {mu, rho});
  }
}

TEST_CASE("fused gaussian_kl joined to its sample: either alone, twice, after the other's graph") {
  const Tensor mu = test::leaf({500}, 1), rho = test::leaf({500}, 2);
  const Tensor eps = test::leaf({500}, 3).detach(), g = test::leaf({500}, 4).detach();
  const Tensor pm = scalar_tensor(0.0, kFloat64), ps = scalar_tensor(1.0, kFloat64);
  const auto kl_apart = autograd::grad({fused::gaussian_kl(mu, rho, pm, ps)}, {mu, rho});
  const auto sample_apart =
      autograd::grad({(fused::gaussian_sample(mu, rho, eps) * g).sum()}, {mu, rho});
  const auto both = [&](const std::vector<Tensor>& a, const std::vector<Tensor>& b, int i) {
    return a[i] + b[i];
  };
  SUBCASE("the KL alone: the sample's node returns the KL's gradients") {
    const Tensor w = fused::gaussian_sample(mu, rho, eps);
    const auto grads = autograd::grad({fused::gaussian_kl(mu, rho, pm, ps, w)}, {mu, rho});
    CHECK(allclose(grads[0], kl_apart[0], 1e-14, 1e-14));
    CHECK(allclose(grads[1], kl_apart[1], 1e-14, 1e-14));
  }
  SUBCASE("the sample alone, its KL unused") {
    const Tensor w = fused::gaussian_sample(mu, rho, eps);
    const Tensor kl = fused::gaussian_kl(mu, rho, pm, ps, w);
    const auto grads = autograd::grad({(w * g).sum()}, {mu, rho});
    CHECK(allclose(grads[0], sample_apart[0], 1e-14, 1e-14));
    CHECK(allclose(grads[1], sample_apart[1], 1e-14, 1e-14));
  }
  SUBCASE("two KLs joined to one sample: the second computes its own") {
    const Tensor w = fused::gaussian_sample(mu, rho, eps);
    const Tensor loss = (w * g).sum() + fused::gaussian_kl(mu, rho, pm, ps, w) +
                        fused::gaussian_kl(mu, rho, pm, ps, w);
    const auto grads = autograd::grad({loss}, {mu, rho});
    for (int i = 0; i < 2; ++i)
      CHECK(allclose(grads[i], both(sample_apart, kl_apart, i) + kl_apart[i], 1e-13, 1e-13));
  }
  SUBCASE("backward twice over a retained graph, into .grad") {
    const Tensor w = fused::gaussian_sample(mu, rho, eps);
    const Tensor loss = (w * g).sum() + fused::gaussian_kl(mu, rho, pm, ps, w);
    loss.backward({}, /*retain_graph=*/true);
    loss.backward();
    CHECK(allclose(mu.grad(), both(sample_apart, kl_apart, 0) * 2, 1e-13, 1e-13));
    CHECK(allclose(rho.grad(), both(sample_apart, kl_apart, 1) * 2, 1e-13, 1e-13));
    mu.set_grad({});
    rho.set_grad({});
  }
  SUBCASE("the KL's backward after the sample's graph was freed") {
    const Tensor w = fused::gaussian_sample(mu, rho, eps);
    const Tensor kl = fused::gaussian_kl(mu, rho, pm, ps, w);
    const auto sample_grads = autograd::grad({(w * g).sum()}, {mu, rho});  // frees w's node
    const auto kl_grads = autograd::grad({kl}, {mu, rho});
    CHECK(allclose(sample_grads[1], sample_apart[1], 1e-14, 1e-14));
    CHECK(allclose(kl_grads[0], kl_apart[0], 1e-14, 1e-14));
    CHECK(allclose(kl_grads[1], kl_apart[1], 1e-14, 1e-14));
  }
  SUBCASE("a KL computed before the draw is joined by it") {
    const Tensor kl = fused::gaussian_kl(mu, rho, pm, ps);
    CHECK(kl.grad_fn()->next().size() == 2);
    const Tensor w = fused::gaussian_sample(mu, rho, eps);
    CHECK(kl.grad_fn()->next().size() == 3);
    CHECK(kl.grad_fn()->next()[2] == w.grad_fn());
    const auto grads = autograd::grad({(w * g).sum() + kl}, {mu, rho});
    for (int i = 0; i < 2; ++i)
      CHECK(allclose(grads[i], both(sample_apart, kl_apart, i), 1e-13, 1e-13));
    // Joined once: a second draw does not take it.
    const Tensor kl2 = fused::gaussian_kl(mu, rho, pm, ps);
    const Tensor v = fused::gaussian_sample(mu, rho, eps),
                 v2 = fused::gaussian_sample(mu, rho, eps);
    CHECK(kl2.grad_fn()->next()[2] == v.grad_fn());
  }
  SUBCASE("a sample of other parameters, or of rho since changed, is not joined") {
    const Tensor other_rho = test::leaf({500}, 5);
    const Tensor w = fused::gaussian_sample(mu, other_rho, eps);
    CHECK(fused::gaussian_kl(mu, rho, pm, ps, w).grad_fn()->next().size() == 2);
    Tensor plain = rho.detach().clone().requires_grad_(true);
    const Tensor v = fused::gaussian_sample(mu, plain, eps);
    {
      NoGradGuard no_grad;
      plain.add_(1.0);
    }
    CHECK(fused::gaussian_kl(mu, plain, pm, ps, v).grad_fn()->next().size() == 2);
    CHECK(fused::gaussian_kl(mu, rho, pm, ps, mu * 2).grad_fn()->next().size() == 2);
  }
}

TEST_CASE("on a backend without fused kernels the Gaussian ops are compositions of primitives") {
  // The closed forms, element by element: w = mu + softplus(rho) eps, and the KL of N(mu, s^2)
  // from N(pm, ps^2) = log(ps / s) + (s^2 + (mu - pm)^2) / (2 ps^2) - 1/2, s = log(1 + e^rho).
  const Tensor mu = tensor({0.5, -1.0}), rho = tensor({-3.0, 1.0}), eps = tensor({2.0, -0.5});
  const std::vector<double> s = {std::log1p(std::exp(-3.0)), std::log1p(std::exp(1.0))};
  test::check_close(sample_formula(mu, rho, eps), {0.5 + s[0] * 2.0, -1.0 - s[1] * 0.5}, 1e-15,
                    1e-15);
  double kl = 0;
  for (int i = 0; i < 2; ++i) {
    const double m = i == 0 ? 0.5 : -1.0, d = m - 0.2;
    kl += std::log(1.5 / s[i]) + (s[i] * s[i] + d * d) / (2 * 1.5 * 1.5) - 0.5;
  }
  const Tensor pm = scalar_tensor(0.2, kFloat64), ps = scalar_tensor(1.5, kFloat64);
  CHECK(kl_formula(mu, rho, pm, ps).item<double>() == doctest::Approx(kl).epsilon(1e-14));
  // Their gradients, first and second order, come from autograd through the composition.
  test::with_primitives_only([&] {
    const Tensor noise = test::leaf({3, 4}, 9).detach();
    test::check_gradients(
        [&](const std::vector<Tensor>& in) { return fused::gaussian_sample(in[0], in[1], noise); },
        {test::strided_leaf({3, 4}, 1), test::strided_leaf({3, 4}, 2)});
    test::check_gradients(
        [&](const std::vector<Tensor>& in) { return fused::gaussian_kl(in[0], in[1], pm, ps); },
        {test::leaf({3, 4}, 1), test::leaf({3, 4}, 2)});
  });
}

TEST_CASE("fused gaussian ops: results are the same on 1 and 2 threads") {
  const int before = get_num_threads();
  Generator gen(11);
  const Tensor mu = randn({1 << 20}, kFloat32, &gen), rho = randn({1 << 20}, kFloat32, &gen);
  const Tensor eps = randn({1 << 20}, kFloat32, &gen);
  const Tensor pm = scalar_tensor(0.0), ps = scalar_tensor(1.0);
  // The joined backward of a sample and its KL.
  const auto joined_grads = [&] {
    const Tensor m = mu.detach().requires_grad_(true), r = rho.detach().requires_grad_(true);
    const Tensor w = fused::gaussian_sample(m, r, eps);
    return autograd::grad({(w * eps).sum() + fused::gaussian_kl(m, r, pm, ps, w)}, {m, r});
  };
  set_num_threads(1);
  const Tensor sample1 = fused::gaussian_sample(mu, rho, eps),
               kl1 = fused::gaussian_kl(mu, rho, pm, ps);
  const auto grads1 = joined_grads();
  set_num_threads(2);
  const Tensor sample2 = fused::gaussian_sample(mu, rho, eps),
               kl2 = fused::gaussian_kl(mu, rho, pm, ps);
  const auto grads2 = joined_grads();
  set_num_threads(before);
  CHECK(equal(sample1, sample2));
  CHECK(equal(kl1, kl2));
  CHECK(equal(grads1[0], grads2[0]));
  CHECK(equal(grads1[1], grads2[1]));
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
