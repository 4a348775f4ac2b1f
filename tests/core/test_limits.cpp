// Sizes at the edge of int64: every size, stride, view and byte count is checked, so a shape whose
// element count or byte count does not fit is a bg::Error, never a wrapped-around tensor.

#include <cstdint>

#include "test_util.h"

using namespace bg;

TEST_CASE("limits: a shape whose element count overflows int64 is refused") {
  // 2^32 * 2^32 = 2^64 wraps to 0: the tensor would have no elements and a huge shape.
  test::check_error({"zeros", "[4294967296, 4294967296]", "too many elements"}, [] {
    (void)zeros({1LL << 32, 1LL << 32});
  });
  // 3 * 2^62 wraps to a negative count.
  test::check_error({"ones", "[3, 4611686018427387904]"}, [] { (void)ones({3, 1LL << 62}); });
  test::check_error({"empty", "too many elements"}, [] {
    (void)empty({1LL << 40, 1LL << 40, 1LL << 40});
  });
  // An empty dim does not excuse the others: the strides would overflow.
  test::check_error({"empty", "[0, 4294967296, 4294967296]"}, [] {
    (void)empty({0, 1LL << 32, 1LL << 32});
  });
  test::check_error({"rand", "too many elements"}, [] { (void)rand({1LL << 32, 1LL << 32}); });
}

TEST_CASE("limits: a byte count that overflows is refused before allocating") {
  // 2^61 float64 elements are 2^64 bytes, which wraps to 0.
  test::check_error({"full", "[2305843009213693952]", "float64", "bytes"},
                    [] { (void)full({1LL << 61}, 1.0, kFloat64); });
  // (2^62 + 16) * 4 bytes wraps to 64: a 64-byte block behind a tensor of 2^62 elements.
  test::check_error({"empty", "[4611686018427387920]", "bytes"},
                    [] { (void)empty({(1LL << 62) + 16}); });
}

TEST_CASE("limits: eye and arange check their sizes") {
  test::check_error({"eye", "[4294967296, 4294967296]"}, [] { (void)eye(1LL << 32); });
  test::check_error({"arange", "elements"}, [] { (void)arange(0.0, 1e300); });
}

TEST_CASE("limits: expand and view refuse shapes whose element count overflows") {
  // 2^44 * 2^20 = 2^64 elements: sum() of it returned 0.
  test::check_error({"expand", "[17592186044416, 1048576]", "too many elements"}, [] {
    (void)ones({1}).expand({1LL << 44, 1LL << 20});
  });
  test::check_error({"expand", "too many elements"}, [] {
    (void)ones({1, 1}).expand({3, 1LL << 62});
  });
  // An empty tensor viewed with sizes whose product (zeros aside) overflows.
  test::check_error({"view", "[0, 4294967296, 4294967296]"}, [] {
    (void)empty({0}).view({0, 1LL << 32, 1LL << 32});
  });
  test::check_error({"reshape", "[-1, 4294967296, 4294967296]"}, [] {
    (void)empty({0}).reshape({-1, 1LL << 32, 1LL << 32});
  });
  // A zero-size tensor expanded to sizes whose product (zeros aside) overflows.
  test::check_error({"expand", "too many elements"}, [] {
    (void)empty({0, 1, 1}).expand({0, 1LL << 32, 1LL << 32});
  });
}

TEST_CASE("limits: the largest shapes that fit are still fine when they have no elements") {
  const Tensor e = empty({0, 1LL << 40});
  CHECK(e.numel() == 0);
  CHECK(e.stride(0) == 1LL << 40);
  const Tensor x = ones({1}).expand({1LL << 40, 1LL << 20});
  CHECK(x.numel() == 1LL << 60);
}

// ---- Allocations that fail ----------------------------------------------------------------------
// Terabytes that no machine of ours has: malloc fails (main.cpp lets it return null under
// AddressSanitizer too), and the failure is a bg::Error naming the op, the bytes and the device.

TEST_CASE(
    "limits: an allocation that fails is a bg::Error naming the op, the bytes and the device") {
  // 2^40 float32 elements: 4 TiB.
  test::check_error({"empty", "out of memory", "4398046511104 bytes", "cpu"},
                    [] { (void)empty({1LL << 40}); });
  test::check_error({"zeros", "8796093022208 bytes", "cpu"},
                    [] { (void)zeros({1LL << 40}, kFloat64); });
  // A 4 TiB matrix product of two small operands.
  const Tensor column = ones({1LL << 20, 1}), row = ones({1, 1LL << 20});
  test::check_error({"mm", "4398046511104 bytes", "cpu"}, [&] { (void)mm(column, row); });
  // 10^18 float64 values computed on the host before conversion.
  test::check_error({"arange", "8000000000000000000 bytes", "cpu"}, [] { (void)arange(0, 1e18); });
}
