#include "bg/nn/modules/flatten.h"

#include "python_repr.h"

namespace bg::nn {

FlattenImpl::FlattenImpl(const FlattenOptions& options_) : Module("Flatten"), options(options_) {}

Tensor FlattenImpl::forward(const Tensor& input) {
  BG_CHECK(input.defined(), "Flatten", "the input is undefined");
  return input.flatten(options.start_dim(), options.end_dim());
}

void FlattenImpl::pretty_print(std::ostream& out) const {
  out << "Flatten(start_dim=" << options.start_dim() << ", end_dim=" << options.end_dim() << ")";
}

UnflattenImpl::UnflattenImpl(const UnflattenOptions& options_)
    : Module("Unflatten"), options(options_) {
  BG_CHECK(!options.unflattened_size().empty(), "Unflatten", "unflattened_size must not be empty");
}

Tensor UnflattenImpl::forward(const Tensor& input) {
  BG_CHECK(input.defined(), "Unflatten", "the input is undefined");
  return input.unflatten(options.dim(), options.unflattened_size());
}

void UnflattenImpl::pretty_print(std::ostream& out) const {
  out << "Unflatten(dim=" << options.dim()
      << ", unflattened_size=" << detail::python_tuple(options.unflattened_size()) << ")";
}

}  // namespace bg::nn
