// Tensor's autograd methods.

#include "bg/core/autograd/autograd.h"
#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg {

namespace {
// The impl of `t`, brought up to date (Note [Parametrized tensors]); throws naming `op` for an
// undefined tensor instead of dereferencing null.
TensorImpl& defined_impl(const char* op, const Tensor& t) {
  BG_CHECK(t.defined(), op, "this tensor is undefined (default-constructed)");
  t.impl()->update_from_source();
  return *t.impl();
}
}  // namespace

bool Tensor::requires_grad() const {
  const AutogradMeta* meta = defined_impl("requires_grad", *this).autograd();
  return meta != nullptr && meta->requires_grad;
}

Tensor& Tensor::requires_grad_(bool requires_grad) {
  BG_CHECK(is_leaf(), "requires_grad_",
           "only leaf tensors can change requires_grad; this one was computed by ",
           grad_fn()->name(), " (use detach() to get a leaf)");
  BG_CHECK(!requires_grad || is_floating_point(), "requires_grad_",
           "only float32 and float64 tensors can require gradients, got ", describe(*this));
  impl()->autograd_or_create().requires_grad = requires_grad;
  return *this;
}

const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  const AutogradMeta* meta = defined_impl("grad", *this).autograd();
  return meta ? meta->grad : undefined;
}

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined()) {
    BG_CHECK(grad.sizes() == sizes() && grad.dtype() == dtype() && grad.device() == device(),
             "set_grad", "the gradient ", describe(grad), " does not match the tensor ",
             describe(*this));
  }
  defined_impl("set_grad", *this).autograd_or_create().grad = grad;
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<autograd::Node> none;
  const AutogradMeta* meta = defined_impl("grad_fn", *this).autograd();
  return meta ? meta->grad_fn : none;
}

bool Tensor::is_leaf() const { return grad_fn() == nullptr; }

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  autograd::backward({*this},
                     gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{},
                     retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  Tensor out = detail::alias(*this, sizes(), strides(), storage_offset());
  // Shares the storage, and so the version counter: autograd still notices in-place writes.
  out.impl()->set_view(true);
  return out;
}

void Tensor::retain_grad() const {
  BG_CHECK(requires_grad(), "retain_grad", "the tensor ", describe(*this),
           " does not require grad");
  if (is_leaf()) return;  // leaves keep their gradient anyway
  AutogradMeta& meta = impl()->autograd_or_create();
  if (meta.retains_grad) return;
  meta.retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_ptr();
  grad_fn()->pre_hooks().push_back([weak](const Tensor& grad) {
    if (auto impl = weak.lock()) {
      Tensor& kept = impl->autograd_or_create().grad;
      kept = kept.defined() ? kept + grad : grad.detach().clone();
    }
    return Tensor();
  });
}

void Tensor::register_hook(std::function<Tensor(const Tensor&)> hook) const {
  BG_CHECK(requires_grad(), "register_hook", "cannot register a hook on ", describe(*this),
           ", which does not require grad");
  if (is_leaf()) {
    impl()->autograd_or_create().hooks.push_back(std::move(hook));
  } else {
    grad_fn()->pre_hooks().push_back(std::move(hook));
  }
}

void Tensor::set_data(const Tensor& other) const {
  detail::check_defined("set_data", other);
  const TensorImpl& src = *other.impl();
  defined_impl("set_data", *this)
      .set_geometry(src.storage(), src.sizes(), src.strides(), src.offset(), src.dtype());
  if (AutogradMeta* meta = impl()->autograd()) {
    meta->grad_fn = nullptr;
    meta->grad_accumulator.reset();
    if (meta->grad.defined()) {
      NoGradGuard no_grad;
      meta->grad = meta->grad.sizes() == src.sizes() ? meta->grad.to(src.dtype()).to(src.device())
                                                     : Tensor();
    }
  }
}

}  // namespace bg
