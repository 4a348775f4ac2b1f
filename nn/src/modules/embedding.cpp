#include "bg/nn/modules/embedding.h"

#include "bg/nn/functional.h"
#include "bg/nn/init.h"

namespace bg::nn {

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& options_)
    : Module("Embedding"), options(options_) {
  const int64_t rows = options.num_embeddings(), dim = options.embedding_dim();
  BG_CHECK(rows > 0 && dim > 0, "Embedding",
           "num_embeddings and embedding_dim must be positive, got ", rows, " and ", dim);
  if (const auto pad = options.padding_idx()) {
    BG_CHECK(*pad >= -rows && *pad < rows, "Embedding", "padding_idx ", *pad,
             " is out of range for ", rows, " embeddings");
    options.padding_idx(*pad < 0 ? *pad + rows : *pad);
  }
  weight = register_parameter("weight", empty({rows, dim}));
  reset_parameters();
}

void EmbeddingImpl::reset_parameters() {
  init::normal_(weight);
  if (const auto pad = options.padding_idx()) {
    NoGradGuard no_grad;
    weight[*pad].zero_();
  }
}

Tensor EmbeddingImpl::forward(const Tensor& indices) {
  return functional::embedding(indices, weight, options.padding_idx());
}

void EmbeddingImpl::pretty_print(std::ostream& out) const {
  out << "Embedding(" << options.num_embeddings() << ", " << options.embedding_dim();
  if (const auto pad = options.padding_idx()) out << ", padding_idx=" << *pad;
  out << ")";
}

}  // namespace bg::nn
