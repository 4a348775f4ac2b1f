// Printing: operator<< writes exactly what PyTorch's repr() writes (with "dtype=float64" for
// "dtype=torch.float64"). Every expected string below was produced by PyTorch.

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "test_util.h"

using namespace bg;

namespace {

std::string str(const Tensor& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

}  // namespace

TEST_CASE("print: float32 matrix with four decimals") {
  CHECK(str(tensor({{1.f, 2.5f}, {3.f, 4.f}})) ==
        "tensor([[1.0000, 2.5000],\n"
        "        [3.0000, 4.0000]])");
}

TEST_CASE("print: integral floats end with a dot") {
  CHECK(str(tensor({1.f, 2.f})) == "tensor([1., 2.])");
  CHECK(str(zeros({3})) == "tensor([0., 0., 0.])");
  // Printing follows the logical order of a non-contiguous view.
  CHECK(str(tensor({{1.f, 2.f}, {3.f, 4.f}}).t()) ==
        "tensor([[1., 3.],\n"
        "        [2., 4.]])");
}

TEST_CASE("print: int64 and bool elements are padded to one width") {
  CHECK(str(tensor({1, 2, 3})) == "tensor([1, 2, 3])");
  CHECK(str(tensor({true, false})) == "tensor([ True, False])");
  CHECK(str(tensor({{true}, {false}})) ==
        "tensor([[ True],\n"
        "        [False]])");
  CHECK(str(tensor({{-1, 2}, {3, -40}})) ==
        "tensor([[ -1,   2],\n"
        "        [  3, -40]])");
}

TEST_CASE("print: int64 extremes are exact") {
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const int64_t lo = std::numeric_limits<int64_t>::min();
  CHECK(str(tensor({hi, lo})) == "tensor([ 9223372036854775807, -9223372036854775808])");
}

TEST_CASE("print: negative values are aligned") {
  CHECK(str(tensor({-1.5f, 2.25f, 10.f})) == "tensor([-1.5000,  2.2500, 10.0000])");
  // -0.0 does not take part in the width (PyTorch looks at nonzero values only).
  CHECK(str(tensor({-0.f, 1.5f})) == "tensor([-0.0000, 1.5000])");
}

TEST_CASE("print: scientific notation when magnitudes span a lot") {
  CHECK(str(tensor({1e-5f, 1e5f})) == "tensor([1.0000e-05, 1.0000e+05])");
  CHECK(str(tensor({1e10f, 1.f})) == "tensor([1.0000e+10, 1.0000e+00])");
  CHECK(str(tensor({1e-5f, 0.5f})) == "tensor([1.0000e-05, 5.0000e-01])");
  // Integral floats switch too once the largest is 1000 times the smallest.
  CHECK(str(tensor({1.f, 2000.f})) == "tensor([1.0000e+00, 2.0000e+03])");
  CHECK(str(tensor({0.001f, 0.5f})) == "tensor([0.0010, 0.5000])");
  CHECK(str(scalar_tensor(1e-7)) == "tensor(1.0000e-07)");
}

TEST_CASE("print: nan and inf") {
  const float nan = std::nanf("");
  const float inf = INFINITY;
  CHECK(str(tensor({nan, inf, -inf, 1.5f})) == "tensor([   nan,    inf,   -inf, 1.5000])");
  CHECK(str(tensor({nan, 1.f, 2.f})) == "tensor([nan, 1., 2.])");
  CHECK(str(tensor({nan, nan})) == "tensor([nan, nan])");
}

TEST_CASE("print: suffixes for dtype and autograd") {
  CHECK(str(tensor({1., 2.})) == "tensor([1., 2.], dtype=float64)");
  CHECK(str(tensor({1.f, 2.f}, requires_grad())) == "tensor([1., 2.], requires_grad=True)");
  const Tensor x = tensor({1.f, 2.f}, requires_grad());
  CHECK(str(x * x) == "tensor([1., 4.], grad_fn=<MulBackward>)");
  CHECK(str((x * x).sum()) == "tensor(5., grad_fn=<SumBackward>)");
  const Tensor y = tensor({{1., 2.}, {3., 4.}}, requires_grad()) * 2;
  CHECK(str(y) ==
        "tensor([[2., 4.],\n"
        "        [6., 8.]], dtype=float64, grad_fn=<MulBackward>)");
  // Printing does not touch the graph; a detached copy has no suffix.
  CHECK(str(y.detach()) ==
        "tensor([[2., 4.],\n"
        "        [6., 8.]], dtype=float64)");
}

TEST_CASE("print: 0-dim tensors") {
  CHECK(str(scalar_tensor(3.5)) == "tensor(3.5000)");
  CHECK(str(scalar_tensor(-7)) == "tensor(-7)");
  CHECK(str(scalar_tensor(true)) == "tensor(True)");
}

TEST_CASE("print: empty tensors show their size and non-default dtype") {
  CHECK(str(zeros({0})) == "tensor([])");
  CHECK(str(zeros({0, 3})) == "tensor([], size=(0, 3))");
  CHECK(str(zeros({2, 0})) == "tensor([], size=(2, 0))");
  CHECK(str(zeros({0}, kInt64)) == "tensor([], dtype=int64)");
  CHECK(str(zeros({0, 3}, kFloat64)) == "tensor([], size=(0, 3), dtype=float64)");
  CHECK(str(zeros({2, 0, 3}, kBool)) == "tensor([], size=(2, 0, 3), dtype=bool)");
}

TEST_CASE("print: 3-d tensors have a blank line between matrices") {
  CHECK(str(arange(12.).reshape({2, 2, 3})) ==
        "tensor([[[ 0.,  1.,  2.],\n"
        "         [ 3.,  4.,  5.]],\n"
        "\n"
        "        [[ 6.,  7.,  8.],\n"
        "         [ 9., 10., 11.]]])");
}

TEST_CASE("print: long rows wrap at 80 columns") {
  CHECK(str(arange(30.)) ==
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
        "        28., 29.])");
  // A suffix that would pass column 80 goes on a line of its own.
  CHECK(str((arange(25.) / 7).requires_grad_()) ==
        "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
        "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
        "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286],\n"
        "       requires_grad=True)");
}

TEST_CASE("print: more than 1000 elements are summarized with ...") {
  CHECK(str(full({1000}, 0.5)).find("...") == std::string::npos);
  CHECK(str(full({1001}, 0.5)) == "tensor([0.5000, 0.5000, 0.5000,  ..., 0.5000, 0.5000, 0.5000])");
  CHECK(str(arange(2000)) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
  // The format comes from the elements shown: 0..2 and 1997..1999 span more than 1000.
  CHECK(str(arange(2000.)) ==
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])");
  const std::string block =
      "tensor([[[   0,    1,    2,  ...,   27,   28,   29],\n"
      "         [  30,   31,   32,  ...,   57,   58,   59],\n"
      "         [  60,   61,   62,  ...,   87,   88,   89],\n"
      "         ...,\n"
      "         [ 210,  211,  212,  ...,  237,  238,  239],\n"
      "         [ 240,  241,  242,  ...,  267,  268,  269],\n"
      "         [ 270,  271,  272,  ...,  297,  298,  299]],\n"
      "\n"
      "        [[ 300,  301,  302,  ...,  327,  328,  329],\n";
  const std::string middle =
      "         [ 570,  571,  572,  ...,  597,  598,  599]],\n"
      "\n"
      "        [[ 600,  601,  602,  ...,  627,  628,  629],\n";
  const std::string gap =
      "         [ 870,  871,  872,  ...,  897,  898,  899]],\n"
      "\n"
      "        ...,\n"
      "\n"
      "        [[2100, 2101, 2102,  ..., 2127, 2128, 2129],\n";
  const std::string end = "         [2970, 2971, 2972,  ..., 2997, 2998, 2999]]])";
  const std::string printed = str(arange(3000).reshape({10, 10, 30}));
  CHECK(printed.starts_with(block));
  CHECK(printed.find(middle) != std::string::npos);
  CHECK(printed.find(gap) != std::string::npos);
  CHECK(printed.ends_with(end));
  // 6 blocks of 7 lines (3 rows, "...", 3 rows), the "..." line and 6 blank lines between them.
  CHECK(std::count(printed.begin(), printed.end(), '\n') + 1 == 6 * 7 + 1 + 6);
}

TEST_CASE("print: an undefined tensor") { CHECK(str(Tensor()) == "tensor(undefined)"); }
