// Indexing kernels on the CPU: index_select, index_add, gather, scatter_add.
// Indices were checked against the sizes by the frontend.

#include <cstring>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"
#include "ops/op_utils.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

Tensor contiguous_copy(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor copy = detail::empty_tensor("index", t.sizes(), t.dtype(), t.device());
  backend(DeviceType::CPU).copy(copy, t);
  return copy;
}

// Sizes of the dims before `dim` and after it, multiplied out.
std::pair<int64_t, int64_t> outer_inner(const Shape& sizes, int64_t dim) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d) {
    if (d < dim) outer *= sizes[d];
    if (d > dim) inner *= sizes[d];
  }
  return {outer, inner};
}

// `t` seen with index's sizes and stride 0 along `dim`: element p is t[p with p[dim] = 0], so
// adding index[p] * t.stride(dim) reaches t[p with p[dim] = index[p]].
Tensor pinned_along(const Tensor& t, const Tensor& index, int64_t dim) {
  Shape strides = t.strides();
  strides[dim] = 0;
  return detail::alias(t, index.sizes(), strides, t.storage_offset());
}

}  // namespace

void CpuBackend::index_select(const Tensor& out, const Tensor& in, int64_t dim,
                              const Tensor& index) {
  const Tensor src = contiguous_copy(in);
  const Tensor idx = contiguous_copy(index);
  const int64_t* ids = idx.data_ptr<int64_t>();
  const auto [outer, inner] = outer_inner(in.sizes(), dim);
  const int64_t n = idx.numel(), D = in.size(dim);
  const auto row_bytes = static_cast<size_t>(inner) * element_size(in.dtype());
  const char* from = static_cast<const char*>(src.impl()->data());
  char* to = static_cast<char*>(out.impl()->data());
  parallel_for(outer * n, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t row = begin; row < end; ++row) {
                   const int64_t o = row / n, i = row % n;
                   std::memcpy(to + row * row_bytes, from + (o * D + ids[i]) * row_bytes,
                               row_bytes);
                 }
               });
}

void CpuBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  const Tensor s = contiguous_copy(src);
  const Tensor idx = contiguous_copy(index);
  const int64_t* ids = idx.data_ptr<int64_t>();
  // Not a structured binding: the lambdas below capture these, which clang < 16 cannot do with
  // bindings (scripts/test's sanitizer and fuzzer build uses clang 14).
  const std::pair<int64_t, int64_t> split = outer_inner(out.sizes(), dim);
  const int64_t outer = split.first, inner = split.second;
  const int64_t n = idx.numel(), D = out.size(dim);
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* dst = static_cast<T*>(out.impl()->data());
    const T* from = static_cast<const T*>(s.impl()->data());
    // Tasks own disjoint (outer, column-chunk) pieces of the output and walk the indices in order,
    // so repeated indices add up in the same order on any number of threads.
    constexpr int64_t kColumns = 4096;
    const int64_t chunks = (inner + kColumns - 1) / kColumns;
    parallel_for(outer * chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task) {
        const int64_t o = task / chunks, c0 = (task % chunks) * kColumns;
        const int64_t width = std::min(kColumns, inner - c0);
        for (int64_t i = 0; i < n; ++i) {
          T* row = dst + (o * D + ids[i]) * inner + c0;
          const T* add = from + (o * n + i) * inner + c0;
          for (int64_t c = 0; c < width; ++c) row[c] = static_cast<T>(row[c] + add[c]);
        }
      }
    });
  });
}

void CpuBackend::gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) {
  const Tensor pinned = pinned_along(in, index, dim);
  const int64_t step = in.stride(dim) * static_cast<int64_t>(element_size(in.dtype()));
  dispatch_all(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<3> loop({&out, &index, &pinned});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        for (int64_t i = 0; i < n; ++i) {
          const int64_t id = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
          *reinterpret_cast<T*>(p[0] + i * s[0]) =
              *reinterpret_cast<const T*>(p[2] + i * s[2] + id * step);
        }
      });
    });
  });
}

void CpuBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                             const Tensor& src) {
  const Tensor pinned = pinned_along(out, index, dim);
  const int64_t step = out.stride(dim) * static_cast<int64_t>(element_size(out.dtype()));
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<3> loop({&pinned, &index, &src});
    // Sequential: several elements may add into one place, and the order must not vary.
    loop.run(0, loop.numel(), [&](char* const* p, int64_t n, const int64_t* s) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t id = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
        T& target = *reinterpret_cast<T*>(p[0] + i * s[0] + id * step);
        target = static_cast<T>(target + *reinterpret_cast<const T*>(p[2] + i * s[2]));
      }
    });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
