#pragma once
// TensorImpl: what a Tensor handle points at. Backends and autograd read it; users rarely need to.

#include <functional>
#include <memory>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/object_pool.h"
#include "bg/core/storage.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

/// Autograd's bookkeeping for one tensor; allocated only for tensors that take part in autograd.
struct AutogradMeta {
  bool requires_grad = false;
  /// Set for non-leaf tensors whose `.grad` the user asked to keep (retain_grad()).
  bool retains_grad = false;
  Tensor grad;
  /// The node that produced this tensor (null for leaves).
  std::shared_ptr<autograd::Node> grad_fn;
  /// For leaves: the node that accumulates into `grad`, shared by every use of the leaf in every
  /// graph. It lives as long as the leaf (it refers back to the leaf weakly, so no cycle).
  std::shared_ptr<autograd::Node> grad_accumulator;
  /// Hooks of a leaf; a non-leaf's hooks live on its grad_fn.
  std::vector<std::function<Tensor(const Tensor&)>> hooks;
  /// Hooks of a leaf that run after its `.grad` was updated
  /// (autograd::register_post_accumulate_grad_hook).
  std::vector<std::function<void(const Tensor&)>> post_accumulate_grad_hooks;

  // Every output of a recorded op gets one: pooled (Note [Object pool]).
  static void* operator new(size_t nbytes) { return detail::pool_allocate(nbytes); }
  static void operator delete(void* ptr, size_t nbytes) noexcept {
    detail::pool_deallocate(ptr, nbytes);
  }
};

/// Computes a tensor's value on demand (Note [Parametrized tensors] in tensor.cpp): a tensor bound
/// to a source is brought up to date by it whenever it is read through the Tensor API.
class ValueSource {
 public:
  virtual ~ValueSource() = default;
  /// Makes `target` hold the current value (with TensorImpl::assign) if it does not already.
  virtual void update(TensorImpl& target) = 0;
};

/// The most dims a tensor can have (kernels keep per-dim state in fixed arrays).
inline constexpr int64_t kMaxDims = 16;

class TensorImpl {
 public:
  /// A tensor with any geometry over `storage`: checked to stay inside it.
  TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
             Dtype dtype);

  /// What the maker of a tensor knows of a geometry it already checked: a new tensor's contiguous
  /// one over the storage made for it (detail::empty_tensor), or another tensor's (detail::alias).
  struct Checked {
    int64_t numel;
    bool contiguous;
  };
  /// A tensor with a geometry known to be valid over `storage`: only its number of dims is checked.
  TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
             Dtype dtype, Checked geometry);

  const std::shared_ptr<Storage>& storage() const { return storage_; }
  const Shape& sizes() const { return sizes_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t numel() const { return numel_; }
  Dtype dtype() const { return dtype_; }
  Device device() const { return storage_->device(); }
  bool is_contiguous() const { return is_contiguous_; }

  /// Address of the first element.
  void* data() const {
    return static_cast<char*>(storage_->data()) +
           offset_ * static_cast<int64_t>(element_size(dtype_));
  }

  /// True for the 0-dim tensors that wrap a number operand (x + 2): they promote like a Python
  /// number, not like a tensor.
  bool is_wrapped_number() const { return wrapped_number_; }
  void set_wrapped_number(bool wrapped) { wrapped_number_ = wrapped; }

  /// True for tensors made by a view op (or detach) sharing another tensor's storage. Autograd
  /// refuses in-place ops on them that would need to change the other tensor's history.
  bool is_view() const { return view_; }
  void set_view(bool view) { view_ = view; }

  /// Autograd metadata, or null when this tensor never took part in autograd.
  AutogradMeta* autograd() const { return autograd_.get(); }
  /// Autograd metadata, created on first use.
  AutogradMeta& autograd_or_create();

  /// Binds this tensor to a source that keeps its value up to date (null unbinds it).
  void set_source(std::shared_ptr<ValueSource> source) { source_ = std::move(source); }
  const std::shared_ptr<ValueSource>& source() const { return source_; }
  /// Asks the source, if any, to bring the value up to date (for a parametrization: a new draw
  /// once per sampling step).
  void update_from_source();
  /// Makes this tensor object hold `value`: its storage, geometry, dtype and autograd history.
  /// Handles to this object see the new value; graphs that saved the old one keep it.
  void assign(const Tensor& value);

  /// Points this impl at other storage and geometry (Tensor::set_data).
  void set_geometry(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
                    Dtype dtype);

 private:
  // numel_ and is_contiguous_ from the sizes and strides, after checking them.
  void compute_numel_and_contiguity();
  // Throws unless every element the geometry addresses lies inside the storage: the invariant
  // every kernel relies on, checked wherever a tensor gets its geometry.
  void check_within_storage() const;

  std::shared_ptr<Storage> storage_;
  Shape sizes_;
  Shape strides_;
  int64_t offset_;
  int64_t numel_;
  Dtype dtype_;
  bool is_contiguous_;
  bool wrapped_number_ = false;
  bool view_ = false;
  bool updating_ = false;
  std::shared_ptr<ValueSource> source_;
  std::unique_ptr<AutogradMeta> autograd_;
};

namespace detail {
/// Throws the error for reading an undefined (default-constructed) tensor.
[[noreturn]] void throw_undefined_tensor();
/// Throws the error of `op` (size or stride) for a dim outside a tensor of `ndim` dims.
[[noreturn]] void throw_dim_out_of_range(const char* op, int64_t dim, int64_t ndim);
/// values[d] for a dim d of a tensor with values.size() dims (negative counts from the end), as
/// `op` (size or stride) reads it.
inline int64_t entry_of_dim(const char* op, const Shape& values, int64_t d) {
  const auto n = static_cast<int64_t>(values.size());
  if (d < -n || d >= n) [[unlikely]]
    throw_dim_out_of_range(op, d, n);
  return values[static_cast<size_t>(d < 0 ? d + n : d)];
}
}  // namespace detail

inline const TensorImpl& Tensor::current() const {
  if (impl_ == nullptr) [[unlikely]]
    detail::throw_undefined_tensor();
  if (impl_->source()) [[unlikely]]
    impl_->update_from_source();
  return *impl_;
}

inline const Shape& Tensor::sizes() const { return current().sizes(); }
inline const Shape& Tensor::strides() const { return current().strides(); }
inline int64_t Tensor::dim() const { return static_cast<int64_t>(sizes().size()); }
inline int64_t Tensor::size(int64_t d) const { return detail::entry_of_dim("size", sizes(), d); }
inline int64_t Tensor::stride(int64_t d) const {
  return detail::entry_of_dim("stride", strides(), d);
}
inline int64_t Tensor::numel() const { return current().numel(); }
inline Dtype Tensor::dtype() const { return current().dtype(); }
inline Device Tensor::device() const { return current().device(); }
inline bool Tensor::is_contiguous() const { return current().is_contiguous(); }
inline int64_t Tensor::storage_offset() const { return current().offset(); }
inline uint32_t Tensor::version() const { return current().storage()->version(); }

}  // namespace bg

BG_API_END
