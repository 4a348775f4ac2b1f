// View ops: new sizes and strides over the same storage, never a copy (reshape copies only when
// no view can express the result). Their backward formulas map the gradient back to the input.

#include <algorithm>
#include <numeric>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

namespace {

// Wraps x's storage with new geometry and records the view's backward formula.
template <typename Formula>
Tensor make_view(const Tensor& x, Shape sizes, Shape strides, int64_t offset, const char* name,
                 Formula formula) {
  Tensor out = detail::alias(x, std::move(sizes), std::move(strides), offset);
  out.impl()->set_view(true);
  autograd::record(out, name, {x}, {}, false, std::move(formula));
  return out;
}

// Strides that let `sizes` view memory laid out as (old_sizes, old_strides), if any: dims may be
// merged or split only within runs that are contiguous in memory (PyTorch's computeStride).
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides,
                                  const Shape& sizes) {
  if (old_sizes.empty() || numel_of(old_sizes) == 0) return contiguous_strides(sizes);
  Shape strides(sizes.size());
  auto view_d = static_cast<int64_t>(sizes.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (auto d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    const bool chunk_ends =
        d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || sizes[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= sizes[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = old_strides[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

// The geometry of x.slice(dim, start, start + length * step, step).
struct SliceGeometry {
  Shape sizes, strides;
  int64_t offset;
};
SliceGeometry slice_geometry(const Tensor& x, int64_t dim, int64_t start, int64_t length,
                             int64_t step) {
  SliceGeometry g{x.sizes(), x.strides(), x.storage_offset() + start * x.stride(dim)};
  g.sizes[dim] = length;
  g.strides[dim] *= step;
  return g;
}

// A zero tensor of `sizes` holding `grad` in its slice: the backward of slice, narrow and select.
Tensor slice_backward(const Tensor& grad, const Shape& sizes, int64_t dim, int64_t start,
                      int64_t step) {
  Tensor out = zeros(sizes, grad.options());
  const int64_t length = grad.size(dim);
  const SliceGeometry g = slice_geometry(out, dim, start, length, step);
  detail::backend_of(out).copy(detail::alias(out, g.sizes, g.strides, g.offset), grad);
  autograd::record(out, "SliceBackwardBackward", {grad}, {}, false,
                   [dim, start, length, step](const Context&, const Tensor& gg) -> Grads {
                     return {gg.slice(dim, start, start + length * step, step)};
                   });
  return out;
}

Tensor view_impl(const Tensor& x, const Shape& sizes, const Shape& strides) {
  return make_view(
      x, sizes, strides, x.storage_offset(), "ViewBackward",
      [in = x.sizes()](const Context&, const Tensor& g) -> Grads { return {g.reshape(in)}; });
}

}  // namespace

Tensor view(const Tensor& x, const Shape& sizes) {
  detail::check_defined("view", x);
  const Shape target = infer_size("view", sizes, x.numel());
  const std::optional<Shape> strides = view_strides(x.sizes(), x.strides(), target);
  BG_CHECK(strides.has_value(), "view", "shape ", shape_str(target),
           " cannot view the memory of the non-contiguous ", describe(x), " (strides ",
           shape_str(x.strides()), "); use reshape(), which copies when needed");
  return view_impl(x, target, *strides);
}

Tensor reshape(const Tensor& x, const Shape& sizes) {
  detail::check_defined("reshape", x);
  const Shape target = infer_size("reshape", sizes, x.numel());
  if (const std::optional<Shape> strides = view_strides(x.sizes(), x.strides(), target)) {
    return view_impl(x, target, *strides);
  }
  return view(x.clone(), target);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  detail::check_defined("flatten", x);
  if (x.dim() == 0) return x.reshape({1});
  const int64_t s = normalize_dim("flatten", start_dim, x.dim());
  const int64_t e = normalize_dim("flatten", end_dim, x.dim());
  BG_CHECK(s <= e, "flatten", "start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape sizes(x.sizes().begin(), x.sizes().begin() + s);
  sizes.push_back(-1);
  sizes.insert(sizes.end(), x.sizes().begin() + e + 1, x.sizes().end());
  if (x.numel() == 0) {  // -1 cannot be inferred next to zeros
    int64_t merged = 1;
    for (int64_t d = s; d <= e; ++d) merged *= x.size(d);
    sizes[s] = merged;
  }
  return x.reshape(sizes);
}

Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes) {
  detail::check_defined("unflatten", x);
  const int64_t d = normalize_dim("unflatten", dim, x.dim());
  const Shape inner = infer_size("unflatten", sizes, x.size(d));
  Shape target(x.sizes().begin(), x.sizes().begin() + d);
  target.insert(target.end(), inner.begin(), inner.end());
  target.insert(target.end(), x.sizes().begin() + d + 1, x.sizes().end());
  return x.view(target);
}

Tensor permute(const Tensor& x, const Shape& dims) {
  detail::check_defined("permute", x);
  BG_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permute", "got ", dims.size(), " dims ",
           shape_str(dims), " for a tensor of ", x.dim(), " dims");
  Shape sizes(dims.size()), strides(dims.size()), inverse(dims.size());
  uint32_t seen = 0;  // bit d: dim d was named (a tensor has at most kMaxDims = 16 dims)
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = normalize_dim("permute", dims[i], x.dim());
    BG_CHECK(!(seen >> d & 1), "permute", "dim ", d, " repeats in ", shape_str(dims));
    seen |= uint32_t{1} << d;
    sizes[i] = x.size(d);
    strides[i] = x.stride(d);
    inverse[d] = static_cast<int64_t>(i);
  }
  return make_view(
      x, sizes, strides, x.storage_offset(), "PermuteBackward",
      [inverse](const Context&, const Tensor& g) -> Grads { return {g.permute(inverse)}; });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  detail::check_defined("transpose", x);
  if (x.dim() == 0) return x.view({});
  Shape order(static_cast<size_t>(x.dim()));
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[normalize_dim("transpose", dim0, x.dim())],
            order[normalize_dim("transpose", dim1, x.dim())]);
  return x.permute(order);
}

Tensor t(const Tensor& x) {
  detail::check_defined("t", x);
  BG_CHECK(x.dim() <= 2, "t", "expects a tensor of at most 2 dims, got ", describe(x),
           "; use transpose(dim0, dim1)");
  return x.dim() < 2 ? x.view(x.sizes()) : x.transpose(0, 1);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  detail::check_defined("unsqueeze", x);
  const int64_t d = normalize_dim("unsqueeze", dim, x.dim() + 1);
  Shape sizes = x.sizes(), strides = x.strides();
  const int64_t stride = d < x.dim() ? x.size(d) * x.stride(d) : 1;
  sizes.insert(sizes.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view(x, sizes, strides, x.storage_offset(), "UnsqueezeBackward",
                   [d](const Context&, const Tensor& g) -> Grads { return {g.squeeze(d)}; });
}

Tensor squeeze(const Tensor& x) {
  detail::check_defined("squeeze", x);
  Shape sizes, strides;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (x.size(d) == 1) continue;
    sizes.push_back(x.size(d));
    strides.push_back(x.stride(d));
  }
  return make_view(
      x, sizes, strides, x.storage_offset(), "SqueezeBackward",
      [in = x.sizes()](const Context&, const Tensor& g) -> Grads { return {g.reshape(in)}; });
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  detail::check_defined("squeeze", x);
  const int64_t d = normalize_dim("squeeze", dim, x.dim());
  if (x.dim() == 0 || x.size(d) != 1) return x.view(x.sizes());
  Shape sizes = x.sizes(), strides = x.strides();
  sizes.erase(sizes.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view(x, sizes, strides, x.storage_offset(), "SqueezeBackward",
                   [d](const Context&, const Tensor& g) -> Grads { return {g.unsqueeze(d)}; });
}

Tensor expand(const Tensor& x, const Shape& sizes) {
  detail::check_defined("expand", x);
  BG_CHECK(static_cast<int64_t>(sizes.size()) >= x.dim(), "expand", "cannot expand ", describe(x),
           " to fewer dims: ", shape_str(sizes));
  const size_t lead = sizes.size() - x.sizes().size();
  Shape target(sizes.size()), strides(sizes.size(), 0);
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i < lead) {
      BG_CHECK(sizes[i] >= 0, "expand", "size -1 is not allowed for a new leading dim in ",
               shape_str(sizes));
      target[i] = sizes[i];
      continue;
    }
    const int64_t have = x.sizes()[i - lead];
    target[i] = sizes[i] == -1 ? have : sizes[i];
    BG_CHECK(have == target[i] || have == 1, "expand", "cannot expand ", describe(x), " to ",
             shape_str(sizes), " (dim ", i, ": ", have, " to ", target[i], ")");
    if (have == target[i]) strides[i] = x.strides()[i - lead];
  }
  numel_of(target, "expand");  // a view of more than 2^63 - 1 elements cannot be indexed
  return make_view(
      x, target, strides, x.storage_offset(), "ExpandBackward",
      [in = x.sizes()](const Context&, const Tensor& g) -> Grads { return {sum_to(g, in)}; });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  detail::check_defined("slice", x);
  BG_CHECK(x.dim() > 0, "slice", "cannot slice a 0-dim tensor");
  BG_CHECK(step > 0, "slice", "step must be positive, got ", step);
  const int64_t d = normalize_dim("slice", dim, x.dim());
  const int64_t size = x.size(d);
  // Python's rules: negative bounds count from the end, and bounds are clamped to the size.
  auto clamp_bound = [size](int64_t v) {
    return std::clamp<int64_t>(v < 0 ? v + size : v, 0, size);
  };
  const int64_t s = clamp_bound(start), e = std::max(clamp_bound(end), s);
  const int64_t length = (e - s + step - 1) / step;
  const SliceGeometry g = slice_geometry(x, d, s, length, step);
  return make_view(x, g.sizes, g.strides, g.offset, "SliceBackward",
                   [in = x.sizes(), d, s, step](const Context&, const Tensor& grad) -> Grads {
                     return {slice_backward(grad, in, d, s, step)};
                   });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  detail::check_defined("narrow", x);
  BG_CHECK(x.dim() > 0, "narrow", "cannot narrow a 0-dim tensor");
  const int64_t d = normalize_dim("narrow", dim, x.dim());
  const int64_t size = x.size(d);
  const int64_t s = start < 0 ? start + size : start;
  BG_CHECK(s >= 0 && s <= size && length >= 0 && length <= size - s, "narrow", "start ", start,
           " and length ", length, " are out of range for dim ", d, " of size ", size, " of ",
           describe(x));
  return x.slice(d, s, s + length);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  detail::check_defined("select", x);
  BG_CHECK(x.dim() > 0, "select", "cannot select from a 0-dim tensor");
  const int64_t d = normalize_dim("select", dim, x.dim());
  const int64_t size = x.size(d);
  BG_CHECK(index >= -size && index < size, "select", "index ", index, " is out of range for dim ",
           d, " of size ", size, " of ", describe(x));
  const int64_t i = index < 0 ? index + size : index;
  Shape sizes = x.sizes(), strides = x.strides();
  sizes.erase(sizes.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view(x, sizes, strides, x.storage_offset() + i * x.stride(d), "SelectBackward",
                   [in = x.sizes(), d, i](const Context&, const Tensor& g) -> Grads {
                     return {slice_backward(g.unsqueeze(d), in, d, i, 1)};
                   });
}

}  // namespace bg
