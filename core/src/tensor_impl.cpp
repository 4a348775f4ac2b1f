#include "bg/core/tensor_impl.h"

#include "bg/core/autograd/node.h"

namespace bg {

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
                       Dtype dtype)
    : storage_(std::move(storage)),
      sizes_(std::move(sizes)),
      strides_(std::move(strides)),
      offset_(offset),
      dtype_(dtype) {
  BG_CHECK(static_cast<int64_t>(sizes_.size()) <= kMaxDims, "tensor", "at most ", kMaxDims,
           " dims are supported, got shape ", shape_str(sizes_));
  refresh_cached();
}

AutogradMeta& TensorImpl::autograd_or_create() {
  if (!autograd_) autograd_ = std::make_unique<AutogradMeta>();
  return *autograd_;
}

void TensorImpl::set_geometry(std::shared_ptr<Storage> storage, Shape sizes, Shape strides,
                              int64_t offset, Dtype dtype) {
  storage_ = std::move(storage);
  sizes_ = std::move(sizes);
  strides_ = std::move(strides);
  offset_ = offset;
  dtype_ = dtype;
  refresh_cached();
}

void TensorImpl::refresh_cached() {
  numel_ = numel_of(sizes_);
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

}  // namespace bg
