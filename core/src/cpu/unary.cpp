// Unary elementwise kernels on the CPU.
//
// Each op is a functor applying one function to one element; the floating-point functions are
// those of elementwise_math.h (Note [Elementwise math]). Every layout runs the same loop over
// contiguous blocks (for_each_contiguous_block), which the compiler vectorizes: contiguous and
// strided inputs give the same bits.

#include <cmath>
#include <limits>
#include <type_traits>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/elementwise_math.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// An op with arguments that its vectorizable form cannot take (float sin and cos beyond 2^19, see
// elementwise_math.h): `common(x)` is that form, `rare(x)` says when it does not apply, and
// operator() chooses per element.
template <typename Op, typename T>
concept HasRareArguments = requires(const Op& op, T x) {
  op.rare(x);
  op.common(x);
};

template <typename T, typename Op>
void unary_loop(const Tensor& out, const Tensor& in, const Op& op) {
  StridedLoop<2> loop({&out, &in});
  parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
      for_each_contiguous_block<T, 1, 2>(p, n, s, [&](T* const* data, int64_t length) {
        // In place (out == in) each element is read before it is written.
        T* __restrict o = data[0];
        const T* __restrict x = data[1];
        if constexpr (HasRareArguments<Op, T>) {
          uint32_t rare = 0;  // an integer or-reduction, which vectorizes
          for (int64_t i = 0; i < length; ++i) rare |= op.rare(x[i]) ? 1u : 0u;
          if (!rare) {
            for (int64_t i = 0; i < length; ++i) o[i] = op.common(x[i]);
            return;
          }
        }
        for (int64_t i = 0; i < length; ++i) o[i] = op(x[i]);
      });
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

// Forced inline, like the functions of elementwise_math.h, so that the loops calling them
// vectorize.
#define BG_FLOAT_UNARY(Name, expr)                                  \
  template <typename T>                                             \
  struct Name {                                                     \
    [[gnu::always_inline]] T operator()(T x) const { return expr; } \
  };

BG_FLOAT_UNARY(Exp, math::exp(x))
BG_FLOAT_UNARY(Log, math::log(x))
BG_FLOAT_UNARY(Log1p, math::log1p(x))
BG_FLOAT_UNARY(Expm1, math::expm1(x))
// The square root instruction is correctly rounded (this file is built without errno, so the loop
// vectorizes into it).
BG_FLOAT_UNARY(Sqrt, std::sqrt(x))
BG_FLOAT_UNARY(Rsqrt, T(1) / std::sqrt(x))
BG_FLOAT_UNARY(Tanh, math::tanh(x))
BG_FLOAT_UNARY(Sigmoid, math::sigmoid(x))
BG_FLOAT_UNARY(Erf, math::erf(x))
// relu(NaN) is NaN, as in PyTorch.
BG_FLOAT_UNARY(Relu, x < T(0) ? T(0) : x)
BG_FLOAT_UNARY(Gelu, math::gelu(x))
BG_FLOAT_UNARY(Silu, math::silu(x))
#undef BG_FLOAT_UNARY

template <typename T>
struct Sin {
  T operator()(T x) const { return math::sin(x); }
};
template <>
struct Sin<float> {
  float operator()(float x) const { return math::sin(x); }
  bool rare(float x) const { return math::trig_needs_library(x); }
  float common(float x) const { return math::sin_cos_reduced(x, false); }
};
template <typename T>
struct Cos {
  T operator()(T x) const { return math::cos(x); }
};
template <>
struct Cos<float> {
  float operator()(float x) const { return math::cos(x); }
  bool rare(float x) const { return math::trig_needs_library(x); }
  float common(float x) const { return math::sin_cos_reduced(x, true); }
};
template <typename T>
struct Softplus {
  T beta, threshold;
  T operator()(T x) const { return math::softplus(x, beta, threshold); }
};
template <typename T>
struct LeakyRelu {
  T slope;
  T operator()(T x) const { return x > T(0) ? x : x * slope; }
};
template <typename T>
struct Elu {
  T alpha;
  T operator()(T x) const { return math::elu(x, alpha); }
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
