#pragma once
// Tensor: the handle users hold.
//
// A Tensor is a cheap, reference-counted handle to a TensorImpl. The impl describes a strided view
// of a Storage: sizes, strides (in elements), an offset, a dtype. Several tensors can view one
// storage (view, transpose, narrow, expand, ... never copy); they share its version counter.
//
// Autograd: a tensor that requires grad and was computed by an op holds `grad_fn`, the graph node
// that knows how to send gradients back to the op's inputs. Calling backward() on a result walks
// those nodes (see autograd/engine.cpp) and accumulates gradients into the `.grad` of the leaves:
// tensors made by the user with requires_grad set.
//
// Every method here is also a free function in ops.h (`x.exp()` is `bg::exp(x)`).

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/device.h"
#include "bg/core/dtype.h"
#include "bg/core/scalar.h"
#include "bg/core/shape.h"
#include "bg/core/tensor_options.h"

BG_API_BEGIN

namespace bg {

class TensorImpl;
class Generator;
namespace autograd {
class Node;
}

class Tensor {
 public:
  /// An undefined tensor (no impl); `defined()` is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  /// True when both handles point at the same tensor object.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- Properties -------------------------------------------------------------------------------
  // (Defined inline in tensor_impl.h, which this header includes at its end: every op reads them.)
  inline const Shape& sizes() const;
  const Shape& shape() const { return sizes(); }
  /// Size of one dim (negative counts from the end).
  inline int64_t size(int64_t dim) const;
  inline const Shape& strides() const;
  inline int64_t stride(int64_t dim) const;
  inline int64_t dim() const;
  inline int64_t numel() const;
  inline Dtype dtype() const;
  inline Device device() const;
  TensorOptions options() const { return TensorOptions(dtype()).device(device()); }
  inline bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  inline int64_t storage_offset() const;
  /// The storage's version counter (see Note [Version counter]).
  inline uint32_t version() const;

  /// The value of a one-element tensor as T (copied to the host if needed).
  template <typename T>
  T item() const;
  /// Pointer to the first element; T must match the dtype. Only for CPU tensors.
  template <typename T>
  T* data_ptr() const;

  // ---- Conversion -------------------------------------------------------------------------------
  /// A copy with another dtype (this tensor itself if the dtype already matches). Differentiable.
  Tensor to(Dtype dtype) const;
  /// A copy on another device (this tensor itself if already there). Differentiable.
  Tensor to(Device device) const;
  Tensor to(DeviceType type) const { return to(Device(type)); }
  Tensor cpu() const { return to(Device::cpu()); }
  /// A copy with its own storage, contiguous. Differentiable.
  Tensor clone() const;
  /// This tensor if already contiguous, else a contiguous copy. Differentiable.
  Tensor contiguous() const;

  // ---- Autograd ---------------------------------------------------------------------------------
  bool requires_grad() const;
  /// Turns gradient tracking on or off for a leaf tensor.
  Tensor& requires_grad_(bool requires_grad = true);
  /// The accumulated gradient (undefined until a backward pass reaches this tensor).
  const Tensor& grad() const;
  /// Replaces the gradient (e.g. to reset it: `x.set_grad({})`).
  void set_grad(const Tensor& grad) const;
  /// The node that computed this tensor, or null for leaves and tensors not tracked by autograd.
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  /// True for tensors not produced by a tracked op (user-created tensors, parameters).
  bool is_leaf() const;
  /// Computes gradients of this tensor with respect to the leaves of its graph and accumulates them
  /// into their `.grad`. `gradient` may be omitted for one-element tensors.
  void backward(const Tensor& gradient = {}, bool retain_graph = false,
                bool create_graph = false) const;
  /// A tensor sharing storage but cut from the graph (requires_grad false).
  Tensor detach() const;
  /// Keeps `.grad` for this non-leaf tensor after backward (leaves always keep it).
  void retain_grad() const;
  /// Calls `hook(grad)` whenever a gradient for this tensor is computed; if the hook returns a
  /// defined tensor, that tensor replaces the gradient.
  void register_hook(std::function<Tensor(const Tensor&)> hook) const;
  /// Makes this tensor object view `other`'s storage, sizes and dtype (used by Module::to so that
  /// handles held elsewhere, e.g. by optimizers, stay valid). Keeps requires_grad, drops grad_fn,
  /// and converts a gradient of the same shape to the new dtype and device.
  void set_data(const Tensor& other) const;

  // ---- Views (share storage) --------------------------------------------------------------------
  Tensor view(const Shape& sizes) const;
  Tensor reshape(const Shape& sizes) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor unflatten(int64_t dim, const Shape& sizes) const;
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  /// Transpose of a tensor of at most 2 dims.
  Tensor t() const;
  Tensor unsqueeze(int64_t dim) const;
  /// Removes every dim of size 1.
  Tensor squeeze() const;
  /// Removes `dim` if its size is 1.
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& sizes) const;
  Tensor expand_as(const Tensor& other) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  /// Elements start, start+step, ... < end along `dim` (Python's x[..., start:end:step, ...]).
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  /// select(0, index).
  Tensor operator[](int64_t index) const;

  // ---- Indexing and joining (copy) --------------------------------------------------------------
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor gather(int64_t dim, const Tensor& index) const;
  Tensor masked_select(const Tensor& mask) const;
  std::vector<Tensor> split(int64_t split_size, int64_t dim = 0) const;
  std::vector<Tensor> split_with_sizes(const std::vector<int64_t>& split_sizes,
                                       int64_t dim = 0) const;
  std::vector<Tensor> chunk(int64_t chunks, int64_t dim = 0) const;
  std::vector<Tensor> unbind(int64_t dim = 0) const;
  /// This tensor with `value` where mask is true (bg::masked_fill).
  Tensor masked_fill(const Tensor& mask, const Scalar& value) const;
  Tensor masked_fill(const Tensor& mask, const Tensor& value) const;
  /// Lower and upper triangles of the last two dims (bg::tril, bg::triu).
  Tensor tril(int64_t diagonal = 0) const;
  Tensor triu(int64_t diagonal = 0) const;

  // ---- Elementwise ------------------------------------------------------------------------------
  Tensor neg() const;
  Tensor abs() const;
  Tensor sign() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor log1p() const;
  Tensor expm1() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor erf() const;
  Tensor pow(const Scalar& exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor clamp(std::optional<Scalar> min, std::optional<Scalar> max) const;
  Tensor clamp_min(const Scalar& min) const;
  Tensor clamp_max(const Scalar& max) const;
  Tensor maximum(const Tensor& other) const;
  Tensor minimum(const Tensor& other) const;
  Tensor eq(const Tensor& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor le(const Tensor& other) const;
  Tensor gt(const Tensor& other) const;
  Tensor ge(const Tensor& other) const;
  Tensor logical_not() const;

  // ---- Reductions (an empty dim list means every dim) -------------------------------------------
  Tensor sum(const Dims& dims = {}, bool keepdim = false) const;
  Tensor mean(const Dims& dims = {}, bool keepdim = false) const;
  Tensor prod(const Dims& dims = {}, bool keepdim = false) const;
  Tensor max(const Dims& dims = {}, bool keepdim = false) const;
  Tensor min(const Dims& dims = {}, bool keepdim = false) const;
  /// Index of the largest element of the flattened tensor.
  Tensor argmax() const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin() const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;
  /// Variance with Bessel's correction by default (correction = 1), as in PyTorch.
  Tensor var(const Dims& dims = {}, int64_t correction = 1, bool keepdim = false) const;
  Tensor std(const Dims& dims = {}, int64_t correction = 1, bool keepdim = false) const;
  Tensor logsumexp(const Dims& dims, bool keepdim = false) const;
  /// The p-norm over `dims` (p = 2 by default; p = INFINITY gives the largest magnitude).
  Tensor norm(double p = 2.0, const Dims& dims = {}, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // ---- Linear algebra ---------------------------------------------------------------------------
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;
  Tensor bmm(const Tensor& other) const;
  /// beta * this + alpha * (mat1 @ mat2) (bg::addmm).
  Tensor addmm(const Tensor& mat1, const Tensor& mat2, const Scalar& beta = 1,
               const Scalar& alpha = 1) const;
  /// beta * this + alpha * bmm(batch1, batch2) (bg::baddbmm).
  Tensor baddbmm(const Tensor& batch1, const Tensor& batch2, const Scalar& beta = 1,
                 const Scalar& alpha = 1) const;

  // ---- In-place (bump the version counter; return *this) ----------------------------------------
  Tensor& add_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& add_(const Scalar& other);
  Tensor& sub_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& sub_(const Scalar& other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(const Scalar& other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(const Scalar& other);
  Tensor& zero_();
  Tensor& fill_(const Scalar& value);
  /// Copies `src` (broadcast to this shape, cast to this dtype, from any device) into this tensor.
  Tensor& copy_(const Tensor& src);
  Tensor& clamp_(std::optional<Scalar> min, std::optional<Scalar> max);
  /// Fills with U[low, high) from the default generator (or `generator` when given).
  Tensor& uniform_(double low = 0.0, double high = 1.0, Generator* generator = nullptr);
  /// Fills with N(mean, std^2).
  Tensor& normal_(double mean = 0.0, double std = 1.0, Generator* generator = nullptr);

 private:
  // The impl, after its source (if any) brought its value up to date (Note [Parametrized tensors]
  // in tensor.cpp); throws for an undefined tensor.
  inline const TensorImpl& current() const;

  std::shared_ptr<TensorImpl> impl_;
};

/// Prints in PyTorch's style: tensor([[1.0000, 2.0000], ...], dtype=float64, requires_grad=True).
std::ostream& operator<<(std::ostream& out, const Tensor& t);

/// "float32[2, 3] on cpu": how error messages name a tensor.
std::string describe(const Tensor& t);

}  // namespace bg

BG_API_END

// The inline accessors above read the TensorImpl, defined there.
#include "bg/core/tensor_impl.h"
