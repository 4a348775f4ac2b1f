#include "bg/core/tensor_impl.h"

#include "bg/core/autograd/node.h"

namespace bg {

namespace {
void check_dim_count(const Shape& sizes) {
  BG_CHECK(static_cast<int64_t>(sizes.size()) <= kMaxDims, "tensor", "at most ", kMaxDims,
           " dims are supported, got shape ", shape_str(sizes));
}
}  // namespace

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
                       Dtype dtype)
    : storage_(std::move(storage)),
      sizes_(std::move(sizes)),
      strides_(std::move(strides)),
      offset_(offset),
      dtype_(dtype) {
  check_dim_count(sizes_);
  compute_numel_and_contiguity();
}

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
                       Dtype dtype, Checked geometry)
    : storage_(std::move(storage)),
      sizes_(std::move(sizes)),
      strides_(std::move(strides)),
      offset_(offset),
      numel_(geometry.numel),
      dtype_(dtype),
      is_contiguous_(geometry.contiguous) {
  check_dim_count(sizes_);
}

AutogradMeta& TensorImpl::autograd_or_create() {
  if (!autograd_) autograd_ = std::make_unique<AutogradMeta>();
  return *autograd_;
}

void TensorImpl::update_from_source() {
  if (!source_ || updating_) return;  // the source reading this tensor while computing it
  updating_ = true;
  try {
    source_->update(*this);
  } catch (...) {
    updating_ = false;
    throw;
  }
  updating_ = false;
}

void TensorImpl::assign(const Tensor& value) {
  const TensorImpl& v = *value.impl();
  set_geometry(v.storage_, v.sizes_, v.strides_, v.offset_, v.dtype_);
  AutogradMeta& meta = autograd_or_create();
  meta.requires_grad = value.requires_grad();
  meta.grad_fn = value.grad_fn();
  meta.grad = Tensor();
  // A value with no history is a leaf of its own: its accumulator must not be an older one.
  meta.grad_accumulator = v.autograd_ ? v.autograd_->grad_accumulator : nullptr;
}

void TensorImpl::set_geometry(std::shared_ptr<Storage> storage, Shape sizes, Shape strides,
                              int64_t offset, Dtype dtype) {
  storage_ = std::move(storage);
  sizes_ = std::move(sizes);
  strides_ = std::move(strides);
  offset_ = offset;
  dtype_ = dtype;
  compute_numel_and_contiguity();
}

void TensorImpl::compute_numel_and_contiguity() {
  numel_ = numel_of(sizes_, "tensor");
  check_within_storage();
  // Contiguous means row-major; the stride of a dim of size 1 does not matter, and an empty tensor
  // is contiguous whatever its strides (as in PyTorch: no element is out of place).
  is_contiguous_ = true;
  if (numel_ == 0) return;
  int64_t expected = 1;
  for (size_t i = sizes_.size(); i-- > 0;) {
    if (sizes_[i] == 1) continue;
    if (strides_[i] != expected) {
      is_contiguous_ = false;
      break;
    }
    expected *= sizes_[i];
  }
}

void TensorImpl::check_within_storage() const {
  BG_CHECK(strides_.size() == sizes_.size(), "tensor", "sizes ", shape_str(sizes_), " and strides ",
           shape_str(strides_), " differ in length");
  if (numel_ == 0) return;  // no element is ever addressed
  // The lowest and highest element the geometry reaches, computed without overflow.
  int64_t lowest = offset_, highest = offset_;
  bool fits = offset_ >= 0;
  for (size_t i = 0; i < sizes_.size() && fits; ++i) {
    int64_t reach;  // from the first to the last element along dim i
    fits = !__builtin_mul_overflow(sizes_[i] - 1, strides_[i], &reach);
    int64_t& bound = reach < 0 ? lowest : highest;
    fits = fits && !__builtin_add_overflow(bound, reach, &bound);
  }
  const auto capacity =
      static_cast<int64_t>(storage_->nbytes() / static_cast<size_t>(element_size(dtype_)));
  BG_CHECK(fits && lowest >= 0 && highest < capacity, "tensor", "sizes ", shape_str(sizes_),
           ", strides ", shape_str(strides_), " and offset ", offset_,
           " reach outside the storage of ", capacity, " ", dtype_name(dtype_), " elements");
}

}  // namespace bg
