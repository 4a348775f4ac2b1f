#pragma once
// Helpers shared by the op frontends (internal to core).

#include "bg/core/backend.h"
#include "bg/core/factory.h"
#include "bg/core/random.h"
#include "bg/core/tensor_impl.h"

namespace bg::detail {

/// The backend of the device `t` lives on.
inline Backend& backend_of(const Tensor& t) { return backend(t.device().type); }

/// A new contiguous tensor (no autograd). Throws naming `op` when the sizes are negative or their
/// element or byte count does not fit in int64.
Tensor empty_tensor(const char* op, const Shape& sizes, Dtype dtype, Device device);

/// A view of x's storage with the given geometry, not recorded by autograd: how kernels get
/// broadcast operands, and what view ops wrap.
Tensor alias(const Tensor& x, Shape sizes, Shape strides, int64_t offset);
/// A new tensor object viewing x's elements with x's own geometry (not checked again), not recorded
/// by autograd: what autograd saves of a tensor.
Tensor alias(const Tensor& x);

/// x with `dtype`, copied if needed, not recorded by autograd (kernel operands).
Tensor cast(const Tensor& x, Dtype dtype);

/// x broadcast to `sizes` as a zero-stride view, not recorded by autograd.
Tensor broadcast_to(const Tensor& x, const Shape& sizes);

/// Fills contiguous `out` with draws from `generator` (the device's default one when null),
/// advancing it past the Philox blocks used.
void fill_random(RandomOp op, const Tensor& out, Generator* generator, double a, double b);

/// A 0-dim tensor holding a number operand, flagged so it promotes like a number.
Tensor wrap_scalar(const Scalar& s, Device device);

/// PyTorch's result type of a binary op: dimensioned tensors outrank 0-dim tensors, which outrank
/// numbers; a lower-ranked operand only matters when its category (bool < integer < floating) is
/// higher.
Dtype result_type(const Tensor& a, const Tensor& b);

/// The dtype of a floating op's result: float dtypes stay, others become float32.
inline Dtype floating_result(Dtype d) { return is_floating(d) ? d : kFloat32; }

/// Throws naming `op` unless both tensors are defined and on the same device.
void check_same_device(const char* op, const Tensor& a, const Tensor& b);

/// Throws naming `op` if `t` is undefined.
void check_defined(const char* op, const Tensor& t, const char* what = "input");

/// Throws naming `op` unless `t` is float32 or float64.
void check_floating(const char* op, const Tensor& t);

/// True when a and b may touch the same memory.
bool shares_storage(const Tensor& a, const Tensor& b);

/// Adds size-1 dims back at `dims` (sorted) so a reduced result lines up with its input again.
Tensor unsqueeze_dims(const Tensor& x, const Shape& dims);

/// The gradient of softmax's input along `dim` for its output y and the gradient g of y:
/// y (g - sum(g y)). One fused pass when the backend has TransformerKernels, grad mode is off (no
/// create_graph) and `dim` is the last; Tensor ops otherwise.
Tensor softmax_backward(const Tensor& grad, const Tensor& output, int64_t dim);

/// Sizes of `sizes` with `dims` removed (keepdim = false) or set to 1 (keepdim = true).
Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim);

}  // namespace bg::detail
