// Binary elementwise kernels and `where` on the CPU.
//
// Operands arrive broadcast to the output's shape (zero strides). The inner loop is specialised for
// the cases that dominate training: everything contiguous, and one operand a single broadcast
// value (bias rows, scalars). Those plain loops are what the compiler vectorizes.

#include <cmath>
#include <cstdint>
#include <functional>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

template <typename Out, typename T, typename Op>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, const Op& op) {
  StridedLoop<3> loop({&out, &a, &b});
  parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
      Out* __restrict o = reinterpret_cast<Out*>(p[0]);
      const T* __restrict x = reinterpret_cast<const T*>(p[1]);
      const T* __restrict y = reinterpret_cast<const T*>(p[2]);
      constexpr auto out_step = static_cast<int64_t>(sizeof(Out));
      constexpr auto in_step = static_cast<int64_t>(sizeof(T));
      if (s[0] == out_step && s[1] == in_step && s[2] == in_step) {
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i]);
      } else if (s[0] == out_step && s[1] == in_step && s[2] == 0) {
        const T yv = *y;
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], yv);
      } else if (s[0] == out_step && s[1] == 0 && s[2] == in_step) {
        const T xv = *x;
        for (int64_t i = 0; i < n; ++i) o[i] = op(xv, y[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) {
          *reinterpret_cast<Out*>(p[0] + i * s[0]) =
              op(*reinterpret_cast<const T*>(p[1] + i * s[1]),
                 *reinterpret_cast<const T*>(p[2] + i * s[2]));
        }
      }
    });
  });
}

// Integer powers by squaring; a negative exponent truncates toward zero like integer division.
int64_t int_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent % 2 == 0) ? 1 : -1;
    return 0;
  }
  uint64_t result = 1, factor = static_cast<uint64_t>(base);  // unsigned: overflow wraps, no UB
  for (auto e = static_cast<uint64_t>(exponent); e > 0; e >>= 1) {
    if (e & 1) result *= factor;
    factor *= factor;
  }
  return static_cast<int64_t>(result);
}

// Integer +, -, * wrap around on overflow (as in PyTorch) instead of being undefined behaviour.
template <typename T, typename Op>
T wrapping(T x, T y, Op op) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(op(static_cast<uint64_t>(x), static_cast<uint64_t>(y)));
  } else {
    return op(x, y);
  }
}

// maximum/minimum propagate NaN, as in PyTorch.
template <typename T>
T max_nan(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(x) || std::isnan(y)) return x + y;
  }
  return x > y ? x : y;
}
template <typename T>
T min_nan(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(x) || std::isnan(y)) return x + y;
  }
  return x < y ? x : y;
}

template <typename T>
void arithmetic(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  switch (op) {
    case BinaryOp::Add:
      return binary_loop<T, T>(out, a, b, [](T x, T y) { return wrapping(x, y, std::plus<>()); });
    case BinaryOp::Sub:
      return binary_loop<T, T>(out, a, b, [](T x, T y) { return wrapping(x, y, std::minus<>()); });
    case BinaryOp::Mul:
      return binary_loop<T, T>(out, a, b,
                               [](T x, T y) { return wrapping(x, y, std::multiplies<>()); });
    case BinaryOp::Maximum:
      return binary_loop<T, T>(out, a, b, max_nan<T>);
    case BinaryOp::Minimum:
      return binary_loop<T, T>(out, a, b, min_nan<T>);
    case BinaryOp::Div:
      if constexpr (std::is_floating_point_v<T>) {
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return x / y; });
      }
      break;
    case BinaryOp::ReluMask:
      if constexpr (std::is_floating_point_v<T>) {
        return binary_loop<T, T>(out, a, b, [](T g, T y) { return y > T(0) ? g : T(0); });
      }
      break;
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<T>) {
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return std::pow(x, y); });
      } else {
        return binary_loop<T, T>(out, a, b, int_pow);
      }
    default:
      break;
  }
  throw Error(detail::concat("binary: op not implemented for ", dtype_name(dtype_of<T>),
                             " tensors on the cpu"));
}

template <typename T>
void binary_typed(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  switch (op) {
    case BinaryOp::Eq:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x == y; });
    case BinaryOp::Ne:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x != y; });
    case BinaryOp::Lt:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x < y; });
    case BinaryOp::Le:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x <= y; });
    case BinaryOp::Gt:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x > y; });
    case BinaryOp::Ge:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x >= y; });
    default:
      break;
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (op == BinaryOp::LogicalAnd)
      return binary_loop<bool, bool>(out, a, b, [](bool x, bool y) { return x && y; });
    if (op == BinaryOp::LogicalOr)
      return binary_loop<bool, bool>(out, a, b, [](bool x, bool y) { return x || y; });
    throw Error("binary: arithmetic is not implemented for bool tensors on the cpu");
  } else {
    return arithmetic<T>(op, out, a, b);
  }
}

}  // namespace

void CpuBackend::binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  dispatch_all(a.dtype(), [&](auto tag) { binary_typed<decltype(tag)>(op, out, a, b); });
}

void CpuBackend::where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<4> loop({&out, &cond, &a, &b});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        T* __restrict o = reinterpret_cast<T*>(p[0]);
        // The bools read as bytes: GCC vectorizes a choice on an integer, not on a bool.
        const uint8_t* __restrict c = reinterpret_cast<const uint8_t*>(p[1]);
        const T* __restrict x = reinterpret_cast<const T*>(p[2]);
        const T* __restrict y = reinterpret_cast<const T*>(p[3]);
        constexpr auto step = static_cast<int64_t>(sizeof(T));
        // The contiguous cases (a ReLU's backward: where(y > 0, g, 0)) as plain loops the
        // compiler vectorizes: both values are read before the choice, so it is a blend rather
        // than a branch (which a random mask would mispredict half the time).
        const auto choose = [](int condition, T if_true, T if_false) {
          return condition != 0 ? if_true : if_false;
        };
        if (s[0] == step && s[1] == 1 && s[2] == step && s[3] == step) {
          for (int64_t i = 0; i < n; ++i) {
            const T xi = x[i], yi = y[i];
            o[i] = choose(c[i], xi, yi);
          }
        } else if (s[0] == step && s[1] == 1 && s[2] == step && s[3] == 0) {
          const T yv = *y;
          for (int64_t i = 0; i < n; ++i) {
            const T xi = x[i];
            o[i] = choose(c[i], xi, yv);
          }
        } else if (s[0] == step && s[1] == 1 && s[2] == 0 && s[3] == step) {
          const T xv = *x;
          for (int64_t i = 0; i < n; ++i) {
            const T yi = y[i];
            o[i] = choose(c[i], xv, yi);
          }
        } else {
          for (int64_t i = 0; i < n; ++i) {
            *reinterpret_cast<T*>(p[0] + i * s[0]) =
                *reinterpret_cast<const bool*>(p[1] + i * s[1])
                    ? *reinterpret_cast<const T*>(p[2] + i * s[2])
                    : *reinterpret_cast<const T*>(p[3] + i * s[3]);
          }
        }
      });
    });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
