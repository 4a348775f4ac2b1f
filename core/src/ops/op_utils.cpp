#include "ops/op_utils.h"

#include "bg/core/object_pool.h"

#include <algorithm>
#include <limits>
#include <new>

namespace bg::detail {

Tensor empty_tensor(const char* op, const Shape& sizes, Dtype dtype, Device device) {
  const Shape strides = contiguous_strides(sizes, op);  // checks the element count
  const int64_t numel = numel_of(sizes);
  // Byte offsets are int64 (TensorImpl::data), so the byte count must fit one too.
  BG_CHECK(numel <= std::numeric_limits<int64_t>::max() / static_cast<int64_t>(element_size(dtype)),
           op, "a ", dtype_name(dtype), " tensor of shape ", shape_str(sizes), " would take ",
           "more than 2^63 - 1 bytes");
  const size_t nbytes = static_cast<size_t>(numel) * element_size(dtype);
  Allocator& allocator = backend(device.type).allocator(device);
  std::shared_ptr<Storage> storage;
  try {
    storage = detail::make_pooled<Storage>(nbytes, device, allocator);
  } catch (const std::bad_alloc&) {
    throw Error(detail::concat(op, ": out of memory: cannot allocate ", nbytes, " bytes on ",
                               device, " for a ", dtype_name(dtype), " tensor of shape ",
                               shape_str(sizes)));
  } catch (const Error& e) {  // a device allocator's own message (CUDA's names the free memory)
    throw Error(detail::concat(op, ": ", e.what()));
  }
  return Tensor(detail::make_pooled<TensorImpl>(std::move(storage), sizes, strides, 0, dtype,
                                                TensorImpl::Checked{numel, true}));
}

Tensor alias(const Tensor& x) {
  (void)x.sizes();  // brings a parametrized tensor up to date (Note [Parametrized tensors])
  const TensorImpl& impl = *x.impl();
  return Tensor(make_pooled<TensorImpl>(impl.storage(), impl.sizes(), impl.strides(), impl.offset(),
                                        impl.dtype(),
                                        TensorImpl::Checked{impl.numel(), impl.is_contiguous()}));
}

Tensor alias(const Tensor& x, Shape sizes, Shape strides, int64_t offset) {
  return Tensor(detail::make_pooled<TensorImpl>(x.impl()->storage(), std::move(sizes),
                                                std::move(strides), offset, x.dtype()));
}

Tensor cast(const Tensor& x, Dtype dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = empty_tensor("to", x.sizes(), dtype, x.device());
  backend_of(x).copy(out, x);
  return out;
}

Tensor broadcast_to(const Tensor& x, const Shape& sizes) {
  if (x.sizes() == sizes) return x;
  const size_t lead = sizes.size() - x.sizes().size();
  Shape strides(sizes.size(), 0);
  for (size_t i = 0; i < x.sizes().size(); ++i) {
    if (x.sizes()[i] != 1) strides[lead + i] = x.strides()[i];
  }
  return alias(x, sizes, std::move(strides), x.storage_offset());
}

void fill_random(RandomOp op, const Tensor& out, Generator* generator, double a, double b) {
  Generator& gen = generator ? *generator : default_generator(out.device());
  const int64_t per_block = values_per_block(op, out.dtype());
  const auto blocks = static_cast<uint64_t>((out.numel() + per_block - 1) / per_block);
  backend_of(out).random(op, out, gen.seed(), gen.reserve(blocks), a, b);
}

Tensor wrap_scalar(const Scalar& s, Device device) {
  Tensor t = scalar_tensor(s, TensorOptions(s.kind()).device(device));
  t.impl()->set_wrapped_number(true);
  return t;
}

namespace {
// The category of a dtype for promotion across priorities: bool < integer < floating.
int category(Dtype d) { return d == kBool ? 0 : (d == kInt64 ? 1 : 2); }
}  // namespace

Dtype result_type(const Tensor& a, const Tensor& b) {
  // Three priority groups: dimensioned tensors, 0-dim tensors, wrapped numbers.
  auto priority = [](const Tensor& t) {
    return t.impl()->is_wrapped_number() ? 0 : (t.dim() == 0 ? 1 : 2);
  };
  const int pa = priority(a), pb = priority(b);
  if (pa == pb) return promote_types(a.dtype(), b.dtype());
  const Tensor& high = pa > pb ? a : b;
  const Tensor& low = pa > pb ? b : a;
  if (category(low.dtype()) <= category(high.dtype())) return high.dtype();
  // The lower-priority operand has a higher category: a number promotes to the default dtype of
  // its category (float32 for floating numbers), a 0-dim tensor keeps its own dtype.
  if (low.impl()->is_wrapped_number() && low.dtype() == kFloat64) return kDefaultDtype;
  return low.dtype();
}

void check_defined(const char* op, const Tensor& t, const char* what) {
  BG_CHECK(t.defined(), op, what, " is an undefined tensor");
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, a);
  check_defined(op, b);
  BG_CHECK(a.device() == b.device(), op, "expected tensors on the same device, got ", describe(a),
           " and ", describe(b));
}

void check_floating(const char* op, const Tensor& t) {
  BG_CHECK(t.is_floating_point(), op, "expected a float32 or float64 tensor, got ", describe(t));
}

bool shares_storage(const Tensor& a, const Tensor& b) {
  return a.impl()->storage() == b.impl()->storage();
}

Tensor unsqueeze_dims(const Tensor& x, const Shape& dims) {
  Tensor out = x;
  for (int64_t d : dims) out = out.unsqueeze(d);
  return out;
}

Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d) {
    const bool reduced = std::binary_search(dims.begin(), dims.end(), d);
    if (!reduced)
      out.push_back(sizes[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

}  // namespace bg::detail
