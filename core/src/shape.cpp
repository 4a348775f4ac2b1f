#include "bg/core/shape.h"

#include <algorithm>
#include <sstream>

#include "bg/core/error.h"

namespace bg {

int64_t numel_of(const Shape& sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

Shape contiguous_strides(const Shape& sizes) {
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

std::vector<int64_t> normalize_dims(const char* op, const Dims& dims, int64_t ndim) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims.vec()) out.push_back(normalize_dim(op, d, ndim));
  std::sort(out.begin(), out.end());
  BG_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, "dim list ",
           shape_str(Shape(dims.vec().begin(), dims.vec().end())), " repeats a dim");
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
  int64_t known = 1;
  int64_t infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      BG_CHECK(infer_at < 0, op, "only one dim can be -1 in shape ", shape_str(sizes));
      infer_at = static_cast<int64_t>(i);
    } else {
      BG_CHECK(out[i] >= 0, op, "invalid size ", out[i], " in shape ", shape_str(sizes));
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    BG_CHECK(known != 0 && numel % known == 0, op, "shape ", shape_str(sizes),
             " is invalid for a tensor of ", numel, " elements");
    out[infer_at] = numel / known;
  }
  BG_CHECK(numel_of(out) == numel, op, "shape ", shape_str(sizes), " is invalid for a tensor of ",
           numel, " elements");
  return out;
}

}  // namespace bg
