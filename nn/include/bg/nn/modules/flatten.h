#pragma once
// Flatten and Unflatten: reshape layers.

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

struct FlattenOptions {
  BG_ARG(int64_t, start_dim) = 1;
  BG_ARG(int64_t, end_dim) = -1;
};

/// Merges dims start_dim..end_dim into one (by default every dim but the batch dim).
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  FlattenOptions options;
};
BG_MODULE(Flatten);

struct UnflattenOptions {
  UnflattenOptions(int64_t dim, Shape unflattened_size)
      : dim_(dim), unflattened_size_(std::move(unflattened_size)) {}
  BG_ARG(int64_t, dim);
  /// The sizes dim is split into; one of them may be -1 (inferred).
  BG_ARG(Shape, unflattened_size);
};

/// Splits dim `dim` into `unflattened_size`.
class UnflattenImpl : public Module {
 public:
  UnflattenImpl(int64_t dim, Shape unflattened_size)
      : UnflattenImpl(UnflattenOptions(dim, std::move(unflattened_size))) {}
  explicit UnflattenImpl(const UnflattenOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  UnflattenOptions options;
};
BG_MODULE(Unflatten);

}  // namespace bg::nn

BG_API_END
