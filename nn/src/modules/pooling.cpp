#include "bg/nn/modules/pooling.h"

#include <string>

#include "bg/nn/functional.h"
#include "python_repr.h"

namespace bg::nn {

namespace {

// A pair as PyTorch prints a pooling option built from one number ("2") or from two ("(2, 3)").
std::string pair(Size2 s) {
  return s.h == s.w ? std::to_string(s.h) : detail::python_tuple({s.h, s.w});
}

// Checks that `input` is [N, C, spatial...] or unbatched.
void check_input(const char* layer, const Tensor& input, int64_t spatial, const char* layout) {
  BG_CHECK(input.defined() && (input.dim() == spatial + 1 || input.dim() == spatial + 2), layer,
           "expected an input ", layout, ", got ", describe(input));
}

constexpr const char* kImage = "[N, C, H, W] or [C, H, W]";
constexpr const char* kSignal = "[N, C, L] or [C, L]";

}  // namespace

MaxPool2dImpl::MaxPool2dImpl(const MaxPool2dOptions& options_)
    : Module("MaxPool2d"), options(options_) {}

Tensor MaxPool2dImpl::forward(const Tensor& input) {
  check_input("MaxPool2d", input, 2, kImage);
  return functional::max_pool2d(input, options.kernel_size(), options.stride(), options.padding(),
                                options.dilation(), options.ceil_mode());
}

void MaxPool2dImpl::pretty_print(std::ostream& out) const {
  out << "MaxPool2d(kernel_size=" << pair(options.kernel_size())
      << ", stride=" << pair(options.stride()) << ", padding=" << pair(options.padding())
      << ", dilation=" << pair(options.dilation())
      << ", ceil_mode=" << detail::python_bool(options.ceil_mode()) << ")";
}

MaxPool1dImpl::MaxPool1dImpl(const MaxPool1dOptions& options_)
    : Module("MaxPool1d"), options(options_) {}

Tensor MaxPool1dImpl::forward(const Tensor& input) {
  check_input("MaxPool1d", input, 1, kSignal);
  return functional::max_pool1d(input, options.kernel_size(), options.stride(), options.padding(),
                                options.dilation(), options.ceil_mode());
}

void MaxPool1dImpl::pretty_print(std::ostream& out) const {
  out << "MaxPool1d(kernel_size=" << options.kernel_size() << ", stride=" << options.stride()
      << ", padding=" << options.padding() << ", dilation=" << options.dilation()
      << ", ceil_mode=" << detail::python_bool(options.ceil_mode()) << ")";
}

AvgPool2dImpl::AvgPool2dImpl(const AvgPool2dOptions& options_)
    : Module("AvgPool2d"), options(options_) {}

Tensor AvgPool2dImpl::forward(const Tensor& input) {
  check_input("AvgPool2d", input, 2, kImage);
  return functional::avg_pool2d(input, options.kernel_size(), options.stride(), options.padding(),
                                options.ceil_mode(), options.count_include_pad());
}

void AvgPool2dImpl::pretty_print(std::ostream& out) const {
  out << "AvgPool2d(kernel_size=" << pair(options.kernel_size())
      << ", stride=" << pair(options.stride()) << ", padding=" << pair(options.padding()) << ")";
}

AvgPool1dImpl::AvgPool1dImpl(const AvgPool1dOptions& options_)
    : Module("AvgPool1d"), options(options_) {}

Tensor AvgPool1dImpl::forward(const Tensor& input) {
  check_input("AvgPool1d", input, 1, kSignal);
  return functional::avg_pool1d(input, options.kernel_size(), options.stride(), options.padding(),
                                options.ceil_mode(), options.count_include_pad());
}

void AvgPool1dImpl::pretty_print(std::ostream& out) const {
  // PyTorch's AvgPool1d keeps its sizes as 1-tuples.
  out << "AvgPool1d(kernel_size=" << detail::python_tuple({options.kernel_size()})
      << ", stride=" << detail::python_tuple({options.stride()})
      << ", padding=" << detail::python_tuple({options.padding()}) << ")";
}

AdaptiveAvgPool2dImpl::AdaptiveAvgPool2dImpl(const AdaptiveAvgPool2dOptions& options_)
    : Module("AdaptiveAvgPool2d"), options(options_) {}

Tensor AdaptiveAvgPool2dImpl::forward(const Tensor& input) {
  check_input("AdaptiveAvgPool2d", input, 2, kImage);
  return functional::adaptive_avg_pool2d(input, options.output_size());
}

void AdaptiveAvgPool2dImpl::pretty_print(std::ostream& out) const {
  out << "AdaptiveAvgPool2d(output_size=" << pair(options.output_size()) << ")";
}

}  // namespace bg::nn
