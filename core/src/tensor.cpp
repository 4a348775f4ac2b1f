// Tensor's accessors, and its methods that forward to the free functions of ops.h.

#include "bg/core/tensor.h"

#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg {

// Note [Parametrized tensors]
// A tensor can be bound to a ValueSource: a parametrization (weight normalization, a variational
// posterior) that computes its value from other tensors. Layer code keeps reading its `weight`
// handle as usual; every read through the Tensor API first asks the source to bring the value up
// to date, which it does only when stale (its inputs changed, or a new sampling step began). The
// update swaps storage and history inside the same TensorImpl (TensorImpl::assign), so the
// handles held by layers see it, while graphs recorded earlier keep the values they saved.
// Tensor::current (tensor_impl.h), which every accessor calls, is where a read asks.

namespace detail {
void throw_undefined_tensor() {
  throw Error("tensor: this tensor is undefined (default-constructed)");
}
void throw_dim_out_of_range(const char* op, int64_t dim, int64_t ndim) {
  if (ndim == 0) throw Error(concat(op, ": dim ", dim, " is out of range: the tensor is 0-dim"));
  throw Error(concat(op, ": dim ", dim, " is out of range for a tensor of ", ndim,
                     " dims (expected a dim in [", -ndim, ", ", ndim - 1, "])"));
}
}  // namespace detail

template <typename T>
T Tensor::item() const {
  BG_CHECK(numel() == 1, "item", "a tensor with ", numel(), " elements (shape ", shape_str(sizes()),
           ") cannot be converted to a number");
  Tensor host = cpu();
  // Floats become integers through the backend's conversion, which turns NaN, inf and values out
  // of range into INT64_MIN where a static_cast would be undefined behaviour.
  if (std::is_integral_v<T> && !std::is_same_v<T, bool> && is_floating(dtype())) {
    host = detail::cast(host, kInt64);
  }
  return dispatch_all(host.dtype(), [&](auto tag) {
    using Stored = decltype(tag);
    return static_cast<T>(*static_cast<const Stored*>(host.impl()->data()));
  });
}
template bool Tensor::item<bool>() const;
template int64_t Tensor::item<int64_t>() const;
template int Tensor::item<int>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;

template <typename T>
T* Tensor::data_ptr() const {
  BG_CHECK(dtype() == dtype_of<T>, "data_ptr", "requested ", dtype_name(dtype_of<T>),
           " elements of a ", describe(*this), " tensor");
  BG_CHECK(device().is_cpu(), "data_ptr", "the tensor ", describe(*this),
           " is not on the cpu; call .cpu() first");
  return static_cast<T*>(impl_->data());
}
template bool* Tensor::data_ptr<bool>() const;
template int64_t* Tensor::data_ptr<int64_t>() const;
template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;

std::string describe(const Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  return detail::concat(dtype_name(t.dtype()), shape_str(t.sizes()), " on ", t.device().str());
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }
Tensor Tensor::clone() const { return bg::clone(*this); }
Tensor Tensor::operator[](int64_t index) const { return select(0, index); }

// ---- Forwarding to ops.h ------------------------------------------------------------------------
Tensor Tensor::view(const Shape& s) const { return bg::view(*this, s); }
Tensor Tensor::reshape(const Shape& s) const { return bg::reshape(*this, s); }
Tensor Tensor::flatten(int64_t a, int64_t b) const { return bg::flatten(*this, a, b); }
Tensor Tensor::unflatten(int64_t d, const Shape& s) const { return bg::unflatten(*this, d, s); }
Tensor Tensor::permute(const Shape& d) const { return bg::permute(*this, d); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return bg::transpose(*this, a, b); }
Tensor Tensor::t() const { return bg::t(*this); }
Tensor Tensor::unsqueeze(int64_t d) const { return bg::unsqueeze(*this, d); }
Tensor Tensor::squeeze() const { return bg::squeeze(*this); }
Tensor Tensor::squeeze(int64_t d) const { return bg::squeeze(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return bg::expand(*this, s); }
Tensor Tensor::expand_as(const Tensor& o) const { return bg::expand(*this, o.sizes()); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t l) const { return bg::narrow(*this, d, s, l); }
Tensor Tensor::slice(int64_t d, int64_t s, int64_t e, int64_t st) const {
  return bg::slice(*this, d, s, e, st);
}
Tensor Tensor::select(int64_t d, int64_t i) const { return bg::select(*this, d, i); }
Tensor Tensor::index_select(int64_t d, const Tensor& i) const {
  return bg::index_select(*this, d, i);
}
Tensor Tensor::gather(int64_t d, const Tensor& i) const { return bg::gather(*this, d, i); }
Tensor Tensor::masked_select(const Tensor& m) const { return bg::masked_select(*this, m); }
std::vector<Tensor> Tensor::split(int64_t s, int64_t d) const { return bg::split(*this, s, d); }
std::vector<Tensor> Tensor::split_with_sizes(const std::vector<int64_t>& s, int64_t d) const {
  return bg::split_with_sizes(*this, s, d);
}
std::vector<Tensor> Tensor::chunk(int64_t c, int64_t d) const { return bg::chunk(*this, c, d); }
std::vector<Tensor> Tensor::unbind(int64_t d) const { return bg::unbind(*this, d); }
Tensor Tensor::masked_fill(const Tensor& m, const Scalar& v) const {
  return bg::masked_fill(*this, m, v);
}
Tensor Tensor::masked_fill(const Tensor& m, const Tensor& v) const {
  return bg::masked_fill(*this, m, v);
}
Tensor Tensor::tril(int64_t d) const { return bg::tril(*this, d); }
Tensor Tensor::triu(int64_t d) const { return bg::triu(*this, d); }

Tensor Tensor::neg() const { return bg::neg(*this); }
Tensor Tensor::abs() const { return bg::abs(*this); }
Tensor Tensor::sign() const { return bg::sign(*this); }
Tensor Tensor::exp() const { return bg::exp(*this); }
Tensor Tensor::log() const { return bg::log(*this); }
Tensor Tensor::log1p() const { return bg::log1p(*this); }
Tensor Tensor::expm1() const { return bg::expm1(*this); }
Tensor Tensor::sqrt() const { return bg::sqrt(*this); }
Tensor Tensor::rsqrt() const { return bg::rsqrt(*this); }
Tensor Tensor::sin() const { return bg::sin(*this); }
Tensor Tensor::cos() const { return bg::cos(*this); }
Tensor Tensor::tanh() const { return bg::tanh(*this); }
Tensor Tensor::sigmoid() const { return bg::sigmoid(*this); }
Tensor Tensor::relu() const { return bg::relu(*this); }
Tensor Tensor::erf() const { return bg::erf(*this); }
Tensor Tensor::pow(const Scalar& e) const { return bg::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return bg::pow(*this, e); }
Tensor Tensor::clamp(std::optional<Scalar> lo, std::optional<Scalar> hi) const {
  return bg::clamp(*this, lo, hi);
}
Tensor Tensor::clamp_min(const Scalar& lo) const { return bg::clamp_min(*this, lo); }
Tensor Tensor::clamp_max(const Scalar& hi) const { return bg::clamp_max(*this, hi); }
Tensor Tensor::maximum(const Tensor& o) const { return bg::maximum(*this, o); }
Tensor Tensor::minimum(const Tensor& o) const { return bg::minimum(*this, o); }
Tensor Tensor::eq(const Tensor& o) const { return bg::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return bg::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return bg::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return bg::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return bg::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return bg::ge(*this, o); }
Tensor Tensor::logical_not() const { return bg::logical_not(*this); }

Tensor Tensor::sum(const Dims& d, bool k) const { return bg::sum(*this, d, k); }
Tensor Tensor::mean(const Dims& d, bool k) const { return bg::mean(*this, d, k); }
Tensor Tensor::prod(const Dims& d, bool k) const { return bg::prod(*this, d, k); }
Tensor Tensor::max(const Dims& d, bool k) const { return bg::max(*this, d, k); }
Tensor Tensor::min(const Dims& d, bool k) const { return bg::min(*this, d, k); }
Tensor Tensor::argmax() const { return bg::argmax(*this); }
Tensor Tensor::argmax(int64_t d, bool k) const { return bg::argmax(*this, d, k); }
Tensor Tensor::argmin() const { return bg::argmin(*this); }
Tensor Tensor::argmin(int64_t d, bool k) const { return bg::argmin(*this, d, k); }
Tensor Tensor::var(const Dims& d, int64_t c, bool k) const { return bg::var(*this, d, c, k); }
Tensor Tensor::std(const Dims& d, int64_t c, bool k) const { return bg::std(*this, d, c, k); }
Tensor Tensor::logsumexp(const Dims& d, bool k) const { return bg::logsumexp(*this, d, k); }
Tensor Tensor::norm(double p, const Dims& d, bool k) const { return bg::norm(*this, p, d, k); }
Tensor Tensor::softmax(int64_t d) const { return bg::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return bg::log_softmax(*this, d); }

Tensor Tensor::matmul(const Tensor& o) const { return bg::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return bg::mm(*this, o); }
Tensor Tensor::bmm(const Tensor& o) const { return bg::bmm(*this, o); }
Tensor Tensor::addmm(const Tensor& m1, const Tensor& m2, const Scalar& beta,
                     const Scalar& alpha) const {
  return bg::addmm(*this, m1, m2, beta, alpha);
}
Tensor Tensor::baddbmm(const Tensor& b1, const Tensor& b2, const Scalar& beta,
                       const Scalar& alpha) const {
  return bg::baddbmm(*this, b1, b2, beta, alpha);
}

}  // namespace bg
