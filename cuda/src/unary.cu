// Unary elementwise kernels: each op is a device functor with the CPU's scalar formula
// (cpu/unary.cpp), run by the shared elementwise kernel. CUDA's libm differs from glibc's and
// Eigen's in the last bits, so transcendental results agree with the CPU's to a few ulps.

#include <cmath>
#include <limits>

#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

// One functor for all ops: the op is a parameter of the launch, the same for every thread, so
// the switch costs no divergence, and each dtype instantiates a single kernel.
template <typename T>
struct Unary {
  UnaryOp op;
  T a, b;

  __device__ T operator()(T x) const {
    switch (op) {
      case UnaryOp::Neg:
        return -x;
      case UnaryOp::Abs:
        return x < T(0) ? -x : x;
      case UnaryOp::Sign:
        return static_cast<T>((x > T(0)) - (x < T(0)));
      case UnaryOp::Clamp:  // written so that NaN passes through, as in PyTorch
        return x < a ? a : (x > b ? b : x);
      default:
        break;
    }
    if constexpr (std::is_floating_point_v<T>) return floating(x);
    return x;
  }

  __device__ T floating(T x) const {
    switch (op) {
      case UnaryOp::Exp:
        return exp(x);
      case UnaryOp::Log:
        return log(x);
      case UnaryOp::Log1p:
        return log1p(x);
      case UnaryOp::Expm1:
        return expm1(x);
      case UnaryOp::Sqrt:
        return sqrt(x);
      case UnaryOp::Rsqrt:  // 1 / sqrt, correctly rounded twice, as on the CPU (not rsqrt())
        return T(1) / sqrt(x);
      case UnaryOp::Sin:
        return sin(x);
      case UnaryOp::Cos:
        return cos(x);
      case UnaryOp::Tanh:
        return tanh(x);
      case UnaryOp::Sigmoid:
        return T(1) / (T(1) + exp(-x));
      case UnaryOp::Erf:
        return erf(x);
      case UnaryOp::Relu:  // relu(NaN) is NaN
        return x < T(0) ? T(0) : x;
      case UnaryOp::Gelu:
        return x * T(0.5) * (T(1) + erf(x * T(M_SQRT1_2)));
      case UnaryOp::Silu:
        return x / (T(1) + exp(-x));
      case UnaryOp::Softplus: {  // a = beta, b = threshold (see cpu/vector_math.h)
        const T bx = a * x;
        if (bx > b) return x;
        return ((bx > T(0) ? bx : T(0)) + log1p(exp(-fabs(bx)))) / a;
      }
      case UnaryOp::LeakyRelu:
        return x > T(0) ? x : x * a;
      case UnaryOp::Elu:
        return x > T(0) ? x : a * expm1(x);
      case UnaryOp::PowScalar:
        return a == T(2) ? x * x : pow(x, a);
      default:
        return x;
    }
  }
};

struct LogicalNot {
  __device__ bool operator()(bool x) const { return !x; }
};

bool valid_for(UnaryOp op, Dtype dtype) {
  switch (dtype) {
    case Dtype::Bool:
      return op == UnaryOp::LogicalNot;
    case Dtype::Int64:
      return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Sign ||
             op == UnaryOp::Clamp;
    default:
      return op != UnaryOp::LogicalNot;
  }
}

// The op's numbers in T. Clamp bounds beyond T's range (infinity for "no bound") saturate, as on
// the CPU.
template <typename T>
T saturated(double bound) {
  if (bound <= static_cast<double>(std::numeric_limits<T>::lowest()))
    return std::numeric_limits<T>::lowest();
  if (bound >= static_cast<double>(std::numeric_limits<T>::max()))
    return std::numeric_limits<T>::max();
  return static_cast<T>(bound);
}

template <typename T>
Unary<T> make_unary(UnaryOp op, const UnaryParams& p) {
  if (op == UnaryOp::Clamp) return {op, saturated<T>(p.a), saturated<T>(p.b)};
  if constexpr (std::is_floating_point_v<T>) return {op, static_cast<T>(p.a), static_cast<T>(p.b)};
  return {op, T(0), T(0)};
}

}  // namespace

void CudaBackend::unary(UnaryOp op, const Tensor& out, const Tensor& in,
                        const UnaryParams& params) {
  BG_CHECK(valid_for(op, in.dtype()), "unary", "op not implemented for ", dtype_name(in.dtype()),
           " tensors on cuda");
  use_device(out.device(), "unary");
  switch (in.dtype()) {
    case Dtype::Bool:
      return map<bool, bool>("logical_not", out, {&in}, LogicalNot{});
    case Dtype::Int64:
      return map<int64_t, int64_t>("unary", out, {&in}, make_unary<int64_t>(op, params));
    case Dtype::Float32:
      return map<float, float>("unary", out, {&in}, make_unary<float>(op, params));
    case Dtype::Float64:
      return map<double, double>("unary", out, {&in}, make_unary<double>(op, params));
  }
}

}  // namespace bg::cuda
