// The autograd engine and its public API: backward(), grad(), higher-order derivatives, grad mode,
// hooks, version counters, custom ops recorded with autograd::record, and gradcheck itself.

#include <bg/core/autograd/node.h>
#include <bg/core/tensor_impl.h>
#include <pthread.h>

#include <array>
#include <cmath>
#include <future>
#include <string>
#include <thread>

#include "test_util.h"

using namespace bg;

namespace {

using autograd::Context;
using autograd::Grads;

Tensor vec(std::initializer_list<double> values) { return tensor(values, kFloat64); }

Tensor leaf_vec(std::initializer_list<double> values) { return vec(values).requires_grad_(); }

/// `actual` has the shape of `expected` and the same values up to rounding: allclose, which unlike
/// test::check_close compares with a tensor of the same shape and never matches NaN.
void check_allclose(const Tensor& actual, const Tensor& expected, double tolerance = 1e-12) {
  REQUIRE(actual.defined());
  INFO("actual: ", actual, "\nexpected: ", expected);
  CHECK(actual.sizes() == expected.sizes());
  CHECK(allclose(actual.to(kFloat64), expected.to(kFloat64), tolerance, tolerance));
}

}  // namespace

// ---- backward() ---------------------------------------------------------------------------------

TEST_CASE("backward accumulates into .grad across calls, and set_grad({}) resets it") {
  const Tensor x = leaf_vec({1, -2, 3});
  (x * x).sum().backward();
  check_allclose(x.grad(), vec({2, -4, 6}));
  (x * x).sum().backward();
  check_allclose(x.grad(), vec({4, -8, 12}));
  x.set_grad({});
  CHECK_FALSE(x.grad().defined());
  (x * 3).sum().backward();
  check_allclose(x.grad(), vec({3, 3, 3}));
  // A handle taken earlier keeps its value: accumulating must not write into it.
  const Tensor earlier = x.grad();
  (x * 3).sum().backward();
  check_allclose(earlier, vec({3, 3, 3}));
  check_allclose(x.grad(), vec({6, 6, 6}));
}

TEST_CASE("set_grad checks the gradient against the tensor") {
  test::check_error({"set_grad", "float64[1] on cpu", "float64[3] on cpu"}, [] {
    leaf_vec({1, 2, 3}).set_grad(vec({1}));
  });
}

TEST_CASE("autograd methods of an undefined tensor throw") {
  const Tensor undefined;
  test::check_error({"requires_grad", "undefined"}, [&] { (void)undefined.requires_grad(); });
  test::check_error({"grad", "undefined"}, [&] { (void)undefined.grad(); });
  test::check_error({"grad_fn", "undefined"}, [&] { (void)undefined.grad_fn(); });
}

TEST_CASE("backward with an explicit gradient computes the vector-Jacobian product") {
  const Tensor x = leaf_vec({1, -2, 3});
  (x * x).backward(vec({1, 10, 100}));
  check_allclose(x.grad(), vec({2, -40, 600}));
}

TEST_CASE("backward rejects outputs and gradients it cannot use") {
  const Tensor x = leaf_vec({1, 2, 3});
  SUBCASE("a non-scalar output without a gradient") {
    test::check_error({"backward", "one-element outputs", "[3]"}, [&] { (x * x).backward(); });
  }
  SUBCASE("a gradient of the wrong shape") {
    test::check_error({"backward", "gradient for output 0 has shape [2]", "output has shape [3]"},
                      [&] {
                        (x * x).backward(vec({1, 1}));
                      });
  }
  SUBCASE("an output that does not require grad") {
    test::check_error({"backward", "float64[] on cpu", "does not require grad"}, [] {
      vec({1, 2}).sum().backward();
    });
  }
  SUBCASE("a gradient count that does not match the outputs") {
    test::check_error({"backward", "got 1 gradients for 2 outputs"}, [&] {
      autograd::backward({x.sum(), x.sum()}, {vec({1}).sum()});
    });
  }
}

TEST_CASE("a second backward through a freed graph throws; retain_graph keeps it") {
  const Tensor x = leaf_vec({1, -2, 3});
  const Tensor y = (x * x).sum();
  SUBCASE("freed") {
    y.backward();
    test::check_error({"MulBackward", "second time", "retain_graph=true"}, [&] { y.backward(); });
  }
  SUBCASE("retained") {
    y.backward({}, /*retain_graph=*/true);
    y.backward();
    check_allclose(x.grad(), vec({4, -8, 12}));
  }
}

TEST_CASE("backward on several outputs sums their gradients") {
  const Tensor x = leaf_vec({1, -2, 3});
  SUBCASE("scalar outputs") {
    autograd::backward({(x * x).sum(), (x * 3).sum()});
    check_allclose(x.grad(), vec({5, -1, 9}));  // 2x + 3
  }
  SUBCASE("with a gradient for each") {
    autograd::backward({x * x, x.exp()}, {vec({1, 2, 3}), vec({1, 0, 1})});
    const std::vector<double> xs = test::values(x);
    check_allclose(x.grad(), vec({2 * xs[0] + std::exp(xs[0]), 2 * 2 * xs[1],
                                  3 * 2 * xs[2] + std::exp(xs[2])}));
  }
}

// ---- Graph shapes -------------------------------------------------------------------------------

TEST_CASE("a shared subexpression (diamond) gets the sum of both paths, and runs once") {
  const Tensor x = leaf_vec({0.1, 0.7, -1.3});
  const Tensor h = x * 3;
  int h_gradients = 0;
  h.register_hook([&](const Tensor&) {
    ++h_gradients;
    return Tensor();
  });
  (h.sin() * h.cos()).sum().backward();
  CHECK(h_gradients == 1);
  // d/dx sin(3x) cos(3x) = d/dx sin(6x) / 2 = 3 cos(6x)
  check_allclose(x.grad(), (x.detach() * 6).cos() * 3);
}

TEST_CASE("a tensor used twice in one op gets both gradients") {
  const Tensor x = leaf_vec({1, -2, 3});
  SUBCASE("x * x") {
    (x * x).sum().backward();
    check_allclose(x.grad(), x.detach() * 2);
  }
  SUBCASE("x + x") {
    (x + x).sum().backward();
    check_allclose(x.grad(), vec({2, 2, 2}));
  }
}

namespace {

constexpr int kChainLength = 100000;
constexpr double kFactor = 1.0000001;

/// x after kChainLength ops, alternating x * kFactor and x + 0: a graph as deep as it is long.
Tensor long_chain(const Tensor& x) {
  Tensor y = x;
  for (int i = 0; i < kChainLength; ++i) y = i % 2 == 0 ? y * kFactor : y + 0.0;
  return y;
}

/// Runs `task` on a thread with a 1 MiB stack, which recursing once per op of a long chain
/// overflows in any build mode.
void run_on_small_stack(std::function<void()> task) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, 1 << 20);
  pthread_t thread;
  const int created = pthread_create(
      &thread, &attributes,
      [](void* f) -> void* {
        (*static_cast<std::function<void()>*>(f))();
        return nullptr;
      },
      &task);
  pthread_attr_destroy(&attributes);
  REQUIRE(created == 0);
  pthread_join(thread, nullptr);
}

}  // namespace

TEST_CASE("backward through a chain of 100,000 ops does not recurse") {
  const Tensor x = leaf_vec({2});
  const Tensor y = long_chain(x).sum();
  run_on_small_stack([&] { y.backward(); });
  // Multiplied kChainLength / 2 times: dy/dx is kFactor^(kChainLength / 2).
  CHECK(x.grad().item<double>() == doctest::Approx(std::pow(kFactor, kChainLength / 2)));
}

TEST_CASE("destroying a graph of 100,000 ops does not recurse") {
  const Tensor x = leaf_vec({2});
  Tensor y = long_chain(x);
  const std::weak_ptr<autograd::Node> last = y.grad_fn();
  SUBCASE("with its saved tensors") {}
  SUBCASE("after backward freed them") { y.sum().backward(); }
  run_on_small_stack([&] { y = Tensor(); });
  CHECK(last.expired());  // the whole graph is gone, not just leaked
}

TEST_CASE("gradients of broadcast ops are summed to each input's shape") {
  const Tensor a = test::leaf({2, 3}, 1);
  const Tensor b = test::leaf({3}, 2);
  const Tensor c = test::leaf({2, 1}, 3);
  const Tensor s = test::leaf({}, 4);
  (a * b + c * s).sum().backward();
  check_allclose(a.grad(), b.detach().expand({2, 3}));
  check_allclose(b.grad(), a.detach().sum({0}));
  // c * s is broadcast over the 3 columns: each element of c is used 3 times.
  check_allclose(c.grad(), full({2, 1}, 3 * s.item<double>(), kFloat64));
  check_allclose(s.grad(), c.detach().sum() * 3);
}

TEST_CASE("a float32 leaf used in a float64 computation gets a float32 gradient") {
  const Tensor x = tensor({1.f, 2.f}).requires_grad_();
  const Tensor y = (x * vec({0.25, 0.1})).sum();
  CHECK(y.dtype() == kFloat64);
  y.backward();
  REQUIRE(x.grad().dtype() == kFloat32);
  CHECK(x.grad().data_ptr<float>()[0] == 0.25f);
  CHECK(x.grad().data_ptr<float>()[1] == 0.1f);  // the float64 gradient, rounded
}

// ---- grad() -------------------------------------------------------------------------------------

TEST_CASE("grad returns gradients without touching .grad") {
  const Tensor a = leaf_vec({1, 2, 3});
  const Tensor b = leaf_vec({-1, 0.5, 4});
  const Tensor earlier = vec({7, 7, 7});
  a.set_grad(earlier);
  const std::vector<Tensor> grads = autograd::grad({(a * b).sum()}, {a, b});
  REQUIRE(grads.size() == 2);
  check_allclose(grads[0], b.detach());
  check_allclose(grads[1], a.detach());
  CHECK(a.grad().is_same(earlier));
  check_allclose(a.grad(), vec({7, 7, 7}));
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("grad with respect to an intermediate tensor") {
  const Tensor x = leaf_vec({1, -2, 3});
  const Tensor h = x * 2;
  const Tensor y = (h * h).sum();
  const std::vector<Tensor> grads = autograd::grad({y}, {h, x});
  check_allclose(grads[0], h.detach() * 2);  // dy/dh = 2h
  check_allclose(grads[1], x.detach() * 8);  // dy/dx = 2h * 2 = 8x
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(h.grad().defined());
}

TEST_CASE("grad of an unused input: an error, or undefined with allow_unused") {
  const Tensor x = leaf_vec({1, 2});
  const Tensor unused = leaf_vec({3});
  SUBCASE("error") {
    test::check_error({"grad", "input 1", "float64[1]", "not used", "allow_unused"}, [&] {
      autograd::grad({(x * x).sum()}, {x, unused});
    });
  }
  SUBCASE("allow_unused") {
    const std::vector<Tensor> grads = autograd::grad({(x * x).sum()}, {x, unused}, {},
                                                     autograd::GradOptions().allow_unused(true));
    check_allclose(grads[0], vec({2, 4}));
    CHECK_FALSE(grads[1].defined());
  }
}

TEST_CASE("grad frees the graph unless retain_graph or create_graph is set") {
  const Tensor x = leaf_vec({1, -2});
  const Tensor y = (x * x).sum();
  SUBCASE("default") {
    autograd::grad({y}, {x});
    test::check_error({"MulBackward", "retain_graph=true"}, [&] { autograd::grad({y}, {x}); });
  }
  SUBCASE("retain_graph") {
    autograd::grad({y}, {x}, {}, autograd::GradOptions().retain_graph(true));
    check_allclose(autograd::grad({y}, {x})[0], vec({2, -4}));
  }
  SUBCASE("create_graph") {
    autograd::grad({y}, {x}, {}, autograd::GradOptions().create_graph(true));
    check_allclose(autograd::grad({y}, {x})[0], vec({2, -4}));
  }
}

TEST_CASE("grad rejects inputs that do not require grad") {
  const Tensor x = leaf_vec({1, 2});
  test::check_error({"grad", "input 1", "float64[2] on cpu", "does not require grad"}, [&] {
    autograd::grad({x.sum()}, {x, vec({1, 2})});
  });
}

// ---- Higher order -------------------------------------------------------------------------------

TEST_CASE("create_graph gives a differentiable gradient: d2/dx2 x^3 = 6x") {
  const Tensor x = leaf_vec({0.5, -1, 2});
  SUBCASE("pow, through grad") {
    const Tensor first =
        autograd::grad({x.pow(3).sum()}, {x}, {}, autograd::GradOptions().create_graph(true))[0];
    CHECK(first.requires_grad());
    check_allclose(first, x.detach() * x.detach() * 3);
    check_allclose(autograd::grad({first.sum()}, {x})[0], x.detach() * 6);
  }
  SUBCASE("mul, through backward") {
    // create_graph keeps the graph even without retain_graph: the gradient's own graph uses it.
    (x * x * x).sum().backward({}, /*retain_graph=*/false, /*create_graph=*/true);
    const Tensor first = x.grad();
    CHECK(first.requires_grad());
    x.set_grad({});
    first.sum().backward();
    check_allclose(x.grad(), x.detach() * 6);
  }
}

TEST_CASE("double backward gives Hessian-vector products") {
  // f(x) = sum(tanh(A x)^2): with t = tanh(A x), grad f = A^T (2t - 2t^3) and
  // H = A^T diag((2 - 6 t^2)(1 - t^2)) A.
  const Tensor a = tensor({{0.5, -1.0, 0.3}, {0.2, 0.4, -0.7}, {1.1, 0.1, 0.6}}, kFloat64);
  const Tensor x = leaf_vec({0.3, -0.2, 0.8});
  const Tensor v = vec({1.0, -2.0, 0.5});
  const Tensor gradient = autograd::grad({matmul(a, x).tanh().pow(2).sum()}, {x}, {},
                                         autograd::GradOptions().create_graph(true))[0];
  const Tensor hv = autograd::grad({(gradient * v).sum()}, {x})[0];

  const std::vector<double> av = test::values(a), xv = test::values(x), vv = test::values(v);
  std::vector<double> curvature(3);
  for (int i = 0; i < 3; ++i) {
    double u = 0;
    for (int k = 0; k < 3; ++k) u += av[i * 3 + k] * xv[k];
    const double t = std::tanh(u);
    curvature[i] = (2 - 6 * t * t) * (1 - t * t);
  }
  std::vector<double> expected(3, 0.0);
  for (int j = 0; j < 3; ++j) {
    for (int k = 0; k < 3; ++k) {
      double h_jk = 0;
      for (int i = 0; i < 3; ++i) h_jk += av[i * 3 + j] * curvature[i] * av[i * 3 + k];
      expected[j] += h_jk * vv[k];
    }
  }
  check_allclose(hv, tensor(expected, {3}));
}

TEST_CASE("gradgradcheck on composite functions") {
  SUBCASE("broadcast product through sigmoid and exp") {
    test::check_gradients(
        [](const std::vector<Tensor>& in) { return (in[0] * in[1]).sigmoid() * in[0].exp(); },
        {test::leaf({2, 3}, 1), test::leaf({3}, 2)});
  }
  SUBCASE("squared matrix product, reduced") {
    test::check_gradients(
        [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]).pow(2).sum({1}); },
        {test::leaf({2, 3}, 3), test::leaf({3, 2}, 4)});
  }
  SUBCASE("log of a rational function") {
    test::check_gradients(
        [](const std::vector<Tensor>& in) { return (in[0] / (in[0] * in[0] + 1)).log(); },
        {test::leaf_in({4}, 0.5, 2.0, 5)});
  }
  SUBCASE("softmax-weighted sum with a non-contiguous input") {
    test::check_gradients(
        [](const std::vector<Tensor>& in) { return (in[0].softmax(1) * in[1]).sum({1}); },
        {test::strided_leaf({2, 3}, 6), test::leaf({2, 3}, 7)});
  }
}

// ---- Modes and flags ----------------------------------------------------------------------------

TEST_CASE("NoGradGuard stops recording and restores the previous mode") {
  const Tensor x = leaf_vec({1, 2});
  REQUIRE(GradMode::is_enabled());
  {
    NoGradGuard no_grad;
    CHECK_FALSE(GradMode::is_enabled());
    const Tensor y = x * 2;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    {
      AutoGradMode enabled(true);
      const Tensor z = x * 2;
      CHECK(z.requires_grad());
      CHECK(z.grad_fn() != nullptr);
    }
    CHECK_FALSE(GradMode::is_enabled());
  }
  CHECK(GradMode::is_enabled());
  CHECK((x * 2).requires_grad());
}

TEST_CASE("grad mode is thread-local") {
  const Tensor x = leaf_vec({1, 2});
  SUBCASE("a NoGradGuard in another thread does not affect this one") {
    std::promise<void> guard_taken, checked;
    std::thread other([&] {
      NoGradGuard no_grad;
      guard_taken.set_value();
      checked.get_future().wait();
    });
    guard_taken.get_future().wait();
    CHECK(GradMode::is_enabled());
    CHECK((x * 2).requires_grad());
    checked.set_value();
    other.join();
  }
  SUBCASE("a new thread starts with grad mode on") {
    NoGradGuard no_grad;
    bool enabled_there = false;
    std::thread([&] { enabled_there = GradMode::is_enabled(); }).join();
    CHECK(enabled_there);
  }
}

TEST_CASE("detach shares storage and cuts the graph") {
  const Tensor x = leaf_vec({1, -2, 3});
  const Tensor y = x * 2;
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.data_ptr<double>() == y.data_ptr<double>());
  const uint32_t version = y.version();
  d.mul_(10);  // writes through to y, and y's version counter sees it
  check_allclose(y.detach(), vec({20, -40, 60}));
  CHECK(y.version() == version + 1);
  // No gradient flows through the detached factor: d(x * c)/dx = c.
  (x * x.detach()).sum().backward();
  check_allclose(x.grad(), vec({1, -2, 3}));
}

TEST_CASE("requires_grad_ only on floating-point leaves") {
  const Tensor x = leaf_vec({1, 2});
  test::check_error({"requires_grad_", "leaf", "MulBackward"}, [&] { (x * 2).requires_grad_(); });
  test::check_error({"requires_grad_", "int64[3]"}, [] { arange(3).requires_grad_(); });
  // Turning it off is allowed on any leaf.
  Tensor plain = arange(3);
  plain.requires_grad_(false);
  CHECK_FALSE(plain.requires_grad());
}

TEST_CASE("is_leaf and grad_fn names") {
  const Tensor x = leaf_vec({1, 2});
  CHECK(x.is_leaf());
  CHECK(vec({1}).is_leaf());
  CHECK((vec({1}) * 2).is_leaf());  // not tracked: nothing required grad
  CHECK_FALSE((x * 2).is_leaf());
  CHECK(std::string((x * 2).grad_fn()->name()) == "MulBackward");
  CHECK(std::string((x + x).grad_fn()->name()) == "AddBackward");
  CHECK(std::string(x.exp().grad_fn()->name()) == "ExpBackward");
  CHECK(std::string(x.sum().grad_fn()->name()) == "SumBackward");
}

// ---- Hooks --------------------------------------------------------------------------------------

TEST_CASE("a leaf hook sees the summed gradient once") {
  const Tensor x = leaf_vec({1, -2, 3});
  std::vector<Tensor> seen;
  x.register_hook([&](const Tensor& g) {
    seen.push_back(g.clone());
    return Tensor();
  });
  (x * x + x * 3 + x.exp()).sum().backward();  // x is used four times
  REQUIRE(seen.size() == 1);
  const Tensor expected = x.detach() * 2 + 3 + x.detach().exp();
  check_allclose(seen[0], expected);
  check_allclose(x.grad(), expected);
}

TEST_CASE("a hook that returns a tensor replaces the gradient") {
  const Tensor x = leaf_vec({1, -2, 3});
  x.register_hook([](const Tensor& g) { return g * 10; });
  SUBCASE("backward") {
    (x * x).sum().backward();
    check_allclose(x.grad(), x.detach() * 20);
  }
  SUBCASE("grad") { check_allclose(autograd::grad({(x * x).sum()}, {x})[0], x.detach() * 20); }
}

TEST_CASE("hooks on a non-leaf tensor see and can replace its gradient") {
  const Tensor x = leaf_vec({1, -2, 3});
  const Tensor h = x * 2;
  std::vector<Tensor> seen;
  h.register_hook([&](const Tensor& g) {
    seen.push_back(g.clone());
    return g * 3;
  });
  (h * h).sum().backward();
  REQUIRE(seen.size() == 1);
  check_allclose(seen[0], h.detach() * 2);
  check_allclose(x.grad(), h.detach() * 2 * 3 * 2);  // dy/dh, tripled by the hook, times dh/dx
  CHECK_FALSE(h.grad().defined());                   // hooks do not keep .grad
}

TEST_CASE("retain_grad keeps the .grad of a non-leaf, accumulating like a leaf") {
  const Tensor x = leaf_vec({1, -2, 3});
  const Tensor h = x * 2;
  h.retain_grad();
  const Tensor y = (h * h).sum();
  y.backward({}, /*retain_graph=*/true);
  check_allclose(h.grad(), h.detach() * 2);
  CHECK_FALSE(h.grad().requires_grad());
  y.backward();
  check_allclose(h.grad(), h.detach() * 4);
}

TEST_CASE("register_hook needs a tensor that requires grad") {
  test::check_error({"register_hook", "float64[2] on cpu", "does not require grad"}, [] {
    vec({1, 2}).register_hook([](const Tensor& g) { return g; });
  });
}

// ---- Version counters ---------------------------------------------------------------------------

TEST_CASE("modifying a saved tensor in place makes backward throw") {
  const Tensor x = leaf_vec({1, -2, 3});
  Tensor w = vec({0.5, 1.5, 2.5});
  const uint32_t version = w.version();
  SUBCASE("a saved input") {
    const Tensor y = (x * w).sum();
    w.mul_(2);
    test::check_modified_after_save(y, "MulBackward", "float64[3] on cpu", version);
  }
  SUBCASE("a view of a saved input") {
    const Tensor y = (x * w).sum();
    w.narrow(0, 1, 2).fill_(0);
    test::check_modified_after_save(y, "MulBackward", "float64[3] on cpu", version);
  }
  SUBCASE("the base of a saved view") {
    const Tensor y = (x.narrow(0, 0, 2) * w.narrow(0, 1, 2)).sum();
    w.add_(1);
    test::check_modified_after_save(y, "MulBackward", "float64[2] on cpu", version);
  }
  SUBCASE("a saved non-leaf that requires grad") {
    Tensor h = x * 1;
    const uint32_t h_version = h.version();
    const Tensor y = (h * h).sum();
    h.add_(1);
    test::check_modified_after_save(y, "MulBackward", "float64[3] on cpu", h_version);
  }
}

TEST_CASE("modifying a saved output in place makes backward throw") {
  const Tensor x = leaf_vec({1, -2, 3});
  Tensor y = x.exp();  // ExpBackward saves its output
  const uint32_t version = y.version();
  y.mul_(2);
  test::check_modified_after_save(y.sum(), "ExpBackward", "float64[3] on cpu", version);
}

TEST_CASE("modifying in place a tensor that no node saved is fine") {
  const Tensor x = leaf_vec({1, -2, 3});
  Tensor w = vec({1, 1, 1});
  Tensor y = x + w;  // AddBackward saves nothing
  w.mul_(5);
  y.mul_(2);
  y.sum().backward();
  check_allclose(x.grad(), vec({2, 2, 2}));
}

TEST_CASE("the .grad of two leaves of a + b are independent tensors") {
  const Tensor a = leaf_vec({1, 2});
  const Tensor b = leaf_vec({3, 4});
  (a + b).sum().backward();  // AddBackward hands the same gradient to both
  CHECK(a.grad().impl()->storage() != b.grad().impl()->storage());
  Tensor a_grad = a.grad();
  a_grad.mul_(5);
  check_allclose(a.grad(), vec({5, 5}));
  check_allclose(b.grad(), vec({1, 1}));
}

// ---- Custom ops (autograd::record) --------------------------------------------------------------

namespace {

/// The forward computation of a custom op: run untracked, since record() adds the node.
Tensor untracked(const std::function<Tensor()>& forward) {
  NoGradGuard no_grad;
  return forward();
}

/// x^3, with its backward written by hand.
Tensor cube(const Tensor& x) {
  Tensor out = untracked([&] { return x * x * x; });
  autograd::record(out, "CubeBackward", {x}, {x}, false,
                   [](const Context& ctx, const Tensor& g) -> Grads {
                     const Tensor saved = ctx.saved(0);
                     return {g * saved * saved * 3};
                   });
  return out;
}

/// exp(x), whose backward reads the output.
Tensor my_exp(const Tensor& x) {
  Tensor out = untracked([&] { return x.exp(); });
  autograd::record(out, "MyExpBackward", {x}, {}, true,
                   [](const Context& ctx, const Tensor& g) -> Grads { return {g * ctx.output()}; });
  return out;
}

/// a * b (broadcasting), with a wrong derivative for b (b instead of a) when `correct` is false.
Tensor product(const Tensor& a, const Tensor& b, bool correct = true) {
  Tensor out = untracked([&] { return a * b; });
  autograd::record(out, "ProductBackward", {a, b}, {a, b}, false,
                   [correct](const Context& ctx, const Tensor& g) -> Grads {
                     // g * a has the broadcast shape: the engine sums it down to b's shape.
                     return {g * ctx.saved(1), g * ctx.saved(correct ? 0 : 1)};
                   });
  return out;
}

}  // namespace

TEST_CASE("custom ops with a hand-written backward pass gradcheck and gradgradcheck") {
  SUBCASE("saved inputs") {
    const Tensor x = test::leaf({4}, 1);
    CHECK(std::string(cube(x).grad_fn()->name()) == "CubeBackward");
    test::check_gradients([](const std::vector<Tensor>& in) { return cube(in[0]); }, {x});
  }
  SUBCASE("saved output (re-attached to its node for double backward)") {
    test::check_gradients([](const std::vector<Tensor>& in) { return my_exp(in[0]); },
                          {test::leaf({4}, 2)});
  }
  SUBCASE("broadcast gradients") {
    test::check_gradients([](const std::vector<Tensor>& in) { return product(in[0], in[1]); },
                          {test::leaf({2, 3}, 3), test::leaf({3}, 4)});
  }
}

TEST_CASE("gradcheck catches a wrong backward and names the entry") {
  const Tensor a = leaf_vec({1, 2, 3});
  const Tensor b = leaf_vec({1, 2, 5});  // the wrong d/db (b) differs from the right one (a) at 2
  test::check_error(
      {"gradcheck", "d output[2] / d input 1[2]", "autograd gives 5", "finite differences give 3"},
      [&] {
        autograd::gradcheck(
            [](const std::vector<Tensor>& in) { return product(in[0], in[1], false); }, {a, b});
      });
}

TEST_CASE("ctx.needs_grad says which inputs need a gradient") {
  const Tensor x = leaf_vec({1, 2});
  const Tensor constant = vec({3, 4});
  std::array<bool, 2> needs{};
  const Tensor y = untracked([&] { return x * constant; });
  autograd::record(y, "NeedsGradBackward", {x, constant}, {constant}, false,
                   [&needs](const Context& ctx, const Tensor& g) -> Grads {
                     needs = {ctx.needs_grad(0), ctx.needs_grad(1)};
                     return {g * ctx.saved(0), Tensor()};
                   });
  y.sum().backward();
  CHECK(needs[0]);
  CHECK_FALSE(needs[1]);
  check_allclose(x.grad(), constant);
}

TEST_CASE("ctx.output reads the op's output, under the version check") {
  const Tensor x = leaf_vec({0.5, -1});
  SUBCASE("backward") {
    my_exp(x).sum().backward();
    check_allclose(x.grad(), x.detach().exp());
  }
  SUBCASE("modified in place") {
    Tensor y = my_exp(x);
    const uint32_t version = y.version();
    y.add_(1);
    test::check_modified_after_save(y.sum(), "MyExpBackward", "float64[2] on cpu", version);
  }
}

TEST_CASE("formulas may return a std::vector<Tensor>; a saved tensor never saved is an error") {
  const Tensor x = leaf_vec({1, 2});
  SUBCASE("std::vector") {
    const Tensor y = untracked([&] { return x * 3; });
    autograd::record(
        y, "VectorBackward", {x}, {}, false,
        [](const Context&, const Tensor& g) -> std::vector<Tensor> { return {g * 3}; });
    y.sum().backward();
    check_allclose(x.grad(), vec({3, 3}));
  }
  SUBCASE("saved out of range") {
    const Tensor y = untracked([&] { return x * x; });
    autograd::record(y, "OneSavedBackward", {x}, {x}, false,
                     [](const Context& ctx, const Tensor& g) -> Grads {
                       return {g * ctx.saved(0) * ctx.saved(1)};
                     });
    test::check_error({"OneSavedBackward", "reads saved tensor 1", "the op saved 1"},
                      [&] { y.sum().backward(); });
  }
}

TEST_CASE("record does nothing when no input requires grad or grad mode is off") {
  const Tensor x = leaf_vec({1, 2});
  CHECK_FALSE(cube(vec({1, 2})).requires_grad());
  NoGradGuard no_grad;
  const Tensor y = cube(x);
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
}

TEST_CASE("backward reports formulas that return the wrong gradients") {
  const Tensor x = leaf_vec({1, 2});
  const Tensor other = leaf_vec({3, 4});
  const Tensor y = untracked([&] { return x + other; });
  SUBCASE("too few") {
    autograd::record(y, "TooFewBackward", {x, other}, {}, false,
                     [](const Context&, const Tensor& g) -> Grads { return {g}; });
    test::check_error({"backward", "TooFewBackward returned 1 gradients for 2 inputs"},
                      [&] { y.sum().backward(); });
  }
  SUBCASE("a shape that broadcasting cannot explain") {
    autograd::record(y, "WrongShapeBackward", {x, other}, {}, false,
                     [](const Context&, const Tensor& g) -> Grads {
                       return {g, cat({g, g})};
                     });
    test::check_error(
        {"backward", "WrongShapeBackward returned a gradient of shape [4] for its input 1",
         "which has shape [2]"},
        [&] { y.sum().backward(); });
  }
}

TEST_CASE("gradcheck rejects inputs it cannot perturb") {
  const auto twice = [](const std::vector<Tensor>& in) { return in[0] * 2; };
  test::check_error({"gradcheck", "input 0 is float32[2] on cpu", "float64"}, [&] {
    autograd::gradcheck(twice, {tensor({1.f, 2.f}).requires_grad_()});
  });
  test::check_error({"gradcheck", "no input requires grad"}, [&] {
    autograd::gradcheck(twice, {vec({1, 2})});
  });
  test::check_error({"gradgradcheck", "no input requires grad"}, [&] {
    autograd::gradgradcheck(twice, {vec({1, 2})});
  });
  test::check_error({"gradcheck", "expanded view"},
                    [&] { autograd::gradcheck(twice, {leaf_vec({1}).expand({3})}); });
}
