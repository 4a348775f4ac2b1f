#include "bg/core/shape.h"

#include <algorithm>
#include <optional>
#include <sstream>

#include "bg/core/error.h"

namespace bg {

namespace {

// product *= factor; false (product unchanged) when the result would not fit in int64.
bool multiply_into(int64_t& product, int64_t factor) {
  int64_t result;
  if (__builtin_mul_overflow(product, factor, &result)) return false;
  product = result;
  return true;
}

// The product of `sizes` with empty dims counted as 1, or nullopt when it does not fit in int64.
// It bounds every stride and partial product computed from the sizes, so that a shape that passes
// this check is safe to compute with.
std::optional<int64_t> extent_of(const Shape& sizes) {
  int64_t product = 1;
  for (int64_t s : sizes) {
    if (!multiply_into(product, std::max<int64_t>(s, 1))) return std::nullopt;
  }
  return product;
}

}  // namespace

int64_t numel_of(const Shape& sizes, const char* op) {
  for (int64_t s : sizes) {
    BG_CHECK(s >= 0, op, "sizes must be non-negative, got ", shape_str(sizes));
  }
  const std::optional<int64_t> extent = extent_of(sizes);
  BG_CHECK(extent.has_value(), op, "the shape ", shape_str(sizes),
           " has too many elements: the product of its sizes (empty dims counted as 1) exceeds "
           "2^63 - 1");
  for (int64_t s : sizes) {
    if (s == 0) return 0;
  }
  return *extent;
}

Shape contiguous_strides(const Shape& sizes, const char* op) {
  numel_of(sizes, op);  // every stride below is at most the checked extent
  Shape strides(sizes.size());
  int64_t stride = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(sizes[i], 1);
  }
  return strides;
}

std::string shape_str(const Shape& sizes) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << ']';
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape_str(shape); }

int64_t normalize_dim(const char* op, int64_t dim, int64_t ndim) {
  // A 0-dim tensor accepts dim 0 and -1, as in PyTorch.
  const int64_t range = std::max<int64_t>(ndim, 1);
  BG_CHECK(dim >= -range && dim < range, op, "dim ", dim, " is out of range for a tensor of ", ndim,
           " dims (expected a dim in [", -range, ", ", range - 1, "])");
  return dim < 0 ? dim + range : dim;
}

Shape normalize_dims(const char* op, const Dims& dims, int64_t ndim) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims.list()) out.push_back(normalize_dim(op, d, ndim));
  std::sort(out.begin(), out.end());
  BG_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, "dim list ",
           shape_str(dims.list()), " repeats a dim");
  // For 0-dim tensors dim 0 names the (absent) single dim: nothing to reduce over.
  if (ndim == 0) out.clear();
  return out;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    BG_CHECK(sa == sb || sa == 1 || sb == 1, op, "shapes ", shape_str(a), " and ", shape_str(b),
             " cannot be broadcast together (dim ", i, ": ", sa, " vs ", sb, ")");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

Shape infer_size(const char* op, const Shape& sizes, int64_t numel) {
  Shape out = sizes;
  int64_t infer_at = -1;
  // The product of the known sizes with empty dims counted as 1 (numel_of's bound), and whether
  // one of them is empty.
  int64_t known = 1;
  bool empty = false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      BG_CHECK(infer_at < 0, op, "only one dim can be -1 in shape ", shape_str(sizes));
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    BG_CHECK(out[i] >= 0, op, "invalid size ", out[i], " in shape ", shape_str(sizes));
    BG_CHECK(multiply_into(known, std::max<int64_t>(out[i], 1)), op, "the shape ", shape_str(sizes),
             " has too many elements: the product of its sizes exceeds 2^63 - 1");
    empty = empty || out[i] == 0;
  }
  if (infer_at >= 0) {
    BG_CHECK(!empty && numel % known == 0, op, "shape ", shape_str(sizes),
             " is invalid for a tensor of ", numel, " elements");
    out[infer_at] = numel / known;
  }
  BG_CHECK(numel_of(out, op) == numel, op, "shape ", shape_str(sizes),
           " is invalid for a tensor of ", numel, " elements");
  return out;
}

}  // namespace bg
