// The ops attention and sequence layers are built from: masked_fill, tril/triu, addmm/baddbmm,
// split_with_sizes/unbind, and softmax over fully masked rows. Values against PyTorch 1.13 or the
// definition, float64 gradient checks (broadcast and non-contiguous inputs), error messages.

#include "test_util.h"

using namespace bg;

namespace {
Tensor bools(std::initializer_list<bool> values) { return tensor(values, kBool); }
}  // namespace

TEST_CASE("masked_fill broadcasts the mask and converts the value to x's dtype") {
  // torch.arange(6.).reshape(2, 3).masked_fill(torch.tensor([True, False, True]), -1.0)
  const Tensor x = test::iota({2, 3});
  test::check_close(x.masked_fill(bools({true, false, true}), -1.0), {-1, 1, -1, -1, 4, -1}, 0.0);
  // The result has the broadcast shape (torch.zeros(3).masked_fill(torch.ones(2, 3, dtype=bool),
  // 1.) is [2, 3]).
  const Tensor wide = zeros({3}).masked_fill(ones({2, 3}, kBool), 1.0);
  CHECK(wide.sizes() == Shape{2, 3});
  CHECK(wide.dtype() == kFloat32);
  // torch.zeros(3, dtype=torch.int64).masked_fill(torch.tensor([True, False, True]), 2.7):
  // tensor([2, 0, 2]).
  const Tensor ints = zeros({3}, kInt64).masked_fill(bools({true, false, true}), 2.7);
  CHECK(ints.dtype() == kInt64);
  CHECK(test::ints(ints) == std::vector<int64_t>{2, 0, 2});
  // An attention mask: -inf above the diagonal.
  const Tensor scores = zeros({3, 3}).masked_fill(ones({3, 3}, kBool).triu(1), -test::kInf);
  test::check_close(scores.softmax(1), {1, 0, 0, 0.5, 0.5, 0, 1 / 3., 1 / 3., 1 / 3.}, 1e-6);
}

TEST_CASE("masked_fill's gradients: x outside the mask, a tensor value the sum inside it") {
  // v = torch.tensor(2., requires_grad=True); x = torch.randn(2, 3, requires_grad=True)
  // x.masked_fill(torch.tensor([True, False, True]), v).sum().backward()
  // v.grad: 4.; x.grad: [[0, 1, 0], [0, 1, 0]]
  const Tensor x = test::leaf({2, 3});
  const Tensor v = scalar_tensor(2.0, kFloat64).requires_grad_();
  x.masked_fill(bools({true, false, true}), v).sum().backward();
  CHECK(v.grad().item<double>() == 4.0);
  test::check_close(x.grad(), {0, 1, 0, 0, 1, 0}, 0.0);

  const Tensor mask = bools({false, true, true, false}).reshape({2, 2});
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return in[0].masked_fill(mask.unsqueeze(0), in[1]); },
      {test::strided_leaf({3, 2, 2}), test::leaf({}, 2)});
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return in[0].masked_fill(mask, 0.5) * in[0]; },
      {test::leaf({2, 1}, 3)});  // x broadcast against the mask
}

TEST_CASE("masked_fill errors name the op and the operands") {
  test::check_error({"masked_fill", "bool", "float32[3]"},
                    [] { zeros({3}).masked_fill(ones({3}), 1.0); });
  test::check_error({"masked_fill", "[2]", "[3]"},
                    [] { zeros({3}).masked_fill(ones({2}, kBool), 1.0); });
  test::check_error({"masked_fill", "0-dim", "float32[2]"},
                    [] { zeros({3}).masked_fill(ones({3}, kBool), ones({2})); });
  test::check_error({"masked_fill", "mask", "undefined"},
                    [] { zeros({3}).masked_fill(Tensor(), 1.0); });
}

TEST_CASE("tril and triu keep the triangles of the last two dims") {
  // torch.arange(12.).reshape(3, 4).tril(), .tril(1), .triu(), .triu(-1)
  const Tensor x = test::iota({3, 4});
  test::check_close(x.tril(), {0, 0, 0, 0, 4, 5, 0, 0, 8, 9, 10, 0}, 0.0);
  test::check_close(x.tril(1), {0, 1, 0, 0, 4, 5, 6, 0, 8, 9, 10, 11}, 0.0);
  test::check_close(x.triu(), {0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11}, 0.0);
  test::check_close(x.triu(-1), {0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11}, 0.0);
  test::check_close(x.triu(4), std::vector<double>(12, 0.0), 0.0);
  test::check_close(x.tril(-3), std::vector<double>(12, 0.0), 0.0);
  // Batched: torch.tril(torch.ones(2, 2, 3), diagonal=-1) is [[0,0,0],[1,0,0]] twice.
  test::check_close(tril(ones({2, 2, 3}), -1), {0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0}, 0.0);
  // Bool stays bool (a causal mask): torch.tril(torch.ones(2, 3, dtype=torch.bool)).
  const Tensor causal = ones({2, 3}, kBool).tril();
  CHECK(causal.dtype() == kBool);
  CHECK(test::ints(causal) == std::vector<int64_t>{1, 0, 0, 1, 1, 0});
  test::check_gradients([](const std::vector<Tensor>& in) { return in[0].tril(1); },
                        {test::strided_leaf({2, 3, 4})});
  test::check_gradients([](const std::vector<Tensor>& in) { return in[0].triu(-1); },
                        {test::strided_leaf({4, 3})});
  test::check_gradients([](const std::vector<Tensor>& in) { return (in[0] * in[1]).triu(); },
                        {test::leaf({3, 1}), test::leaf({1, 3}, 2)});  // broadcast operands
  test::check_error({"tril", "at least 2 dims", "float32[3]"}, [] { tril(zeros({3})); });
  test::check_error({"triu", "undefined"}, [] { triu(Tensor()); });
}

TEST_CASE("addmm and baddbmm scale the product and the input") {
  // torch.addmm(torch.tensor([1., 2.]), torch.tensor([[1., 2.], [3., 4.]]),
  //             torch.tensor([[5., 6.], [7., 8.]]), beta=0.5, alpha=2)
  // tensor([[38.5, 45.], [86.5, 101.]])
  const Tensor m1 = tensor({{1.0, 2.0}, {3.0, 4.0}}), m2 = tensor({{5.0, 6.0}, {7.0, 8.0}});
  test::check_close(addmm(tensor({1.0, 2.0}), m1, m2, 0.5, 2), {38.5, 45, 86.5, 101}, 1e-6);
  test::check_close(tensor({1.0, 2.0}).addmm(m1, m2), {20, 24, 44, 52}, 1e-6);
  // beta = 0 ignores the input, NaN included: torch.addmm(torch.tensor([float('nan')]),
  // torch.ones(2, 2), torch.ones(2, 2), beta=0) is all 2.
  test::check_close(addmm(full({1}, test::kNaN), ones({2, 2}), ones({2, 2}), 0), {2, 2, 2, 2}, 0.0);
  // baddbmm: a mask [M, N] added to every batch's scores.
  const Tensor a = test::iota({2, 2, 3}), b = test::iota({2, 3, 2}), mask = tensor({{0.0, 1.0}});
  test::check_close(baddbmm(mask.to(kFloat64), a, b, 1, 0.5),
                    test::values(mask.to(kFloat64) + bmm(a, b) * 0.5), 1e-12);
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2], 0.5, -1.5); },
      {test::leaf({3}), test::strided_leaf({2, 4}, 2), test::leaf({4, 3}, 3)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return baddbmm(in[0], in[1], in[2], 2, 0.25); },
      {test::leaf({1, 3}), test::leaf({2, 2, 4}, 2), test::strided_leaf({2, 4, 3}, 3)});
}

TEST_CASE("addmm and baddbmm errors name the op and the operands") {
  test::check_error({"addmm", "float32[2, 2, 2]", "does not broadcast", "[2, 2]"}, [] {
    addmm(ones({2, 2, 2}), ones({2, 2}), ones({2, 2}));
  });
  test::check_error({"addmm", "float64", "float32"}, [] {
    addmm(ones({2}, kFloat64), ones({2, 2}), ones({2, 2}));
  });
  test::check_error({"mm", "cannot multiply"}, [] {
    addmm(ones({2}), ones({2, 3}), ones({2, 2}));
  });
  test::check_error({"baddbmm", "[3]", "[2, 2, 2]"}, [] {
    baddbmm(ones({3}), ones({2, 2, 2}), ones({2, 2, 2}));
  });
  test::check_error({"addmm", "undefined"}, [] { addmm(Tensor(), ones({2, 2}), ones({2, 2})); });
}

TEST_CASE("split_with_sizes and unbind give views along a dim") {
  const Tensor x = test::iota({2, 5});
  const std::vector<Tensor> parts = x.split_with_sizes({2, 0, 3}, 1);
  REQUIRE(parts.size() == 3);
  test::check_close(parts[0], {0, 1, 5, 6}, 0.0);
  CHECK(parts[1].sizes() == Shape{2, 0});
  test::check_close(parts[2], {2, 3, 4, 7, 8, 9}, 0.0);
  CHECK(parts[2].storage_offset() == 2);  // a view
  const std::vector<Tensor> rows = x.unbind();
  REQUIRE(rows.size() == 2);
  test::check_close(rows[1], {5, 6, 7, 8, 9}, 0.0);
  CHECK(unbind(x, -1).size() == 5);
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> p = in[0].split_with_sizes({1, 3}, 1);
        return p[0] * p[1].sum(1, true);
      },
      {test::strided_leaf({3, 4})});
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> s = in[0].unbind(1);
        return s[0] * s[2];
      },
      {test::strided_leaf({2, 3})});
  test::check_error({"split_with_sizes", "[2, 2]", "add up to 4", "size 5"}, [&] {
    x.split_with_sizes({2, 2}, 1);
  });
  test::check_error({"split_with_sizes", "non-negative"}, [&] { x.split_with_sizes({6, -1}, 1); });
  test::check_error({"unbind", "0-dim"}, [] { unbind(scalar_tensor(1.0)); });
  test::check_error({"unbind", "dim"}, [&] { x.unbind(2); });
}

TEST_CASE("softmax of a fully masked row is NaN, as in PyTorch") {
  // x = torch.tensor([[-inf, -inf, -inf], [1., -inf, 2.]], requires_grad=True)
  // torch.softmax(x, 1): [[nan, nan, nan], [0.2689, 0.0000, 0.7311]]
  // (torch.softmax(x, 1) * torch.tensor([[1., 2, 3], [1, 2, 3]])).sum().backward():
  //   x.grad [[nan, nan, nan], [-0.3932, -0.0000, 0.3932]]
  // torch.log_softmax(x, 1): [[nan, nan, nan], [-1.3133, -inf, -0.3133]], and the same weighted
  // sum's gradient [[nan, nan, nan], [-0.6136, 2.0000, -1.3864]]
  const double n = test::kNaN, inf = test::kInf;
  for (Dtype dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const Tensor weights = tensor({{1.0, 2.0, 3.0}, {1.0, 2.0, 3.0}}, dtype);
    Tensor x = tensor({{-inf, -inf, -inf}, {1.0, -inf, 2.0}}, dtype).requires_grad_();
    const Tensor soft = x.softmax(1);
    test::check_close(soft, {n, n, n, 0.26894142, 0, 0.73105858}, 1e-6);
    (soft * weights).sum().backward();
    test::check_close(x.grad(), {n, n, n, -0.39322387, 0, 0.39322387}, 1e-5);
    x.set_grad({});
    const Tensor log_soft = x.log_softmax(1);
    test::check_close(log_soft, {n, n, n, -1.31326169, -inf, -0.31326169}, 1e-6);
    (log_soft * weights).sum().backward();
    test::check_close(x.grad(), {n, n, n, -0.61364853, 2.0, -1.38635147}, 1e-5);
  }
}
