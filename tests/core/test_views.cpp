// View ops: geometry (sizes, strides, offset), values, shared storage and version counter, errors,
// and gradients on contiguous and non-contiguous inputs.

#include <bg/core/tensor_impl.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "test_util.h"

using namespace bg;

namespace {

// A float64 tensor of `sizes` whose element at `index` is value(index): the reference a view's
// values are checked against, computed by a plain loop over row-major indices.
Tensor tensor_of(const Shape& sizes, const std::function<double(const Shape&)>& value) {
  std::vector<double> values;
  Shape index(sizes.size(), 0);
  for (int64_t n = 0; n < numel_of(sizes); ++n) {
    values.push_back(value(index));
    for (auto d = static_cast<int64_t>(sizes.size()) - 1; d >= 0 && ++index[d] == sizes[d]; --d) {
      index[d] = 0;
    }
  }
  return tensor(values, sizes);
}

void check_geometry(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t offset = 0) {
  CHECK(t.sizes() == sizes);
  CHECK(t.strides() == strides);
  CHECK(t.storage_offset() == offset);
}

bool same_storage(const Tensor& a, const Tensor& b) {
  return a.impl()->storage() == b.impl()->storage();
}

// The elements Python's list(range(size))[start:end:step] picks.
std::vector<double> python_slice(int64_t size, int64_t start, int64_t end, int64_t step) {
  auto bound = [size](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + size : v, 0, size); };
  std::vector<double> picked;
  for (int64_t i = bound(start); i < bound(end); i += step)
    picked.push_back(static_cast<double>(i));
  return picked;
}

}  // namespace

TEST_CASE("view and reshape of a contiguous tensor share its storage with row-major strides") {
  const Tensor x = test::iota({2, 3, 4});
  const Tensor v = x.view({6, 4});
  check_geometry(v, {6, 4}, {4, 1});
  CHECK(same_storage(v, x));
  test::check_equal(v.view({-1}), arange(24, kFloat64));
  check_geometry(x.view({-1, 2}), {12, 2}, {2, 1});
  check_geometry(x.view({2, 1, 12}), {2, 1, 12}, {12, 12, 1});
  const Tensor r = x.reshape({4, -1});
  check_geometry(r, {4, 6}, {6, 1});
  CHECK(same_storage(r, x));
  // A view of a narrowed tensor keeps its storage offset.
  check_geometry(x.narrow(0, 1, 1).view({3, 4}), {3, 4}, {4, 1}, 12);
  test::check_equal(test::iota({1, 1}).view({}), scalar_tensor(0.0, kFloat64));
}

TEST_CASE("view refuses a layout it cannot express; reshape copies instead") {
  const Tensor x = test::iota({2, 3});
  const Tensor xt = x.t();  // sizes [3, 2], strides [1, 3]
  CHECK_THROWS_WITH_AS(xt.view({6}),
                       doctest::Contains("view: shape [6] cannot view the memory of the "
                                         "non-contiguous float64[3, 2] on cpu (strides [1, 3])"),
                       Error);
  Tensor r = xt.reshape({6});
  CHECK_FALSE(same_storage(r, x));
  test::check_equal(r, tensor({0.0, 3.0, 1.0, 4.0, 2.0, 5.0}));
  r.fill_(-1.0);
  test::check_equal(x, test::iota({2, 3}));  // the copy is independent of the base
  // Splitting or adding size-1 dims still fits the transposed layout: reshape returns a view.
  const Tensor split = xt.reshape({3, 2, 1});
  CHECK(same_storage(split, x));
  check_geometry(split, {3, 2, 1}, {1, 3, 3});
  const Tensor flat = xt.flatten();
  CHECK_FALSE(same_storage(flat, x));
  test::check_equal(flat, tensor({0.0, 3.0, 1.0, 4.0, 2.0, 5.0}));
}

TEST_CASE("flatten and unflatten merge and split dims") {
  const Tensor x = test::iota({2, 3, 4});
  check_geometry(x.flatten(), {24}, {1});
  check_geometry(x.flatten(1), {2, 12}, {12, 1});
  check_geometry(x.flatten(0, 1), {6, 4}, {4, 1});
  check_geometry(x.flatten(-2, -1), {2, 12}, {12, 1});
  check_geometry(scalar_tensor(3.0).flatten(), {1}, {1});
  const Tensor merged = x.flatten(1);
  check_geometry(merged.unflatten(1, {3, 4}), {2, 3, 4}, {12, 4, 1});
  check_geometry(merged.unflatten(-1, {2, -1, 3}), {2, 2, 2, 3}, {12, 6, 3, 1});
  test::check_equal(merged.unflatten(1, {3, 4}), x);
  CHECK_THROWS_WITH_AS(x.flatten(2, 1), doctest::Contains("flatten: start_dim 2 comes after"),
                       Error);
  CHECK_THROWS_WITH_AS(merged.unflatten(1, {5, -1}),
                       doctest::Contains("unflatten: shape [5, -1] is invalid for a tensor of 12"),
                       Error);
}

TEST_CASE("permute, transpose and t reorder sizes and strides") {
  const Tensor x = test::iota({2, 3, 4});  // strides [12, 4, 1]
  const Tensor p = x.permute({2, 0, 1});
  check_geometry(p, {4, 2, 3}, {1, 12, 4});
  CHECK(same_storage(p, x));
  // p[k][i][j] == x[i][j][k] == 12 i + 4 j + k.
  test::check_equal(p, tensor_of({4, 2, 3}, [](const Shape& at) {
                      return static_cast<double>(12 * at[1] + 4 * at[2] + at[0]);
                    }));
  check_geometry(x.permute({-1, 1, -3}), {4, 3, 2}, {1, 4, 12});
  check_geometry(x.transpose(0, -1), {4, 3, 2}, {1, 4, 12});
  check_geometry(x.transpose(1, 1), {2, 3, 4}, {12, 4, 1});
  const Tensor m = test::iota({2, 3});
  check_geometry(m.t(), {3, 2}, {1, 3});
  test::check_equal(m.t(), tensor({{0.0, 3.0}, {1.0, 4.0}, {2.0, 5.0}}));
  test::check_equal(m.t().t(), m);
  check_geometry(test::iota({5}).t(), {5}, {1});
  check_geometry(scalar_tensor(1.0).t(), {}, {});
}

TEST_CASE("unsqueeze and squeeze add and remove size-1 dims") {
  const Tensor x = test::iota({2, 3});  // strides [3, 1]
  check_geometry(x.unsqueeze(0), {1, 2, 3}, {6, 3, 1});
  check_geometry(x.unsqueeze(1), {2, 1, 3}, {3, 3, 1});
  check_geometry(x.unsqueeze(-1), {2, 3, 1}, {3, 1, 1});
  check_geometry(x.unsqueeze(-3), {1, 2, 3}, {6, 3, 1});
  test::check_equal(x.unsqueeze(1).reshape({6}), x.reshape({6}));

  const Tensor y = test::iota({1, 2, 1, 3});  // strides [6, 3, 3, 1]
  check_geometry(y.squeeze(), {2, 3}, {3, 1});
  check_geometry(y.squeeze(2), {1, 2, 3}, {6, 3, 1});
  check_geometry(y.squeeze(-4), {2, 1, 3}, {3, 3, 1});
  check_geometry(y.squeeze(1), {1, 2, 1, 3}, {6, 3, 3, 1});  // size 2: nothing to remove
  test::check_equal(y.squeeze(), x);
  check_geometry(test::iota({1, 1}).squeeze(), {}, {});
}

TEST_CASE("expand repeats size-1 dims with stride 0") {
  const Tensor x = test::iota({3, 1});
  const Tensor e = x.expand({2, 3, 4});
  check_geometry(e, {2, 3, 4}, {0, 1, 0});
  CHECK(same_storage(e, x));
  test::check_equal(
      e, tensor_of({2, 3, 4}, [](const Shape& at) { return static_cast<double>(at[1]); }));
  check_geometry(x.expand({-1, 5}), {3, 5}, {1, 0});
  check_geometry(x.expand_as(zeros({7, 3, 2})), {7, 3, 2}, {0, 1, 0});
  check_geometry(x.expand({3, 1}), {3, 1}, {1, 1});
  // Every expanded element is the one base element.
  Tensor base = zeros({3, 1}, kFloat64);
  const Tensor wide = base.expand({3, 4});
  base[1].fill_(5.0);
  test::check_equal(wide[1], full({4}, 5.0, kFloat64));
}

TEST_CASE("narrow, slice and select pick ranges with the right offset and strides") {
  const Tensor x = test::iota({4, 5});  // strides [5, 1]
  const Tensor n = x.narrow(1, 1, 3);
  check_geometry(n, {4, 3}, {5, 1}, 1);
  test::check_equal(n, tensor_of({4, 3}, [](const Shape& at) { return 5.0 * at[0] + at[1] + 1; }));
  check_geometry(x.narrow(0, -2, 2), {2, 5}, {5, 1}, 10);
  check_geometry(x.narrow(-1, 5, 0), {4, 0}, {5, 1}, 5);

  const Tensor s = x.slice(1, 1, 5, 3);  // columns 1 and 4
  check_geometry(s, {4, 2}, {5, 3}, 1);
  test::check_equal(s,
                    tensor_of({4, 2}, [](const Shape& at) { return 5.0 * at[0] + 1 + 3 * at[1]; }));
  check_geometry(x.slice(0, -3, 100), {3, 5}, {5, 1}, 5);

  const Tensor column = x.select(1, -2);
  check_geometry(column, {4}, {5}, 3);
  test::check_equal(column, tensor({3.0, 8.0, 13.0, 18.0}));
  check_geometry(x[-1], {5}, {1}, 15);
  test::check_equal(x[-1], tensor({15.0, 16.0, 17.0, 18.0, 19.0}));
  test::check_equal(x[2][-1], scalar_tensor(14.0, kFloat64));
  CHECK(x[0][0].dim() == 0);
}

TEST_CASE("slice follows Python's rules for negative and out-of-range bounds") {
  const int64_t size = 5;
  const Tensor x = arange(size, kFloat64);
  for (int64_t step = 1; step <= 3; ++step) {
    for (int64_t start = -7; start <= 7; ++start) {
      for (int64_t end = -7; end <= 7; ++end) {
        INFO("x[", start, ":", end, ":", step, "]");
        const std::vector<double> picked = python_slice(size, start, end, step);
        test::check_equal(x.slice(0, start, end, step),
                          tensor(picked, {static_cast<int64_t>(picked.size())}));
      }
    }
  }
}

TEST_CASE("writes through views reach the base, which shares their version counter") {
  Tensor x = test::leaf({3, 4});  // requires grad: writing to it needs NoGradGuard
  std::vector<double> expected(x.data_ptr<double>(), x.data_ptr<double>() + 12);
  NoGradGuard no_grad;
  const uint32_t start = x.version();

  Tensor column = x.t()[1];
  column.fill_(7.0);
  for (int64_t row = 0; row < 3; ++row) expected[row * 4 + 1] = 7.0;
  CHECK(x.version() == start + 1);
  CHECK(column.version() == x.version());

  x.narrow(0, 2, 1).copy_(tensor({1.0, 2.0, 3.0, 4.0}));  // broadcast [4] into row 2
  for (int64_t col = 0; col < 4; ++col) expected[8 + col] = col + 1.0;
  CHECK(x.version() == start + 2);

  Tensor every_fifth = x.view({12}).slice(0, 0, 12, 5);  // flat elements 0, 5, 10
  every_fifth.copy_(tensor({-1.0, -2.0, -3.0}));
  expected[0] = -1.0;
  expected[5] = -2.0;
  expected[10] = -3.0;
  CHECK(x.version() == start + 3);
  CHECK(every_fifth.version() == start + 3);

  x.unsqueeze(0).squeeze(0).select(1, -1)[0].fill_(9.0);
  expected[3] = 9.0;
  test::check_equal(x.detach(), tensor(expected, {3, 4}));
  CHECK(x.version() == start + 4);
}

TEST_CASE("view ops reject bad dims and sizes") {
  const Tensor x = test::iota({2, 3, 4});
  CHECK_THROWS_WITH_AS(x.view({-1, -1}), doctest::Contains("view: only one dim can be -1"), Error);
  CHECK_THROWS_WITH_AS(
      x.view({5, 5}), doctest::Contains("view: shape [5, 5] is invalid for a tensor of 24"), Error);
  CHECK_THROWS_WITH_AS(x.reshape({7, -1}),
                       doctest::Contains("reshape: shape [7, -1] is invalid for a tensor of 24"),
                       Error);
  CHECK_THROWS_WITH_AS(x.transpose(0, 3), doctest::Contains("transpose: dim 3 is out of range"),
                       Error);
  CHECK_THROWS_WITH_AS(x.permute({1, 0}),
                       doctest::Contains("permute: got 2 dims [1, 0] for a tensor of 3 dims"),
                       Error);
  CHECK_THROWS_WITH_AS(x.permute({0, -3, 1}),
                       doctest::Contains("permute: dim 0 repeats in [0, -3, 1]"), Error);
  CHECK_THROWS_WITH_AS(x.unsqueeze(4), doctest::Contains("unsqueeze: dim 4 is out of range"),
                       Error);
  CHECK_THROWS_WITH_AS(x.squeeze(-4), doctest::Contains("squeeze: dim -4 is out of range"), Error);
  CHECK_THROWS_WITH_AS(x.t(),
                       doctest::Contains("t: expects a tensor of at most 2 dims, got float64[2, "
                                         "3, 4] on cpu"),
                       Error);

  const Tensor column = test::iota({3, 1});
  CHECK_THROWS_WITH_AS(column.expand({2, 4}),
                       doctest::Contains("expand: cannot expand float64[3, 1] on cpu to [2, 4]"),
                       Error);
  CHECK_THROWS_WITH_AS(column.expand({3}),
                       doctest::Contains("expand: cannot expand float64[3, 1] on cpu to fewer "
                                         "dims: [3]"),
                       Error);
  CHECK_THROWS_WITH_AS(column.expand({-1, 3, 1}),
                       doctest::Contains("expand: size -1 is not allowed for a new leading dim"),
                       Error);

  const Tensor m = test::iota({4, 5});
  CHECK_THROWS_WITH_AS(m.narrow(0, 3, 2),
                       doctest::Contains("narrow: start 3 and length 2 are out of range for dim 0 "
                                         "of size 4 of float64[4, 5] on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(m.narrow(1, -6, 1),
                       doctest::Contains("narrow: start -6 and length 1 are out of range"), Error);
  CHECK_THROWS_WITH_AS(m.narrow(1, 0, -1), doctest::Contains("narrow: start 0 and length -1"),
                       Error);
  CHECK_THROWS_WITH_AS(m.select(1, 5),
                       doctest::Contains("select: index 5 is out of range for dim 1 of size 5"),
                       Error);
  CHECK_THROWS_WITH_AS(
      m[-5], doctest::Contains("select: index -5 is out of range for dim 0 of size 4"), Error);
  CHECK_THROWS_WITH_AS(m.slice(0, 0, 4, 0),
                       doctest::Contains("slice: step must be positive, got 0"), Error);
  CHECK_THROWS_WITH_AS(scalar_tensor(1.0).select(0, 0),
                       doctest::Contains("select: cannot select from a 0-dim tensor"), Error);
}

TEST_CASE("expand and select send gradients back to the elements they read") {
  const Tensor x = test::leaf({3, 1});
  x.expand({2, 3, 4}).sum().backward();
  // Each element of x was read 2 * 4 times.
  test::check_equal(x.grad(), full({3, 1}, 8.0, kFloat64));

  const Tensor y = test::leaf({2, 3});
  (y.select(1, -1) * tensor({10.0, 20.0})).sum().backward();
  test::check_equal(y.grad(), tensor({{0.0, 0.0, 10.0}, {0.0, 0.0, 20.0}}));
}

TEST_CASE("view ops have correct gradients on contiguous and non-contiguous inputs") {
  struct Case {
    const char* name;
    Shape input;
    test::Function fn;
  };
  using In = const std::vector<Tensor>&;
  const std::vector<Case> cases = {
      {"view",
       {3, 4},
       [](In in) {
         return in[0].view({3, 2, 2});
       }},
      {"view -1",
       {6},
       [](In in) {
         return in[0].view({-1, 3});
       }},
      {"reshape",
       {3, 4},
       [](In in) {
         return in[0].reshape({2, 6});
       }},
      {"flatten", {2, 3, 2}, [](In in) { return in[0].flatten(); }},
      {"unflatten",
       {3, 4},
       [](In in) {
         return in[0].unflatten(1, {2, 2});
       }},
      {"permute",
       {2, 3, 4},
       [](In in) {
         return in[0].permute({2, 0, 1});
       }},
      {"transpose", {2, 3, 4}, [](In in) { return in[0].transpose(0, -1); }},
      {"t", {3, 4}, [](In in) { return in[0].t(); }},
      {"t of 1-d", {5}, [](In in) { return in[0].t(); }},
      {"unsqueeze", {3, 4}, [](In in) { return in[0].unsqueeze(1); }},
      {"squeeze", {3, 1, 4}, [](In in) { return in[0].squeeze(); }},
      {"squeeze dim", {3, 1, 4}, [](In in) { return in[0].squeeze(-2); }},
      {"expand",
       {3, 1},
       [](In in) {
         return in[0].expand({2, 3, 4});
       }},
      {"expand_as",
       {1, 4},
       [](In in) {
         return in[0].expand_as(zeros({3, 4}));
       }},
      {"narrow", {4, 5}, [](In in) { return in[0].narrow(1, 1, 3); }},
      {"slice", {4, 5}, [](In in) { return in[0].slice(1, -4, 100, 2); }},
      {"select", {4, 5}, [](In in) { return in[0].select(1, -2); }},
      {"operator[]", {4, 5}, [](In in) { return in[0][-1]; }},
      {"t, reshape, narrow",
       {3, 4},
       [](In in) {
         return in[0].t().reshape({2, 6}).narrow(1, 1, 4);
       }},
      {"permute, select, expand",
       {3, 4},
       [](In in) {
         return in[0].permute({1, 0}).select(0, 2).unsqueeze(1).expand({3, 2});
       }},
      {"slice, reshape, sin",
       {6, 2},
       [](In in) { return in[0].slice(0, 1, 6, 2).reshape({6}).sin(); }},
  };
  for (const Case& c : cases) {
    INFO(c.name, " of ", shape_str(c.input));
    test::check_gradients(c.fn, {test::leaf(c.input)});
    test::check_gradients(c.fn, {test::strided_leaf(c.input)});
  }
}

TEST_CASE("size(d) and stride(d) count negative dims from the end and refuse dims out of range") {
  const Tensor x = bg::zeros({2, 3, 4}).transpose(0, 2);
  CHECK(x.size(0) == 4);
  CHECK(x.size(-1) == 2);
  CHECK(x.stride(-1) == 12);
  CHECK(x.stride(-3) == 1);
  test::check_error(
      {"size: dim 3 is out of range for a tensor of 3 dims", "expected a dim in [-3, 2]"},
      [&] { (void)x.size(3); });
  test::check_error({"stride: dim -4 is out of range"}, [&] { (void)x.stride(-4); });
  const Tensor scalar = bg::scalar_tensor(1.0);
  test::check_error({"size: dim 0 is out of range: the tensor is 0-dim"},
                    [&] { (void)scalar.size(0); });
  test::check_error({"stride: dim -1 is out of range: the tensor is 0-dim"},
                    [&] { (void)scalar.stride(-1); });
  test::check_error({"tensor: this tensor is undefined"}, [] { (void)Tensor().sizes(); });
}
