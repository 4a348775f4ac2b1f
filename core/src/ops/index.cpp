// Indexing and joining: index_select, index_add, gather, scatter_add, masked_select, nonzero,
// cat, stack, split, chunk.

#include <algorithm>

#include "bg/core/autograd/node.h"
#include "bg/core/grad_mode.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

namespace {

// Checks that `index` is an int64 tensor whose entries lie in [0, size).
void check_index(const char* op, const Tensor& index, int64_t size, const Tensor& x, int64_t dim) {
  detail::check_defined(op, index, "index");
  BG_CHECK(index.dtype() == kInt64, op, "expected an int64 index, got ", describe(index));
  BG_CHECK(index.device() == x.device(), op, "the index ", describe(index),
           " is not on the device of ", describe(x));
  if (index.numel() == 0) return;
  NoGradGuard no_grad;
  const auto lo = index.min().item<int64_t>(), hi = index.max().item<int64_t>();
  BG_CHECK(lo >= 0 && hi < size, op, "index ", lo < 0 ? lo : hi, " is out of range for dim ", dim,
           " of size ", size, " of ", describe(x));
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  detail::check_defined("index_select", x);
  BG_CHECK(index.defined() && index.dim() <= 1, "index_select", "expected a 1-d index, got ",
           describe(index));
  const int64_t d = normalize_dim("index_select", dim, x.dim());
  const int64_t size = x.dim() == 0 ? 1 : x.size(d);
  check_index("index_select", index, size, x, d);
  const Tensor flat_index = index.reshape({-1});
  if (x.dim() == 0) return x.reshape({1}).index_select(0, flat_index).reshape(index.sizes());
  Shape sizes = x.sizes();
  sizes[d] = flat_index.numel();
  Tensor out = detail::empty_tensor("index_select", sizes, x.dtype(), x.device());
  detail::backend_of(x).index_select(out, x, d, flat_index);
  // The gradient of a picked row is added back at its index (repeated indices accumulate).
  autograd::record(out, "IndexSelectBackward", {x}, {flat_index}, false,
                   [d, in = x.sizes()](const Context& c, const Tensor& g) -> Grads {
                     return {index_add(zeros(in, g.options()), d, c.saved(0), g)};
                   });
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  detail::check_same_device("index_add", x, source);
  BG_CHECK(x.dim() > 0, "index_add", "expected a tensor of at least 1 dim, got ", describe(x));
  const int64_t d = normalize_dim("index_add", dim, x.dim());
  BG_CHECK(index.defined() && index.dim() <= 1, "index_add", "expected a 1-d index, got ",
           describe(index));
  check_index("index_add", index, x.size(d), x, d);
  Shape expected = x.sizes();
  expected[d] = index.numel();
  BG_CHECK(source.sizes() == expected, "index_add", "source ", describe(source),
           " should have shape ", shape_str(expected), " to add into ", describe(x), " along dim ",
           d);
  const Dtype dtype = detail::result_type(x, source);
  Tensor out = detail::empty_tensor("index_add", x.sizes(), dtype, x.device());
  detail::backend_of(x).copy(out, x);
  const Tensor flat_index = index.reshape({-1});
  detail::backend_of(x).index_add(out, d, flat_index, detail::cast(source, dtype));
  autograd::record(out, "IndexAddBackward", {x, source}, {flat_index}, false,
                   [d](const Context& c, const Tensor& g) -> Grads {
                     return {g, c.needs_grad(1) ? g.index_select(d, c.saved(0)) : Tensor()};
                   });
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  detail::check_defined("gather", x);
  detail::check_defined("gather", index, "index");
  BG_CHECK(index.dim() == x.dim(), "gather", "the index ", describe(index),
           " must have as many dims as the input ", describe(x));
  const int64_t d = normalize_dim("gather", dim, x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) {
    BG_CHECK(i == d || index.size(i) <= x.size(i), "gather", "the index ", describe(index),
             " is larger than the input ", describe(x), " in dim ", i);
  }
  check_index("gather", index, x.dim() == 0 ? 1 : x.size(d), x, d);
  Tensor out = detail::empty_tensor("gather", index.sizes(), x.dtype(), x.device());
  detail::backend_of(x).gather(out, x, d, index);
  autograd::record(out, "GatherBackward", {x}, {index}, false,
                   [d, in = x.sizes()](const Context& c, const Tensor& g) -> Grads {
                     return {scatter_add(zeros(in, g.options()), d, c.saved(0), g)};
                   });
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  detail::check_same_device("scatter_add", x, src);
  detail::check_defined("scatter_add", index, "index");
  const int64_t d = normalize_dim("scatter_add", dim, x.dim());
  BG_CHECK(index.dim() == x.dim() && src.sizes() == index.sizes(), "scatter_add", "the index ",
           describe(index), " and src ", describe(src),
           " must have the same shape, with as many dims as ", describe(x));
  for (int64_t i = 0; i < x.dim(); ++i) {
    BG_CHECK(i == d || index.size(i) <= x.size(i), "scatter_add", "the index ", describe(index),
             " is larger than ", describe(x), " in dim ", i);
  }
  check_index("scatter_add", index, x.dim() == 0 ? 1 : x.size(d), x, d);
  const Dtype dtype = detail::result_type(x, src);
  Tensor out = detail::empty_tensor("scatter_add", x.sizes(), dtype, x.device());
  detail::backend_of(x).copy(out, x);
  detail::backend_of(x).scatter_add(out, d, index, detail::cast(src, dtype));
  autograd::record(out, "ScatterAddBackward", {x, src}, {index}, false,
                   [d](const Context& c, const Tensor& g) -> Grads {
                     return {g, c.needs_grad(1) ? g.gather(d, c.saved(0)) : Tensor()};
                   });
  return out;
}

Tensor nonzero(const Tensor& x) {
  detail::check_defined("nonzero", x);
  // The count is data dependent, so the positions are found on the host.
  const Tensor host = (x != 0).cpu().contiguous();
  const bool* flags = host.data_ptr<bool>();
  std::vector<int64_t> coords;
  const Shape strides = contiguous_strides(x.sizes());
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (!flags[i]) continue;
    for (size_t d = 0; d < strides.size(); ++d) coords.push_back(i / strides[d] % x.sizes()[d]);
  }
  const auto count = static_cast<int64_t>(coords.size() / std::max<size_t>(strides.size(), 1));
  const auto ndim = static_cast<int64_t>(strides.size());
  return tensor(coords, {ndim == 0 ? (host.numel() > 0 && flags[0] ? 1 : 0) : count, ndim},
                TensorOptions().device(x.device()));
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  detail::check_same_device("masked_select", x, mask);
  BG_CHECK(mask.dtype() == kBool, "masked_select", "the mask must be a bool tensor, got ",
           describe(mask));
  const Shape shape = broadcast_shapes("masked_select", x.sizes(), mask.sizes());
  const Tensor positions = nonzero(detail::broadcast_to(mask, shape).reshape({-1})).reshape({-1});
  // Differentiable through expand, reshape and index_select.
  return x.expand(shape).reshape({-1}).index_select(0, positions);
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  BG_CHECK(!tensors.empty(), "cat", "expected a non-empty list of tensors");
  const Tensor& first = tensors.front();
  detail::check_defined("cat", first, "tensor 0");
  const int64_t d = normalize_dim("cat", dim, first.dim());
  BG_CHECK(first.dim() > 0, "cat", "cannot concatenate 0-dim tensors; use stack()");
  Dtype dtype = first.dtype();
  Shape sizes = first.sizes();
  sizes[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    detail::check_same_device("cat", first, t);
    bool compatible = t.dim() == first.dim();
    for (int64_t k = 0; compatible && k < t.dim(); ++k)
      compatible = k == d || t.size(k) == first.size(k);
    BG_CHECK(compatible, "cat", "tensor ", i, " ", describe(t), " does not match tensor 0 ",
             describe(first), " outside dim ", d);
    sizes[d] += t.size(d);
    dtype = promote_types(dtype, t.dtype());
  }
  Tensor out = detail::empty_tensor("cat", sizes, dtype, first.device());
  std::vector<int64_t> lengths;
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    Shape part_sizes = sizes;
    part_sizes[d] = t.size(d);
    const Tensor part = detail::alias(out, part_sizes, out.strides(), offset * out.stride(d));
    detail::backend_of(out).copy(part, t);
    lengths.push_back(t.size(d));
    offset += t.size(d);
  }
  autograd::record(out, "CatBackward", std::span<const Tensor>(tensors), {}, false,
                   [d, lengths](const Context&, const Tensor& g) -> Grads {
                     Grads grads;
                     int64_t start = 0;
                     for (int64_t length : lengths) {
                       grads.push_back(g.narrow(d, start, length));
                       start += length;
                     }
                     return grads;
                   });
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  BG_CHECK(!tensors.empty(), "stack", "expected a non-empty list of tensors");
  detail::check_defined("stack", tensors.front(), "tensor 0");
  const int64_t d = normalize_dim("stack", dim, tensors.front().dim() + 1);
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    detail::check_defined("stack", tensors[i], "a tensor in the list");
    BG_CHECK(tensors[i].sizes() == tensors.front().sizes(), "stack", "tensor ", i, " ",
             describe(tensors[i]), " does not have the shape of tensor 0 ",
             describe(tensors.front()));
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  detail::check_defined("split", x);
  BG_CHECK(x.dim() > 0, "split", "cannot split a 0-dim tensor");
  BG_CHECK(split_size > 0, "split", "split_size must be positive, got ", split_size);
  const int64_t d = normalize_dim("split", dim, x.dim());
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < x.size(d); start += split_size) {
    parts.push_back(x.narrow(d, start, std::min(split_size, x.size(d) - start)));
  }
  if (parts.empty()) parts.push_back(x.narrow(d, 0, 0));
  return parts;
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes,
                                     int64_t dim) {
  detail::check_defined("split_with_sizes", x);
  BG_CHECK(x.dim() > 0, "split_with_sizes", "cannot split a 0-dim tensor");
  const int64_t d = normalize_dim("split_with_sizes", dim, x.dim());
  const Shape sizes(split_sizes.begin(), split_sizes.end());  // for messages
  int64_t total = 0;
  for (int64_t size : split_sizes) {
    BG_CHECK(size >= 0, "split_with_sizes", "split sizes must be non-negative, got ",
             shape_str(sizes));
    total += size;
  }
  BG_CHECK(total == x.size(d), "split_with_sizes", "the split sizes ", shape_str(sizes),
           " add up to ", total, ", but dim ", d, " of ", describe(x), " has size ", x.size(d));
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t size : split_sizes) {
    parts.push_back(x.narrow(d, start, size));
    start += size;
  }
  return parts;
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  detail::check_defined("unbind", x);
  BG_CHECK(x.dim() > 0, "unbind", "cannot unbind a 0-dim tensor");
  const int64_t d = normalize_dim("unbind", dim, x.dim());
  std::vector<Tensor> slices;
  for (int64_t i = 0; i < x.size(d); ++i) slices.push_back(x.select(d, i));
  return slices;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  detail::check_defined("chunk", x);
  BG_CHECK(chunks > 0, "chunk", "chunks must be positive, got ", chunks);
  BG_CHECK(x.dim() > 0, "chunk", "cannot chunk a 0-dim tensor");
  const int64_t d = normalize_dim("chunk", dim, x.dim());
  const int64_t size = x.size(d);
  // An empty dim gives `chunks` empty chunks, as in PyTorch.
  if (size == 0) return std::vector<Tensor>(static_cast<size_t>(chunks), x.narrow(d, 0, 0));
  return split(x, (size + chunks - 1) / chunks, dim);
}

}  // namespace bg
