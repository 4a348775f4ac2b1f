#pragma once
// Embedding: a lookup table of learned vectors.

#include <optional>

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  BG_ARG(int64_t, num_embeddings);
  BG_ARG(int64_t, embedding_dim);
  /// A row that starts at zero and receives no gradient (negative counts from the end).
  BG_ARG(std::optional<int64_t>, padding_idx);
};

/// Maps int64 indices [...] to rows of weight [num_embeddings, embedding_dim]: [..., dim]. The
/// weight starts from N(0, 1), with the padding row zeroed, as in PyTorch.
class EmbeddingImpl : public Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingImpl(const EmbeddingOptions& options);

  /// Draws the weight again from N(0, 1) and zeroes the padding row.
  void reset_parameters();
  Tensor forward(const Tensor& indices);
  void pretty_print(std::ostream& out) const override;

  /// The options, with padding_idx made non-negative.
  EmbeddingOptions options;
  Tensor weight;
};
BG_MODULE(Embedding);

}  // namespace bg::nn

BG_API_END
