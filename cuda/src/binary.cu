// Binary elementwise kernels and `where`. Operands arrive broadcast to the output's shape (zero
// strides); the formulas are the CPU's (cpu/binary.cpp): integer arithmetic wraps around,
// maximum/minimum propagate NaN.

#include <cmath>
#include <type_traits>

#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

// Integer powers by squaring; a negative exponent truncates toward zero like integer division.
__device__ int64_t int_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return exponent % 2 == 0 ? 1 : -1;
    return 0;
  }
  uint64_t result = 1, factor = static_cast<uint64_t>(base);  // unsigned: overflow wraps
  for (auto e = static_cast<uint64_t>(exponent); e > 0; e >>= 1) {
    if (e & 1) result *= factor;
    factor *= factor;
  }
  return static_cast<int64_t>(result);
}

// Arithmetic whose result has the operands' dtype. The op is a launch parameter (see unary.cu).
template <typename T>
struct Arithmetic {
  BinaryOp op;

  __device__ T operator()(T x, T y) const {
    using Wrapped = std::conditional_t<std::is_integral_v<T>, uint64_t, T>;
    const auto u = static_cast<Wrapped>(x), v = static_cast<Wrapped>(y);
    switch (op) {
      case BinaryOp::Add:
        return static_cast<T>(u + v);
      case BinaryOp::Sub:
        return static_cast<T>(u - v);
      case BinaryOp::Mul:
        return static_cast<T>(u * v);
      case BinaryOp::Div:
        return x / y;  // floating only (the frontend converts integers)
      case BinaryOp::Pow:
        if constexpr (std::is_floating_point_v<T>) return pow(x, y);
        return int_pow(x, y);
      case BinaryOp::Maximum:
        if constexpr (std::is_floating_point_v<T>) {
          if (isnan(x) || isnan(y)) return x + y;
        }
        return x > y ? x : y;
      case BinaryOp::Minimum:
        if constexpr (std::is_floating_point_v<T>) {
          if (isnan(x) || isnan(y)) return x + y;
        }
        return x < y ? x : y;
      case BinaryOp::ReluMask:
        return y > T(0) ? x : T(0);  // floating only (the frontend checks)
      default:
        return x;
    }
  }
};

// Comparisons and logic: bool results.
template <typename T>
struct Predicate {
  BinaryOp op;

  __device__ bool operator()(T x, T y) const {
    switch (op) {
      case BinaryOp::Eq:
        return x == y;
      case BinaryOp::Ne:
        return x != y;
      case BinaryOp::Lt:
        return x < y;
      case BinaryOp::Le:
        return x <= y;
      case BinaryOp::Gt:
        return x > y;
      case BinaryOp::Ge:
        return x >= y;
      case BinaryOp::LogicalAnd:
        return x && y;
      default:  // LogicalOr
        return x || y;
    }
  }
};

bool is_predicate(BinaryOp op) { return op >= BinaryOp::Eq; }

template <typename T>
struct Select {
  __device__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};

}  // namespace

void CudaBackend::binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  // bool operands: comparisons and logic only; others: everything but logic.
  const bool logical = op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;
  BG_CHECK(a.dtype() == kBool ? is_predicate(op) : !logical, "binary", "op not implemented for ",
           dtype_name(a.dtype()), " tensors on cuda");
  BG_CHECK(op != BinaryOp::Div || a.is_floating_point(), "binary", "division of ",
           dtype_name(a.dtype()), " tensors is not implemented on cuda");
  use_device(out.device(), "binary");
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (is_predicate(op)) return map<bool, T, T>("binary", out, {&a, &b}, Predicate<T>{op});
    if constexpr (!std::is_same_v<T, bool>)
      map<T, T, T>("binary", out, {&a, &b}, Arithmetic<T>{op});
  });
}

void CudaBackend::where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  use_device(out.device(), "where");
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map<T, bool, T, T>("where", out, {&cond, &a, &b}, Select<T>{});
  });
}

}  // namespace bg::cuda
