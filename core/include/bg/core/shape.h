#pragma once
// Shapes, strides and dims: the arithmetic behind views and broadcasting.

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/small_vector.h"

BG_API_BEGIN

namespace bg {

/// Sizes or strides of a tensor, outermost dimension first. Strides count elements, not bytes.
/// Up to 6 dims live inline (no heap allocation); the API is std::vector's.
using Shape = SmallVector<int64_t, 6>;

/// Prints "[2, 3]" (shape_str).
std::ostream& operator<<(std::ostream& out, const Shape& shape);

/// A list of dimensions for reductions: `x.sum(1)`, `x.sum({0, 2})`. Negative dims count from the
/// end.
class Dims {
 public:
  Dims() = default;
  Dims(int64_t dim) : dims_{dim} {}  // NOLINT: a single dim converts implicitly
  Dims(int dim) : dims_{dim} {}      // NOLINT
  Dims(std::initializer_list<int64_t> dims) : dims_(dims) {}
  Dims(const std::vector<int64_t>& dims) : dims_(dims.begin(), dims.end()) {}  // NOLINT
  Dims(const Shape& dims) : dims_(dims) {}                                     // NOLINT
  /// The dims as given (held inline, like a Shape: no memory allocation).
  const Shape& list() const { return dims_; }
  bool empty() const { return dims_.empty(); }
  size_t size() const { return dims_.size(); }

 private:
  Shape dims_;
};

/// Product of the sizes (1 for a 0-dim shape). Throws naming `op` and the shape when a size is
/// negative or when the sizes, empty dims counted as 1, multiply past 2^63 - 1: a shape that passes
/// has an element count, strides and partial products that all fit in int64.
int64_t numel_of(const Shape& sizes, const char* op = "numel");

/// Row-major strides for `sizes`; throws naming `op` as numel_of does.
Shape contiguous_strides(const Shape& sizes, const char* op = "strides");

/// "[2, 3]".
std::string shape_str(const Shape& sizes);

/// Maps a possibly negative `dim` into [0, ndim); throws naming `op` when out of range.
int64_t normalize_dim(const char* op, int64_t dim, int64_t ndim);

/// The same for a list of dims; also rejects repeated dims. Returns them sorted ascending. An empty
/// list means every dim.
Shape normalize_dims(const char* op, const Dims& dims, int64_t ndim);

/// The numpy broadcast of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// `sizes` with -1 replaced so the product equals `numel`; throws naming `op` on mismatch.
Shape infer_size(const char* op, const Shape& sizes, int64_t numel);

}  // namespace bg

BG_API_END
