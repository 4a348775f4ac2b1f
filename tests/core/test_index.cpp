// Indexing and joining: index_select, index_add, gather, scatter_add, masked_select, nonzero, cat,
// stack, split, chunk. Values against hand-computed results, gradients, and errors.

#include <bg/core/tensor_impl.h>

#include <vector>

#include "test_util.h"

using namespace bg;

TEST_CASE("index_select picks slices along any dim, repeating them as often as indexed") {
  const Tensor x = test::iota({3, 4});
  test::check_equal(x.index_select(0, tensor({2, 0, 2})),
                    tensor({{8.0, 9.0, 10.0, 11.0}, {0.0, 1.0, 2.0, 3.0}, {8.0, 9.0, 10.0, 11.0}}));
  test::check_equal(x.index_select(-1, tensor({3, 1})),
                    tensor({{3.0, 1.0}, {7.0, 5.0}, {11.0, 9.0}}));
  test::check_equal(x.index_select(1, zeros({0}, kInt64)), zeros({3, 0}, kFloat64));
  // x.t() is [4, 3] with strides [1, 4].
  test::check_equal(x.t().index_select(0, tensor({1})), tensor({{1.0, 5.0, 9.0}}));
  test::check_equal(x.t().index_select(1, tensor({2, 0})),
                    tensor({{8.0, 0.0}, {9.0, 1.0}, {10.0, 2.0}, {11.0, 3.0}}));
  // A non-contiguous index.
  test::check_equal(x.index_select(0, tensor({2, 5, 1, 7, 0, 9}).slice(0, 0, 6, 2)),
                    x.index_select(0, tensor({2, 1, 0})));
}

TEST_CASE("index_select backward adds up the gradients of repeated indices") {
  const Tensor x = test::leaf({3, 2});
  const Tensor weights = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
  (x.index_select(0, tensor({2, 0, 2})) * weights).sum().backward();
  // Row 2 was picked twice (weights rows 0 and 2), row 0 once (weights row 1), row 1 never.
  test::check_equal(x.grad(), tensor({{3.0, 4.0}, {0.0, 0.0}, {6.0, 8.0}}));
}

TEST_CASE("index_add adds source slices at the indexed positions, out of place") {
  const Tensor x = ones({3, 2}, kFloat64);
  const Tensor source = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
  test::check_equal(index_add(x, 0, tensor({0, 2, 0}), source),
                    tensor({{7.0, 9.0}, {1.0, 1.0}, {4.0, 5.0}}));
  test::check_equal(x, ones({3, 2}, kFloat64));
  test::check_equal(index_add(zeros({2, 3}, kFloat64), -1, tensor({2, 2}), source.narrow(0, 0, 2)),
                    tensor({{0.0, 0.0, 3.0}, {0.0, 0.0, 7.0}}));
  // A transposed source: source.t() is [2, 3], added along dim 1.
  test::check_equal(index_add(zeros({2, 2}, kFloat64), 1, tensor({1, 0, 1}), source.t()),
                    tensor({{3.0, 6.0}, {4.0, 8.0}}));
}

TEST_CASE("gather reads x[..., index[p], ...] for every position p of the index") {
  const Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}});
  test::check_equal(x.gather(1, tensor({{0, 0}, {1, 0}})), tensor({{1.0, 1.0}, {4.0, 3.0}}));
  const Tensor y = test::iota({3, 4});
  const Tensor rows = tensor({{2, 1, 0, 0}, {0, 0, 1, 2}});
  const Tensor expected = tensor({{8.0, 5.0, 2.0, 3.0}, {0.0, 1.0, 6.0, 11.0}});
  test::check_equal(y.gather(0, rows), expected);
  test::check_equal(y.gather(-2, rows), expected);
  // An index smaller than the input in the other dims; a transposed input.
  test::check_equal(y.gather(1, tensor({{3}, {0}})), tensor({{3.0}, {4.0}}));
  test::check_equal(y.t().gather(1, tensor({{2, 0}, {1, 1}})), tensor({{8.0, 0.0}, {5.0, 5.0}}));
}

TEST_CASE("gather backward adds up the gradients of repeated indices") {
  const Tensor x = test::leaf({2, 3});
  x.gather(1, tensor({{0, 0, 2}, {1, 1, 1}})).sum().backward();
  test::check_equal(x.grad(), tensor({{2.0, 0.0, 1.0}, {0.0, 3.0, 0.0}}));
}

TEST_CASE("scatter_add accumulates every source element at its indexed position") {
  const Tensor src = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  test::check_equal(scatter_add(zeros({2, 3}, kFloat64), 1, tensor({{0, 1, 0}, {2, 2, 2}}), src),
                    tensor({{4.0, 2.0, 0.0}, {0.0, 0.0, 15.0}}));
  const Tensor x = ones({3, 2}, kFloat64);
  const Tensor expected = tensor({{1.0, 3.0}, {1.0, 1.0}, {5.0, 5.0}});
  const Tensor index = tensor({{2, 0}, {2, 2}});
  test::check_equal(scatter_add(x, -2, index, tensor({{1.0, 2.0}, {3.0, 4.0}})), expected);
  test::check_equal(x, ones({3, 2}, kFloat64));  // out of place
  // The same sources as a transposed view.
  test::check_equal(scatter_add(x, 0, index, tensor({{1.0, 3.0}, {2.0, 4.0}}).t()), expected);
}

TEST_CASE("masked_select returns the selected elements in row-major order") {
  const Tensor x = test::iota({2, 3});
  const Tensor mask = tensor({{true, false, true}, {false, false, true}});
  test::check_equal(x.masked_select(mask), tensor({0.0, 2.0, 5.0}));
  test::check_equal(x.masked_select(tensor({true, false, true})), tensor({0.0, 2.0, 3.0, 5.0}));
  test::check_equal(x.t().masked_select(mask.t()), tensor({0.0, 2.0, 5.0}));
  test::check_equal(x.masked_select(zeros({2, 3}, kBool)), zeros({0}, kFloat64));

  // x broadcast against the mask is picked once per selected row; gradients add up.
  const Tensor v = test::leaf({3});
  const Tensor picked = v.masked_select(tensor({{true, true, false}, {false, true, true}}));
  {
    NoGradGuard no_grad;
    test::check_equal(picked, stack({v[0], v[1], v[1], v[2]}));
  }
  picked.sum().backward();
  test::check_equal(v.grad(), tensor({1.0, 2.0, 1.0}));
}

TEST_CASE("nonzero lists the coordinates of nonzero elements") {
  const Tensor x = tensor({{0.0, 1.5, 0.0}, {-2.0, 0.0, 3.0}});
  test::check_equal(nonzero(x), tensor({{0, 1}, {1, 0}, {1, 2}}));
  test::check_equal(nonzero(x.t()), tensor({{0, 1}, {1, 0}, {2, 1}}));
  test::check_equal(nonzero(tensor({true, false, true})), tensor({{0}, {2}}));
  test::check_equal(nonzero(zeros({2, 2})), zeros({0, 2}, kInt64));
  test::check_equal(nonzero(scalar_tensor(4)), zeros({1, 0}, kInt64));
  test::check_equal(nonzero(scalar_tensor(0)), zeros({0, 0}, kInt64));
}

TEST_CASE("cat joins along any dim, promoting dtypes") {
  const Tensor a = test::iota({2, 3});
  test::check_equal(cat({a, full({1, 3}, -1.0, kFloat64)}),
                    tensor({{0.0, 1.0, 2.0}, {3.0, 4.0, 5.0}, {-1.0, -1.0, -1.0}}));
  test::check_equal(cat({a, full({2, 1}, -1.0, kFloat64), a.narrow(1, 0, 1)}, -1),
                    tensor({{0.0, 1.0, 2.0, -1.0, 0.0}, {3.0, 4.0, 5.0, -1.0, 3.0}}));
  test::check_equal(cat({a.t(), a.t()}, 1),
                    tensor({{0.0, 3.0, 0.0, 3.0}, {1.0, 4.0, 1.0, 4.0}, {2.0, 5.0, 2.0, 5.0}}));
  // int64 and float32 give float32.
  test::check_equal(cat({tensor({1, 2}), tensor({0.5f})}), tensor({1.0f, 2.0f, 0.5f}));
  test::check_equal(cat({tensor({true}), tensor({3})}), tensor({1, 3}));
  // An empty part contributes nothing.
  test::check_equal(cat({a, zeros({0, 3}, kFloat64)}), a);
  test::check_equal(cat({zeros({2, 0}, kFloat64), a}, 1), a);
  test::check_equal(cat({a}), a);
}

TEST_CASE("cat of float32 and float64 parts sends each its gradient in its own dtype") {
  const Tensor single = ones({2}, TensorOptions(kFloat32).requires_grad(true));
  const Tensor dbl = ones({1}, TensorOptions(kFloat64).requires_grad(true));
  const Tensor joined = cat({single, dbl});
  CHECK(joined.dtype() == kFloat64);
  (joined * tensor({1.0, 2.0, 3.0})).sum().backward();
  test::check_equal(single.grad(), tensor({1.0f, 2.0f}));
  test::check_equal(dbl.grad(), tensor({3.0}));
}

TEST_CASE("stack adds a new dim") {
  const Tensor a = tensor({1.0, 2.0, 3.0}), b = tensor({4.0, 5.0, 6.0});
  test::check_equal(stack({a, b}), tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}));
  test::check_equal(stack({a, b}, 1), tensor({{1.0, 4.0}, {2.0, 5.0}, {3.0, 6.0}}));
  test::check_equal(stack({a, b}, -1), tensor({{1.0, 4.0}, {2.0, 5.0}, {3.0, 6.0}}));
  const Tensor m = test::iota({2, 3});
  const Tensor stacked = stack({m, m.t().t() * 2.0, m}, 1);
  CHECK(stacked.sizes() == Shape{2, 3, 3});
  test::check_equal(stacked.select(1, 1), m * 2.0);
  test::check_equal(stack({scalar_tensor(1.0f), scalar_tensor(2.0f)}), tensor({1.0f, 2.0f}));
}

TEST_CASE("split and chunk return views, the last one smaller when sizes do not divide") {
  const Tensor x = test::iota({5, 2});
  const std::vector<Tensor> parts = x.split(2);
  REQUIRE(parts.size() == 3);
  test::check_equal(parts[0], x.narrow(0, 0, 2));
  test::check_equal(parts[1], tensor({{4.0, 5.0}, {6.0, 7.0}}));
  test::check_equal(parts[2], tensor({{8.0, 9.0}}));
  CHECK(parts[2].impl()->storage() == x.impl()->storage());
  CHECK(parts[2].storage_offset() == 8);

  auto part_sizes = [](const std::vector<Tensor>& pieces, int64_t dim) {
    std::vector<int64_t> sizes;
    for (const Tensor& piece : pieces) sizes.push_back(piece.size(dim));
    return sizes;
  };
  const Tensor wide = test::iota({2, 5});
  CHECK(part_sizes(wide.split(3, -1), 1) == std::vector<int64_t>{3, 2});
  CHECK(part_sizes(wide.split(7, 1), 1) == std::vector<int64_t>{5});
  CHECK(part_sizes(x.chunk(3), 0) == std::vector<int64_t>{2, 2, 1});
  CHECK(part_sizes(x.chunk(2), 0) == std::vector<int64_t>{3, 2});
  CHECK(part_sizes(wide.chunk(5, -1), 1) == std::vector<int64_t>{1, 1, 1, 1, 1});
  // As in PyTorch, chunks of size ceil(6 / 4) = 2 give only 3 chunks.
  CHECK(part_sizes(test::iota({6}).chunk(4), 0) == std::vector<int64_t>{2, 2, 2});
  test::check_equal(wide.chunk(2, 1)[1], tensor({{3.0, 4.0}, {8.0, 9.0}}));
}

TEST_CASE("chunk of an empty dim gives that many empty chunks, as PyTorch") {
  // [t.shape for t in torch.zeros(0, 3).chunk(2)] == [(0, 3), (0, 3)];
  // torch.zeros(2, 0).chunk(3, 1) gives three tensors of shape (2, 0).
  const std::vector<Tensor> rows = zeros({0, 3}).chunk(2);
  REQUIRE(rows.size() == 2);
  for (const Tensor& part : rows) CHECK(part.sizes() == Shape{0, 3});
  const std::vector<Tensor> columns = zeros({2, 0}).chunk(3, 1);
  REQUIRE(columns.size() == 3);
  for (const Tensor& part : columns) CHECK(part.sizes() == Shape{2, 0});
  // chunk(0, 1) of a non-empty dim: [(0, 2), (0, 1)].
  CHECK(zeros({0, 3}).chunk(2, 1).size() == 2);
}

TEST_CASE("indexing and joining ops have correct gradients") {
  struct Case {
    const char* name;
    std::vector<Shape> inputs;
    test::Function fn;
  };
  using In = const std::vector<Tensor>&;
  const Tensor repeated = tensor({2, 0, 2});
  const Tensor rows = tensor({{2, 1, 0, 0}, {0, 0, 1, 2}});
  const Tensor columns = tensor({{0, 0, 3}, {1, 1, 1}, {2, 0, 2}});
  const Tensor mask = tensor({{true, false, true}, {false, true, true}});
  const std::vector<Case> cases = {
      {"index_select", {{3, 4}}, [&](In in) { return in[0].index_select(0, repeated); }},
      {"index_select dim -1", {{3, 4}}, [&](In in) { return in[0].index_select(-1, repeated); }},
      {"index_add", {{3, 4}, {3, 3}}, [&](In in) { return index_add(in[0], 1, repeated, in[1]); }},
      {"gather", {{3, 4}}, [&](In in) { return in[0].gather(1, columns); }},
      {"gather dim -2", {{3, 4}}, [&](In in) { return in[0].gather(-2, rows); }},
      {"scatter_add", {{3, 4}, {2, 4}}, [&](In in) { return scatter_add(in[0], 0, rows, in[1]); }},
      {"scatter_add dim -1",
       {{3, 4}, {3, 3}},
       [&](In in) { return scatter_add(in[0], -1, columns, in[1]); }},
      {"masked_select", {{2, 3}}, [&](In in) { return in[0].masked_select(mask); }},
      {"masked_select broadcast", {{3}}, [&](In in) { return in[0].masked_select(mask); }},
      {"cat",
       {{2, 3}, {1, 3}},
       [](In in) {
         return cat({in[0], in[1]});
       }},
      {"cat dim -1",
       {{2, 3}, {2, 1}, {2, 2}},
       [](In in) {
         return cat({in[0], in[1], in[2]}, -1);
       }},
      {"stack",
       {{2, 3}, {2, 3}},
       [](In in) {
         return stack({in[0], in[1]}, 1);
       }},
      {"split",
       {{5, 2}},
       [](In in) {
         const std::vector<Tensor> p = in[0].split(2);
         return cat({p[2], p[0] * p[1]});
       }},
      {"chunk",
       {{2, 5}},
       [](In in) {
         const std::vector<Tensor> p = in[0].chunk(2, -1);
         return cat({p[1], p[0].sin()}, -1);
       }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::vector<Tensor> contiguous, strided;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      contiguous.push_back(test::leaf(c.inputs[i], i + 1));
      strided.push_back(test::strided_leaf(c.inputs[i], i + 1));
    }
    test::check_gradients(c.fn, contiguous);
    test::check_gradients(c.fn, strided);
  }
}

TEST_CASE("indexing ops reject bad indices") {
  const Tensor x = test::iota({3, 4});
  CHECK_THROWS_WITH_AS(x.index_select(0, tensor({0.0, 1.0})),
                       doctest::Contains("index_select: expected an int64 index, got float64[2]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.index_select(0, tensor({0, 5})),
                       doctest::Contains("index_select: index 5 is out of range for dim 0 of size "
                                         "3 of float64[3, 4] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(x.index_select(-1, tensor({-1})),
                       doctest::Contains("index_select: index -1 is out of range for dim 1 of "
                                         "size 4"),
                       Error);
  CHECK_THROWS_WITH_AS(x.index_select(0, tensor({{0, 1}, {1, 0}})),
                       doctest::Contains("index_select: expected a 1-d index, got int64[2, 2]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.index_select(2, tensor({0})),
                       doctest::Contains("index_select: dim 2 is out of range"), Error);

  CHECK_THROWS_WITH_AS(index_add(x, 0, tensor({3}), zeros({1, 4}, kFloat64)),
                       doctest::Contains("index_add: index 3 is out of range for dim 0 of size 3"),
                       Error);
  CHECK_THROWS_WITH_AS(index_add(x, 0, tensor({0, 1}), zeros({2, 3}, kFloat64)),
                       doctest::Contains("index_add: source float64[2, 3] on cpu should have "
                                         "shape [2, 4]"),
                       Error);

  CHECK_THROWS_WITH_AS(x.gather(1, tensor({1.0f})),
                       doctest::Contains("gather: the index float32[1] on cpu must have as many "
                                         "dims as the input float64[3, 4] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(x.gather(1, tensor({{1.0f}})),
                       doctest::Contains("gather: expected an int64 index, got float32[1, 1]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.gather(1, tensor({{4}})),
                       doctest::Contains("gather: index 4 is out of range for dim 1 of size 4"),
                       Error);
  CHECK_THROWS_WITH_AS(x.gather(1, zeros({4, 1}, kInt64)),
                       doctest::Contains("gather: the index int64[4, 1] on cpu is larger than the "
                                         "input float64[3, 4] on cpu in dim 0"),
                       Error);

  CHECK_THROWS_WITH_AS(scatter_add(x, 0, tensor({{-2}}), ones({1, 1}, kFloat64)),
                       doctest::Contains("scatter_add: index -2 is out of range for dim 0"), Error);
  CHECK_THROWS_WITH_AS(scatter_add(x, 0, tensor({{0, 1}}), ones({1, 1}, kFloat64)),
                       doctest::Contains("scatter_add: the index int64[1, 2] on cpu and src "
                                         "float64[1, 1] on cpu must have the same shape"),
                       Error);

  CHECK_THROWS_WITH_AS(x.masked_select(ones({3, 4}, kInt64)),
                       doctest::Contains("masked_select: the mask must be a bool tensor, got "
                                         "int64[3, 4]"),
                       Error);
  CHECK_THROWS_WITH_AS(
      x.masked_select(ones({3}, kBool)),
      doctest::Contains("masked_select: shapes [3, 4] and [3] cannot be broadcast"), Error);
}

TEST_CASE("joining ops reject mismatched tensors") {
  const Tensor a = test::iota({2, 3});
  CHECK_THROWS_WITH_AS(cat({a, test::iota({2, 4})}),
                       doctest::Contains("cat: tensor 1 float64[2, 4] on cpu does not match tensor "
                                         "0 float64[2, 3] on cpu outside dim 0"),
                       Error);
  CHECK_THROWS_WITH_AS(cat({a, test::iota({3})}, 1),
                       doctest::Contains("cat: tensor 1 float64[3] on cpu does not match"), Error);
  CHECK_THROWS_WITH_AS(cat({scalar_tensor(1.0), scalar_tensor(2.0)}),
                       doctest::Contains("cat: cannot concatenate 0-dim tensors"), Error);
  CHECK_THROWS_WITH_AS(cat({}), doctest::Contains("cat: expected a non-empty list"), Error);
  CHECK_THROWS_WITH_AS(cat({a, a}, 2), doctest::Contains("cat: dim 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(stack({a, a.t()}),
                       doctest::Contains("stack: tensor 1 float64[3, 2] on cpu does not have the "
                                         "shape of tensor 0 float64[2, 3] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(a.split(0), doctest::Contains("split: split_size must be positive, got 0"),
                       Error);
  CHECK_THROWS_WITH_AS(a.chunk(0), doctest::Contains("chunk: chunks must be positive, got 0"),
                       Error);
  CHECK_THROWS_WITH_AS(scalar_tensor(1.0).split(1),
                       doctest::Contains("split: cannot split a 0-dim tensor"), Error);
}
