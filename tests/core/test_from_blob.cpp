// bg::from_blob: tensors over memory the application owns.

#include <cstdint>
#include <memory>
#include <vector>

#include "test_util.h"

using namespace bg;

TEST_CASE("from_blob: reads the caller's memory without copying") {
  std::vector<float> values{1, 2, 3, 4, 5, 6};
  const Tensor t = from_blob(values.data(), {2, 3}, kFloat32);
  CHECK(t.data_ptr<float>() == values.data());
  CHECK(t.sizes() == Shape{2, 3});
  CHECK(t.is_contiguous());
  CHECK(equal(t, tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}})));
  values[4] = 50;  // the tensor sees the caller's writes
  CHECK(t[1][1].item<float>() == 50);

  std::vector<int64_t> integers{7, 8};
  CHECK(equal(from_blob(integers.data(), {2}, kInt64), tensor({7, 8})));
}

TEST_CASE("from_blob: in-place ops write the caller's memory") {
  std::vector<double> values{1, 2, 3, 4};
  Tensor t = from_blob(values.data(), {2, 2}, kFloat64);
  t.mul_(10);
  CHECK(values == std::vector<double>{10, 20, 30, 40});
  t.narrow(1, 1, 1).fill_(-1);  // through a view
  CHECK(values == std::vector<double>{10, -1, 30, -1});
  (void)(t + 1);  // out-of-place ops leave it alone
  CHECK(values == std::vector<double>{10, -1, 30, -1});
}

TEST_CASE("from_blob: the deleter runs once, when the last tensor using the memory dies") {
  auto* values = new float[4]{1, 2, 3, 4};
  int deleted = 0;
  Tensor t = from_blob(values, {4}, kFloat32, [&](void* data) {
    CHECK(data == values);
    delete[] static_cast<float*>(data);
    ++deleted;
  });
  Tensor view = t.narrow(0, 1, 2);
  t = Tensor();
  CHECK(deleted == 0);  // the view still uses it
  CHECK(equal(view, tensor({2.f, 3.f})));
  view = Tensor();
  CHECK(deleted == 1);
}

TEST_CASE("from_blob: strides describe any layout of the caller's memory") {
  std::vector<float> values{1, 2, 3, 4, 5, 6};  // [2, 3], row-major
  const Tensor transposed = from_blob(values.data(), {3, 2}, {1, 3}, kFloat32);
  CHECK_FALSE(transposed.is_contiguous());
  CHECK(equal(transposed, tensor({{1.f, 4.f}, {2.f, 5.f}, {3.f, 6.f}})));
  const Tensor every_other = from_blob(values.data(), {3}, {2}, kFloat32);
  CHECK(equal(every_other, tensor({1.f, 3.f, 5.f})));
  const Tensor repeated = from_blob(values.data(), {2, 3}, {0, 1}, kFloat32);  // a broadcast row
  CHECK(equal(repeated, tensor({{1.f, 2.f, 3.f}, {1.f, 2.f, 3.f}})));
}

TEST_CASE("from_blob: gradients flow to a tensor over the caller's memory") {
  std::vector<double> values{1, 2, 3};
  const Tensor x = from_blob(values.data(), {3}, kFloat64).requires_grad_();
  (x * x).sum().backward();
  CHECK(equal(x.grad(), tensor({2.0, 4.0, 6.0})));
}

TEST_CASE("from_blob: bad arguments are errors that leave the memory to the caller") {
  std::vector<float> values(8);
  int deleted = 0;
  const auto deleter = [&](void*) { ++deleted; };
  test::check_error({"from_blob: sizes must be non-negative, got [2, -1]"}, [&] {
    (void)from_blob(values.data(), {2, -1}, kFloat32, deleter);
  });
  test::check_error({"from_blob: data is null, but shape [2, 3] has 6 elements"}, [&] {
    (void)from_blob(nullptr, {2, 3}, kFloat32, deleter);
  });
  test::check_error({"from_blob: got 1 strides for shape [2, 3] (2 dims)"}, [&] {
    (void)from_blob(values.data(), {2, 3}, {1}, kFloat32, deleter);
  });
  test::check_error({"from_blob: strides must be non-negative, got [3, -1]"}, [&] {
    (void)from_blob(values.data(), {2, 3}, {3, -1}, kFloat32, deleter);
  });
  auto* misaligned = reinterpret_cast<char*>(values.data()) + 1;
  test::check_error({"from_blob: data at ", "is not aligned to the 4 bytes of a float32"},
                    [&] { (void)from_blob(misaligned, {2}, kFloat32, deleter); });
  test::check_error({"from_blob: shape [2, 3] with strides [4611686018427387904, 1] reaches past"},
                    [&] {
                      (void)from_blob(values.data(), {2, 3}, {1LL << 62, 1}, kFloat32, deleter);
                    });
  test::check_error({"from_blob: at most 16 dims are supported"},
                    [&] { (void)from_blob(values.data(), Shape(17, 1), kFloat32, deleter); });
  CHECK(deleted == 0);
  // No elements, no memory needed.
  CHECK(from_blob(nullptr, {0, 3}, kFloat32).numel() == 0);
}
