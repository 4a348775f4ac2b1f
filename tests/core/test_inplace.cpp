// In-place ops: values, version counter, broadcasting and dtype rules, the autograd rules (leaves,
// views, rebasing history, saved tensors), overlapping memory, and the random fills.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

using namespace bg;

namespace {

using InPlace = std::function<Tensor&(Tensor&)>;

// Runs `op` on `self` and checks that it returned self and bumped the version exactly once.
void apply_once(const InPlace& op, Tensor& self) {
  const uint32_t before = self.version();
  Tensor& returned = op(self);
  CHECK(&returned == &self);
  CHECK(self.version() == before + 1);
}

}  // namespace

TEST_CASE("in-place ops compute their out-of-place result, return self and bump the version once") {
  struct Case {
    const char* name;
    InPlace op;
    Tensor expected;
  };
  const Tensor other = tensor({4.0, 8.0, 2.0});
  const std::vector<Case> cases = {
      {"add_ tensor", [&](Tensor& x) -> Tensor& { return x.add_(other); },
       tensor({5.0, 10.0, 6.0})},
      {"add_ alpha", [&](Tensor& x) -> Tensor& { return x.add_(other, 2); },
       tensor({9.0, 18.0, 8.0})},
      {"add_ number", [](Tensor& x) -> Tensor& { return x.add_(1.5); }, tensor({2.5, 3.5, 5.5})},
      {"sub_ tensor", [&](Tensor& x) -> Tensor& { return x.sub_(other); },
       tensor({-3.0, -6.0, 2.0})},
      {"sub_ alpha", [&](Tensor& x) -> Tensor& { return x.sub_(other, 0.5); },
       tensor({-1.0, -2.0, 3.0})},
      {"sub_ number", [](Tensor& x) -> Tensor& { return x.sub_(1); }, tensor({0.0, 1.0, 3.0})},
      {"mul_ tensor", [&](Tensor& x) -> Tensor& { return x.mul_(other); },
       tensor({4.0, 16.0, 8.0})},
      {"mul_ number", [](Tensor& x) -> Tensor& { return x.mul_(-2); }, tensor({-2.0, -4.0, -8.0})},
      {"div_ tensor", [&](Tensor& x) -> Tensor& { return x.div_(other); },
       tensor({0.25, 0.25, 2.0})},
      {"div_ number", [](Tensor& x) -> Tensor& { return x.div_(4); }, tensor({0.25, 0.5, 1.0})},
      {"zero_", [](Tensor& x) -> Tensor& { return x.zero_(); }, zeros({3}, kFloat64)},
      {"fill_", [](Tensor& x) -> Tensor& { return x.fill_(7); }, full({3}, 7.0, kFloat64)},
      {"copy_", [&](Tensor& x) -> Tensor& { return x.copy_(other); }, other},
      {"clamp_", [](Tensor& x) -> Tensor& { return x.clamp_(1.5, 3); }, tensor({1.5, 2.0, 3.0})},
      {"clamp_ max only", [](Tensor& x) -> Tensor& { return x.clamp_(std::nullopt, 2); },
       tensor({1.0, 2.0, 2.0})},
      {"clamp_ min only", [](Tensor& x) -> Tensor& { return x.clamp_(3.0, std::nullopt); },
       tensor({3.0, 3.0, 4.0})},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Tensor x = tensor({1.0, 2.0, 4.0});
    apply_once(c.op, x);
    test::check_equal(x, c.expected);
  }
}

TEST_CASE("in-place ops broadcast the other operand but never grow self") {
  Tensor x = zeros({2, 3}, kFloat64);
  x.add_(tensor({1.0, 2.0, 3.0}));
  x.mul_(tensor({{2.0}, {-1.0}}));
  test::check_equal(x, tensor({{2.0, 4.0, 6.0}, {-1.0, -2.0, -3.0}}));
  x.copy_(tensor({{5.0}, {6.0}}));
  test::check_equal(x, tensor({{5.0, 5.0, 5.0}, {6.0, 6.0, 6.0}}));
  // A transposed self: x.t() is [3, 2] with strides [1, 3].
  Tensor y = zeros({3, 2}, kFloat64);
  y.t().add_(tensor({1.0, 2.0, 3.0}));
  test::check_equal(y, tensor({{1.0, 1.0}, {2.0, 2.0}, {3.0, 3.0}}));

  Tensor row = zeros({3}, kFloat64);
  CHECK_THROWS_WITH_AS(row.add_(zeros({2, 3}, kFloat64)),
                       doctest::Contains("add_: the operand float64[2, 3] on cpu cannot be "
                                         "broadcast to the shape of float64[3] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(row.copy_(zeros({2, 3}, kFloat64)),
                       doctest::Contains("copy_: the source float64[2, 3] on cpu cannot be "
                                         "broadcast to the shape of float64[3] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(row.mul_(zeros({4}, kFloat64)),
                       doctest::Contains("mul_: shapes [3] and [4] cannot be broadcast"), Error);
  test::check_equal(row, zeros({3}, kFloat64));  // untouched by the failed ops
  CHECK(row.version() == 0);
}

TEST_CASE("in-place ops keep self's dtype: integer results go into floats, never back") {
  Tensor f = zeros({3}, kFloat32);
  f.add_(tensor({1, 2, 3}));
  f.add_(true);
  test::check_equal(f, tensor({2.0f, 3.0f, 4.0f}));
  f.mul_(tensor({0.5}));  // a float64 operand is cast to float32
  test::check_equal(f, tensor({1.0f, 1.5f, 2.0f}));

  Tensor i = tensor({6, 7, 8});
  i.add_(2);
  i.mul_(tensor({1, 2, 3}));
  test::check_equal(i, tensor({8, 18, 30}));
  CHECK_THROWS_WITH_AS(i.add_(tensor({0.5})),
                       doctest::Contains("add_: the result type float64 cannot be stored in "
                                         "int64[3] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(i.mul_(2.5),
                       doctest::Contains("mul_: the result type float32 cannot be stored in int64"),
                       Error);
  // True division gives floats even for integer operands.
  CHECK_THROWS_WITH_AS(i.div_(2),
                       doctest::Contains("div_: the result type float32 cannot be "
                                         "stored in int64[3] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(i.div_(tensor({2, 2, 2})), doctest::Contains("div_: the result type"),
                       Error);
  test::check_equal(i, tensor({8, 18, 30}));

  Tensor flags = tensor({true, false});
  CHECK_THROWS_WITH_AS(flags.add_(flags),
                       doctest::Contains("add_: the result type bool cannot be "
                                         "stored in bool[2] on cpu"),
                       Error);
}

TEST_CASE("copy_ casts to self's dtype") {
  Tensor i = zeros({3}, kInt64);
  i.copy_(tensor({1.7, -2.7, 3.0}));  // truncates toward zero, as a C++ cast
  test::check_equal(i, tensor({1, -2, 3}));
  Tensor f = zeros({3}, kFloat64);
  f.copy_(tensor({1, 2, 3}));
  test::check_equal(f, tensor({1.0, 2.0, 3.0}));
  Tensor b = zeros({2}, kBool);
  b.copy_(tensor({0.0, -0.5}));
  test::check_equal(b, tensor({false, true}));
}

TEST_CASE("in-place ops on a leaf that requires grad need NoGradGuard") {
  const std::vector<InPlace> ops = {
      [](Tensor& x) -> Tensor& { return x.add_(1.0); },
      [](Tensor& x) -> Tensor& { return x.sub_(x, 2); },
      [](Tensor& x) -> Tensor& { return x.mul_(tensor({2.0})); },
      [](Tensor& x) -> Tensor& { return x.div_(2); },
      [](Tensor& x) -> Tensor& { return x.zero_(); },
      [](Tensor& x) -> Tensor& { return x.fill_(1); },
      [](Tensor& x) -> Tensor& { return x.copy_(ones({3}, kFloat64)); },
      [](Tensor& x) -> Tensor& { return x.clamp_(0, 1); },
      [](Tensor& x) -> Tensor& { return x.uniform_(); },
      [](Tensor& x) -> Tensor& { return x.normal_(); },
  };
  for (size_t k = 0; k < ops.size(); ++k) {
    INFO("op ", k);
    Tensor x = test::leaf({3});
    CHECK_THROWS_WITH_AS(ops[k](x),
                         doctest::Contains("a leaf tensor that requires grad (float64[3] on cpu) "
                                           "cannot be modified in place while grad mode is on; do "
                                           "it under bg::NoGradGuard"),
                         Error);
    CHECK(x.version() == 0);
    NoGradGuard no_grad;
    apply_once(ops[k], x);
    CHECK(x.is_leaf());
    CHECK(x.requires_grad());
  }
  Tensor x = test::leaf({3});
  CHECK_THROWS_WITH_AS(x.mul_(3), doctest::Contains("mul_: a leaf tensor"), Error);
  const Tensor doubled = x.detach() * 2.0;
  {
    NoGradGuard no_grad;
    x.mul_(2);
  }
  test::check_equal(x.detach(), doubled);
}

TEST_CASE("in-place ops refuse expanded views, whose elements share memory") {
  Tensor e = zeros({3, 1}).expand({3, 4});
  CHECK_THROWS_WITH_AS(e.fill_(1),
                       doctest::Contains("fill_: the tensor float32[3, 4] on cpu is an "
                                         "expanded view"),
                       Error);
  CHECK_THROWS_WITH_AS(e.add_(1),
                       doctest::Contains("add_: the tensor float32[3, 4] on cpu is an "
                                         "expanded view"),
                       Error);
  CHECK_THROWS_WITH_AS(e.copy_(zeros({3, 4})), doctest::Contains("copy_: the tensor"), Error);
  // Size-1 dims may have any stride: writing there is fine.
  Tensor single = zeros({1}).expand({1, 1});
  single.fill_(2);
  test::check_equal(single, full({1, 1}, 2.0f));
}

TEST_CASE("in-place ops on a non-leaf take over its history") {
  const Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor y = x * 2.0;
  apply_once([](Tensor& t) -> Tensor& { return t.mul_(3); }, y);
  CHECK_FALSE(y.is_leaf());
  CHECK(y.requires_grad());
  test::check_equal(y.detach(), tensor({6.0, 12.0, 18.0}));
  y.sum().backward();
  test::check_equal(x.grad(), tensor({6.0, 6.0, 6.0}));

  // A tensor that did not require grad starts to when an operand does.
  const Tensor w = tensor({1.0, -1.0, 2.0}).requires_grad_();
  Tensor z = ones({3}, kFloat64);
  z.add_(w, 3);
  CHECK(z.requires_grad());
  (z * z).sum().backward();
  test::check_equal(w.grad(), 6.0 * (1.0 + 3.0 * w.detach()));  // d/dw (1 + 3w)^2
}

TEST_CASE("in-place ops on intermediate tensors have correct gradients") {
  auto fn = [](const std::vector<Tensor>& in) {
    Tensor y = in[0] * 1.5;
    y.add_(in[1], 2.0);  // 1.5 a + 2 b
    y.mul_(in[0]);
    y.div_(in[1] * in[1] + 1.0);
    y.sub_(0.5);
    Tensor z = zeros({3, 2}, kFloat64);
    z.copy_(y.t());
    z.mul_(in[0].t().cos());
    z.add_(in[1].sum(0).unsqueeze(1));
    return z;
  };
  test::check_gradients(fn, {test::leaf({2, 3}, 1), test::leaf({2, 3}, 2)});
  test::check_gradients(fn, {test::strided_leaf({2, 3}, 1), test::strided_leaf({2, 3}, 2)});
}

TEST_CASE("in-place ops with self as the other operand") {
  Tensor a = tensor({1.0, 2.0, 3.0});
  a.mul_(a);
  test::check_equal(a, tensor({1.0, 4.0, 9.0}));
  a.sub_(a, 0.5);
  test::check_equal(a, tensor({0.5, 2.0, 4.5}));

  // With autograd, the old value of self must survive for the backward of y * y.
  const Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor y = x * 2.0;
  y.mul_(y);
  y.sum().backward();
  test::check_equal(x.grad(), tensor({8.0, 16.0, 24.0}));  // d/dx (2x)^2
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor y = in[0].sin() + 1.0;  // (exp would save its output, which mul_ changes)
        y.mul_(y.t());
        y.div_(y.t() + 1.0);
        return y;
      },
      {test::leaf({3, 3})});
}

TEST_CASE("in-place ops with autograd on a view are refused") {
  const Tensor x = test::leaf({2, 3});
  Tensor row = (x * 2.0).narrow(0, 0, 1);
  CHECK_THROWS_WITH_AS(row.mul_(2),
                       doctest::Contains("mul_: in-place mul_ on the view float64[1, "
                                         "3] on cpu is not supported when autograd "
                                         "is involved"),
                       Error);
  // Also when only the other operand requires grad.
  Tensor base = zeros({2, 3}, kFloat64);
  Tensor first = base[0];
  CHECK_THROWS_WITH_AS(first.copy_(x[1]), doctest::Contains("copy_: in-place copy_ on the view"),
                       Error);
  test::check_equal(base, zeros({2, 3}, kFloat64));
}

TEST_CASE("in-place ops read overlapping memory before writing it") {
  const Tensor m = arange(9, kFloat64).reshape({3, 3});
  Tensor a = m.clone();
  a.add_(a.t());
  test::check_equal(a, m + m.t());
  Tensor b = m.clone();
  b.copy_(b.t());
  test::check_equal(b, m.t());
  Tensor c = m.clone();
  c.mul_(c.t());
  test::check_equal(c, m * m.t());
  // Copy rows 0..1 onto rows 1..2 (overlapping, shifted).
  Tensor d = m.clone();
  d.narrow(0, 1, 2).copy_(d.narrow(0, 0, 2));
  test::check_equal(d, tensor({{0.0, 1.0, 2.0}, {0.0, 1.0, 2.0}, {3.0, 4.0, 5.0}}));

  // The same with autograd recording: y = x.t(), then y + y.t() = x.t() + x.
  const Tensor x = m.clone().requires_grad_();
  Tensor y = x * 1.0;
  y.copy_(y.t());
  test::check_equal(y.detach(), m.t());
  y.add_(y.t());
  test::check_equal(y.detach(), m + m.t());
  const Tensor weights = arange(9, kFloat64).reshape({3, 3});
  (y * weights).sum().backward();
  test::check_equal(x.grad(), weights + weights.t());
}

TEST_CASE("copy_ from a tensor that requires grad sends the gradient to the source") {
  const Tensor x = test::leaf({3});
  Tensor z = zeros({2, 3}, kFloat64);
  z.copy_(x);  // broadcast over the rows
  CHECK(z.requires_grad());
  const Tensor weights = tensor({{1.0, 2.0, 3.0}, {10.0, 20.0, 30.0}});
  (z * weights).sum().backward();
  test::check_equal(x.grad(), tensor({11.0, 22.0, 33.0}));

  // Into float32: the gradient comes back as float64.
  const Tensor y = test::leaf({3});
  Tensor single = zeros({3}, kFloat32);
  single.copy_(y);
  CHECK(single.dtype() == kFloat32);
  (single * 2.0f).sum().backward();
  test::check_equal(y.grad(), full({3}, 2.0, kFloat64));
}

TEST_CASE("backward fails when a saved tensor was modified in place") {
  const Tensor x = test::leaf({3});
  Tensor w = tensor({1.0, 2.0, 3.0});
  const Tensor y = x * w;  // saves x and w
  const uint32_t saved = w.version();
  w.add_(1.0);
  test::check_modified_after_save(y.sum(), "MulBackward", "float64[3] on cpu", saved);

  Tensor a = x * 2.0;
  const Tensor b = a.sin();  // saves a
  const uint32_t a_saved = a.version();
  a.mul_(3);
  test::check_modified_after_save(b.sum(), "SinBackward", "float64[3] on cpu", a_saved);
}

TEST_CASE("uniform_ and normal_ fill with draws of the requested distribution") {
  Generator generator(7);
  Tensor u = empty({10000}, kFloat64);
  apply_once([&](Tensor& t) -> Tensor& { return t.uniform_(2.0, 5.0, &generator); }, u);
  CHECK(u.min().item<double>() >= 2.0);
  CHECK(u.max().item<double>() < 5.0);
  // U[2, 5) has mean 3.5 and variance 9 / 12; the mean of 10^4 draws has sd 0.009.
  CHECK(std::abs(u.mean().item<double>() - 3.5) < 0.05);
  CHECK(std::abs(u.var().item<double>() - 0.75) < 0.05);

  Tensor n = empty({10000}, kFloat32);
  apply_once([&](Tensor& t) -> Tensor& { return t.normal_(1.0, 2.0, &generator); }, n);
  // The mean of 10^4 draws of N(1, 4) has sd 0.02; their sd has sd about 0.014.
  CHECK(std::abs(n.mean().item<double>() - 1.0) < 0.1);
  CHECK(std::abs(n.std().item<double>() - 2.0) < 0.1);

  // The same seed gives the same numbers.
  Generator first(11), second(11);
  Tensor p = empty({5}, kFloat64), q = empty({5}, kFloat64);
  p.normal_(0.0, 1.0, &first);
  q.normal_(0.0, 1.0, &second);
  test::check_equal(p, q);

  // Through a strided view only the viewed elements change.
  Tensor m = zeros({4, 6}, kFloat64);
  m.slice(1, 0, 6, 2).uniform_(1.0, 2.0, &generator);
  CHECK(m.slice(1, 0, 6, 2).min().item<double>() >= 1.0);
  test::check_equal(m.slice(1, 1, 6, 2), zeros({4, 3}, kFloat64));

  Tensor i = zeros({3}, kInt64);
  CHECK_THROWS_WITH_AS(i.uniform_(),
                       doctest::Contains("uniform_: expected a float32 or float64 tensor, got "
                                         "int64[3] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(u.uniform_(1.0, 0.0), doctest::Contains("uniform_: expected low <= high"),
                       Error);
  CHECK_THROWS_WITH_AS(u.normal_(0.0, -1.0), doctest::Contains("normal_: expected std >= 0"),
                       Error);
}
