#pragma once
// Helpers shared by the sources of nn::functional.

#include <optional>

#include "bg/core.h"

namespace bg::nn::detail {

/// The first element (row-major) of the int64 tensor `indices` outside [0, size), not counting
/// elements equal to `ignore`; nullopt when every index is valid.
inline std::optional<int64_t> first_out_of_range(const Tensor& indices, int64_t size,
                                                 std::optional<int64_t> ignore = std::nullopt) {
  Tensor bad = logical_or(indices < 0, indices >= size);
  if (ignore) bad = logical_and(bad, indices != *ignore);
  const Tensor found = masked_select(indices, bad);
  if (found.numel() == 0) return std::nullopt;
  return found[0].item<int64_t>();
}

/// The sizes of `t` (at least 1-d) without its last dim.
inline Shape leading_sizes(const Tensor& t) {
  return Shape(t.sizes().begin(), t.sizes().end() - 1);
}

/// [1, C, 1, ...] for an input of `ndim` dims with `channels` in dim 1: the shape that makes
/// per-channel values broadcast against the input.
inline Shape channel_shape(int64_t ndim, int64_t channels) {
  Shape sizes(static_cast<size_t>(ndim), 1);
  sizes[1] = channels;
  return sizes;
}

}  // namespace bg::nn::detail
