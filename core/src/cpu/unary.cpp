// Unary elementwise kernels on the CPU.
//
// Each op is a functor with a scalar form, used on strided data, and where Eigen has vectorized
// math (exp, log, tanh, erf, ...), an array form used on contiguous runs.

#include <Eigen/Core>
#include <cmath>
#include <unsupported/Eigen/SpecialFunctions>  // erf

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"
#include "cpu/vector_math.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <typename Op, typename T>
concept HasArrayForm = requires(const Op& op, const ConstArrayMap<T>& x) {
  op.array(x);
};

template <typename T, typename Op>
void unary_loop(const Tensor& out, const Tensor& in, const Op& op) {
  StridedLoop<2> loop({&out, &in});
  parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
      if (all_unit<T, T>(s)) {
        T* __restrict o = reinterpret_cast<T*>(p[0]);
        const T* __restrict x = reinterpret_cast<const T*>(p[1]);
        if constexpr (HasArrayForm<Op, T>) {
          for_blocks(n, [&](int64_t i, int64_t len) {
            ArrayMap<T>(o + i, len) = op.array(ConstArrayMap<T>(x + i, len));
          });
        } else {
          for (int64_t i = 0; i < n; ++i) o[i] = op(x[i]);
        }
      } else {
        for (int64_t i = 0; i < n; ++i) {
          *reinterpret_cast<T*>(p[0] + i * s[0]) = op(*reinterpret_cast<const T*>(p[1] + i * s[1]));
        }
      }
    });
  });
}

// ---- The ops ------------------------------------------------------------------------------------

template <typename T>
struct Neg {
  T operator()(T x) const { return -x; }
};
template <typename T>
struct Abs {
  T operator()(T x) const { return x < 0 ? -x : x; }
};
template <typename T>
struct Sign {
  T operator()(T x) const { return static_cast<T>((x > 0) - (x < 0)); }
};
template <typename T>
struct Clamp {
  T lo, hi;
  // Written so that NaN passes through, as in PyTorch.
  T operator()(T x) const { return x < lo ? lo : (x > hi ? hi : x); }
};

#define BG_FLOAT_UNARY(Name, scalar_expr, array_expr) \
  template <typename T>                               \
  struct Name {                                       \
    T operator()(T x) const { return scalar_expr; }   \
    template <typename A>                             \
    auto array(const A& x) const {                    \
      return array_expr;                              \
    }                                                 \
  };

BG_FLOAT_UNARY(Exp, std::exp(x), exp_underflowing(x))
BG_FLOAT_UNARY(Log, std::log(x), x.log())
BG_FLOAT_UNARY(Log1p, std::log1p(x), log1p_vectorized<T>(x))
BG_FLOAT_UNARY(Expm1, std::expm1(x), x.expm1())
// Sqrt and Rsqrt have no array form: Eigen's vectorized sqrt and rsqrt (EIGEN_FAST_MATH) are
// Newton-refined approximations, off in the last bit for about a third of the inputs, so
// contiguous runs disagreed with strided data and with IEEE's correctly rounded sqrt. The plain
// loop over std::sqrt vectorizes into the exact instruction (this file is built without errno).
template <typename T>
struct Sqrt {
  T operator()(T x) const { return std::sqrt(x); }
};
template <typename T>
struct Rsqrt {
  T operator()(T x) const { return T(1) / std::sqrt(x); }
};
BG_FLOAT_UNARY(Sin, std::sin(x), x.sin())
BG_FLOAT_UNARY(Cos, std::cos(x), x.cos())
BG_FLOAT_UNARY(Tanh, std::tanh(x), x.tanh())
BG_FLOAT_UNARY(Sigmoid, T(1) / (T(1) + std::exp(-x)), x.logistic())
BG_FLOAT_UNARY(Erf, std::erf(x), x.erf())
// relu(NaN) is NaN, as in PyTorch.
BG_FLOAT_UNARY(Relu, x < T(0) ? T(0) : x, (x < T(0)).select(T(0), x))
BG_FLOAT_UNARY(Gelu, x* T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2))),
               x* T(0.5) * (T(1) + (x * T(M_SQRT1_2)).erf()))
BG_FLOAT_UNARY(Silu, x / (T(1) + std::exp(-x)), x* x.logistic())
#undef BG_FLOAT_UNARY

template <typename T>
struct LeakyRelu {
  T slope;
  T operator()(T x) const { return x > T(0) ? x : x * slope; }
  template <typename A>
  auto array(const A& x) const {
    return (x > T(0)).select(x, x * slope);
  }
};
template <typename T>
struct Elu {
  T alpha;
  T operator()(T x) const { return x > T(0) ? x : alpha * std::expm1(x); }
  template <typename A>
  Column<T> array(const A& x) const {
    Column<T> out = alpha * x.expm1();  // vectorized, then chosen (see vector_math.h)
    for (Eigen::Index i = 0; i < out.size(); ++i) out[i] = x[i] > T(0) ? x[i] : out[i];
    return out;
  }
};
template <typename T>
struct PowScalar {
  T exponent;
  T operator()(T x) const {
    if (exponent == T(2)) return x * x;
    return static_cast<T>(std::pow(x, exponent));
  }
};

template <typename T>
void float_unary(UnaryOp op, const Tensor& out, const Tensor& in, const UnaryParams& p) {
  const T a = static_cast<T>(p.a), b = static_cast<T>(p.b);
  switch (op) {
    case UnaryOp::Exp:
      return unary_loop<T>(out, in, Exp<T>{});
    case UnaryOp::Log:
      return unary_loop<T>(out, in, Log<T>{});
    case UnaryOp::Log1p:
      return unary_loop<T>(out, in, Log1p<T>{});
    case UnaryOp::Expm1:
      return unary_loop<T>(out, in, Expm1<T>{});
    case UnaryOp::Sqrt:
      return unary_loop<T>(out, in, Sqrt<T>{});
    case UnaryOp::Rsqrt:
      return unary_loop<T>(out, in, Rsqrt<T>{});
    case UnaryOp::Sin:
      return unary_loop<T>(out, in, Sin<T>{});
    case UnaryOp::Cos:
      return unary_loop<T>(out, in, Cos<T>{});
    case UnaryOp::Tanh:
      return unary_loop<T>(out, in, Tanh<T>{});
    case UnaryOp::Sigmoid:
      return unary_loop<T>(out, in, Sigmoid<T>{});
    case UnaryOp::Erf:
      return unary_loop<T>(out, in, Erf<T>{});
    case UnaryOp::Relu:
      return unary_loop<T>(out, in, Relu<T>{});
    case UnaryOp::Gelu:
      return unary_loop<T>(out, in, Gelu<T>{});
    case UnaryOp::Silu:
      return unary_loop<T>(out, in, Silu<T>{});
    case UnaryOp::Softplus:
      return unary_loop<T>(out, in, Softplus<T>{a, b});
    case UnaryOp::LeakyRelu:
      return unary_loop<T>(out, in, LeakyRelu<T>{a});
    case UnaryOp::Elu:
      return unary_loop<T>(out, in, Elu<T>{a});
    case UnaryOp::PowScalar:
      return unary_loop<T>(out, in, PowScalar<T>{a});
    default:
      break;
  }
  throw Error("unary: op not implemented for floating tensors on the cpu");
}

template <typename T>
void signed_unary(UnaryOp op, const Tensor& out, const Tensor& in, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::Neg:
      return unary_loop<T>(out, in, Neg<T>{});
    case UnaryOp::Abs:
      return unary_loop<T>(out, in, Abs<T>{});
    case UnaryOp::Sign:
      return unary_loop<T>(out, in, Sign<T>{});
    case UnaryOp::Clamp: {
      // Bounds beyond T's range (infinity for "no bound") saturate.
      const double lo_max = static_cast<double>(std::numeric_limits<T>::lowest());
      const double hi_max = static_cast<double>(std::numeric_limits<T>::max());
      const T lo = p.a <= lo_max ? std::numeric_limits<T>::lowest() : static_cast<T>(p.a);
      const T hi = p.b >= hi_max ? std::numeric_limits<T>::max() : static_cast<T>(p.b);
      return unary_loop<T>(out, in, Clamp<T>{lo, hi});
    }
    default:
      break;
  }
  if constexpr (std::is_floating_point_v<T>) return float_unary<T>(op, out, in, p);
  throw Error("unary: op not implemented for int64 tensors on the cpu");
}

struct LogicalNot {
  bool operator()(bool x) const { return !x; }
};

}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& out, const Tensor& in, const UnaryParams& params) {
  switch (in.dtype()) {
    case Dtype::Float32:
      return signed_unary<float>(op, out, in, params);
    case Dtype::Float64:
      return signed_unary<double>(op, out, in, params);
    case Dtype::Int64:
      return signed_unary<int64_t>(op, out, in, params);
    case Dtype::Bool:
      if (op == UnaryOp::LogicalNot) return unary_loop<bool>(out, in, LogicalNot{});
      break;
  }
  throw Error(detail::concat("unary: op not implemented for ", dtype_name(in.dtype()),
                             " tensors on the cpu"));
}

}  // namespace bg::cpu::BG_CPU_ISA
