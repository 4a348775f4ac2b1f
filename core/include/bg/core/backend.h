#pragma once
// The backend interface: the small set of primitive kernels a device must provide, and the fused
// kernels it may add.
//
// Frontend ops (ops/*.cpp) check their arguments, promote dtypes, broadcast operands into
// zero-stride views, allocate the output and call one of these kernels; backward formulas are
// Tensor ops, so a backend that implements the primitives gets every op and training for free.
// Kernels may assume what the frontend guarantees: operands are on the backend's device, shapes
// already agree, dtypes are the ones documented per kernel. Inputs may be strided views (zero
// strides included); outputs are contiguous unless a kernel says otherwise.
//
// Each list of kernels is declared once, in a .def file beside this header: one line
// BG_KERNEL(name, (parameters), (arguments)) per kernel, with what it computes. This header turns
// the lists into the interfaces below, and each backend turns them into its override list, so
// adding a kernel touches its list, its implementations and the op that calls it, nothing else:
//   - backend_primitives.def: elementwise, reductions, indexing, matmul, random, softmax and the
//     sliding windows of convolution and pooling. Every backend implements these.
//   - gaussian_kernels.def and optimizer_kernels.def: fused kernels for what profiling showed to
//     be memory-bound as compositions (the Bayesian layer's sample and KL, optimizer updates). A
//     backend may implement them; without them the ops compose primitives, with the same results.
//   - recurrent_kernels.def: the gate math of one LSTM or GRU step, forward and backward, which a
//     recurrence runs once per time step (a dozen small kernels each as a composition).
//   - transformer_kernels.def: layer normalization forward and backward and softmax's backward,
//     one pass over each row where the compositions take six to ten.
//
// Backends live in a plain table indexed by DeviceType. Core fills the CPU's entry; the CUDA
// backend, a library of its own, registers itself (register_backend) when a program that links it
// starts (Note [Registering the CUDA backend] in cuda/src/registration.cpp).

#include <cstdint>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/device.h"
#include "bg/core/fused.h"  // the optimizer hyperparameters
#include "bg/core/scalar.h"
#include "bg/core/storage.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

enum class UnaryOp : uint8_t {
  // Any dtype but bool (out has the input's dtype):
  Neg,
  Abs,
  Sign,
  // Float32/float64 only:
  Exp,
  Log,
  Log1p,
  Expm1,
  Sqrt,
  Rsqrt,
  Sin,
  Cos,
  Tanh,
  Sigmoid,
  Erf,
  Relu,
  Gelu,       // exact: x * Phi(x)
  Silu,       // x * sigmoid(x)
  Softplus,   // a = beta, b = threshold
  LeakyRelu,  // a = negative slope
  Elu,        // a = alpha
  PowScalar,  // a = exponent
  // Any dtype but bool: clamp to [a, b] (either may be +-infinity).
  Clamp,
  // Bool in, bool out.
  LogicalNot,
};

/// Numbers some unary ops take (see UnaryOp).
struct UnaryParams {
  double a = 0.0;
  double b = 0.0;
};

enum class BinaryOp : uint8_t {
  // Out has the inputs' dtype:
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  ReluMask,  // a where b > 0, else 0 (floating only): ReLU's backward, g masked by the output
  // Out is bool:
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  LogicalAnd,
  LogicalOr,
};

/// What the matmul kernel applies to each finished sum after its bias (its epilogue).
enum class MatmulActivation : uint8_t {
  None,
  Relu,  // x < 0 ? 0 : x, as UnaryOp::Relu (NaN stays NaN)
};

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min };
enum class ArgReduceOp : uint8_t { Argmax, Argmin };
enum class RandomOp : uint8_t {
  Uniform,  // U[a, b)
  Normal,   // N(a, b^2)
  Randint,  // integers in [a, b)
  // b where the uniform draw is below a, else 0 (a scaled Bernoulli draw: dropout's mask). The
  // same words as Uniform, so it is exactly (rand < a) * b.
  Bernoulli,
};

/// How many values one Philox block (four 32-bit words) gives for a random fill of `dtype`
/// (see random.h): backends must lay numbers out identically so seeds mean the same everywhere.
constexpr int64_t values_per_block(RandomOp op, Dtype dtype) {
  if (op == RandomOp::Randint) return 2;  // 64 bits per integer
  return dtype == kFloat64 ? 2 : 4;
}

class GaussianKernels;
class OptimizerKernels;
class RecurrentKernels;
class TransformerKernels;

/// A device's kernels: the primitives every backend implements (listed, with what each computes,
/// in backend_primitives.def), and the fused kernels it may add (gaussian_kernels(),
/// optimizer_kernels()).
class Backend {
 public:
  virtual ~Backend() = default;
  /// The allocator for memory on `device` (a device of this backend's type).
  virtual Allocator& allocator(Device device) = 0;
  /// How many devices of this type the machine has (0: none usable, e.g. no GPU or no driver).
  /// Registering a backend must not probe devices; this may, on first use.
  virtual int device_count() { return 1; }
  /// Waits until the work queued on every device of this type is done.
  virtual void synchronize() {}

  /// Where the windows of a 2-d sliding-window op lie (1-d ops use height 1). Window (oh, ow), for
  /// oh < out_h and ow < out_w, reads the input rows oh * stride_h - pad_h + i * dilation_h for
  /// i < kernel_h, and the columns likewise. Positions outside the input are padding: zeros for
  /// im2col, dropped by col2im, never the maximum of max_pool2d.
  struct Window2d {
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;
    int64_t dilation_h, dilation_w;
    int64_t out_h, out_w;
  };

#define BG_KERNEL(name, parameters, arguments) virtual void name parameters = 0;
#include "bg/core/backend_primitives.def"
#undef BG_KERNEL

  /// This backend's fused Gaussian kernels, or null: the ops then compute the same functions as
  /// compositions of primitives (fused_gaussian.h).
  virtual GaussianKernels* gaussian_kernels() { return nullptr; }
  /// This backend's fused optimizer updates, or null: the ops then run the update rules as
  /// compositions of primitives (fused.h).
  virtual OptimizerKernels* optimizer_kernels() { return nullptr; }
  /// This backend's fused recurrent-cell kernels, or null: the recurrences (recurrent.h) then
  /// compute the gate math as Tensor ops.
  virtual RecurrentKernels* recurrent_kernels() { return nullptr; }
  /// This backend's fused layer-norm and softmax-backward kernels, or null: the ops
  /// (transformer.h, softmax) then compute the same formulas as Tensor ops.
  virtual TransformerKernels* transformer_kernels() { return nullptr; }
};

/// Fused Gaussian variational kernels (the reparameterization trick and the Gaussian KL of Bayes
/// by Backprop, fused_gaussian.h): one pass over the parameter's memory each, where the composition
/// takes several. Listed in gaussian_kernels.def.
class GaussianKernels {
 public:
  virtual ~GaussianKernels() = default;
#define BG_KERNEL(name, parameters, arguments) virtual void name parameters = 0;
#include "bg/core/gaussian_kernels.def"
#undef BG_KERNEL
};

/// Fused optimizer updates (fused.h): one step of an optimizer for one parameter, in one pass over
/// the parameter, its gradient and its state. Listed in optimizer_kernels.def.
class OptimizerKernels {
 public:
  virtual ~OptimizerKernels() = default;
#define BG_KERNEL(name, parameters, arguments) virtual void name parameters = 0;
#include "bg/core/optimizer_kernels.def"
#undef BG_KERNEL
};

/// Fused recurrent-cell kernels (recurrent.h): the gate math of one LSTM or GRU step in one pass
/// over the step's gates, forward and backward. Listed in recurrent_kernels.def.
class RecurrentKernels {
 public:
  virtual ~RecurrentKernels() = default;
#define BG_KERNEL(name, parameters, arguments) virtual void name parameters = 0;
#include "bg/core/recurrent_kernels.def"
#undef BG_KERNEL
};

/// Fused kernels of the Transformer's ops (transformer.h): layer normalization forward and
/// backward, and softmax's backward, one pass over each row. Listed in transformer_kernels.def.
class TransformerKernels {
 public:
  virtual ~TransformerKernels() = default;
#define BG_KERNEL(name, parameters, arguments) virtual void name parameters = 0;
#include "bg/core/transformer_kernels.def"
#undef BG_KERNEL
};

// ---- Helpers shared by the backends' reduction kernels ------------------------------------------

/// A reduction's input as a contiguous [A, R, C] block: A kept positions before, R reduced
/// positions, C kept positions after.
struct ReductionBlock {
  Tensor data;
  int64_t A = 1, R = 1, C = 1;
};
/// `in` as a ReductionBlock for a reduction over `dims` (sorted, non-empty): `in` itself when it is
/// contiguous and the dims are adjacent, else a copy on in's device with the kept dims first and
/// the reduced dims last (C = 1).
ReductionBlock reduction_block(const Tensor& in, const Shape& dims);
/// When `dims` form separate runs over a contiguous `in` (a convolution's bias gradient sums dims
/// 0, 2 and 3), reduces the innermost run into a smaller contiguous tensor, then the other dims of
/// that, both through `backend.reduce`, and returns true: every step is then a contiguous block,
/// with no transposing copy. Returns false, doing nothing, in every other case.
bool reduce_separate_runs(Backend& backend, ReduceOp op, const Tensor& out, const Tensor& in,
                          const Shape& dims);

/// The backend of a device type; throws if there is none (CUDA not built, or no GPU present).
Backend& backend(DeviceType type);
/// The backend registered for a device type, or null; probes no device.
Backend* find_backend(DeviceType type);
/// Installs the backend for a device type (the CPU backend is installed on first use). The backend
/// must outlive every tensor on its devices.
void register_backend(DeviceType type, Backend* backend);
/// The instruction-set level of the CPU backend's kernels, chosen when the backend is first used:
/// in a portable x86-64 build the best of "avx512", "avx2" and "baseline" that the CPU runs; in a
/// BG_NATIVE build "native"; elsewhere "generic". The environment variable BG_CPU_KERNELS, read at
/// that first use, asks for a lower level (to test or compare them); asking for a level this build
/// lacks or this CPU cannot run is an error.
const char* cpu_kernels();

}  // namespace bg

BG_API_END
