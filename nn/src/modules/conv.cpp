#include "bg/nn/modules/conv.h"

#include <cmath>
#include <string>

#include "bg/nn/functional.h"
#include "bg/nn/init.h"
#include "python_repr.h"

namespace bg::nn {

namespace {

std::string tuple(Size2 s) { return detail::python_tuple({s.h, s.w}); }
std::string tuple(int64_t v) { return detail::python_tuple({v}); }

// Checks the channel counts and the kernel of a convolution layer.
void check_options(const char* layer, int64_t in_channels, int64_t out_channels, int64_t groups,
                   bool kernel_positive, const std::string& kernel) {
  BG_CHECK(in_channels > 0 && out_channels > 0, layer,
           "in_channels and out_channels must be positive, got ", in_channels, " and ",
           out_channels);
  BG_CHECK(groups > 0, layer, "groups must be positive, got ", groups);
  BG_CHECK(in_channels % groups == 0 && out_channels % groups == 0, layer,
           "in_channels = ", in_channels, " and out_channels = ", out_channels,
           " must be divisible by groups = ", groups);
  BG_CHECK(kernel_positive, layer, "the kernel size must be positive, got ", kernel);
}

// PyTorch's default initialization of a convolution: kaiming_uniform_ with a = sqrt(5) for the
// weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias, fan_in from the weight's shape.
void reset_conv_parameters(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fan_in = static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first);
    init::uniform_(bias, -1.0 / std::sqrt(fan_in), 1.0 / std::sqrt(fan_in));
  }
}

// Checks that `input` is `layout` ([N, C, spatial...] or unbatched) with `channels` channels.
void check_input(const char* layer, const Tensor& input, int64_t spatial, int64_t channels,
                 const char* layout) {
  const bool fits = input.defined() && (input.dim() == spatial + 1 || input.dim() == spatial + 2) &&
                    input.size(-spatial - 1) == channels;
  BG_CHECK(fits, layer, "expected an input ", layout, " with ", channels,
           " channels (in_channels), got ", describe(input));
}

// PyTorch's repr of a convolution: channels, kernel and stride, then the options that differ
// from their defaults.
struct ConvRepr {
  std::string kernel, stride, padding, dilation, output_padding;
  bool padded, dilated, output_padded;
  int64_t groups;
  bool bias;
};
void print_conv(std::ostream& out, const std::string& name, int64_t in, int64_t out_channels,
                const ConvRepr& r) {
  out << name << "(" << in << ", " << out_channels << ", kernel_size=" << r.kernel
      << ", stride=" << r.stride;
  if (r.padded) out << ", padding=" << r.padding;
  if (r.dilated) out << ", dilation=" << r.dilation;
  if (r.output_padded) out << ", output_padding=" << r.output_padding;
  if (r.groups != 1) out << ", groups=" << r.groups;
  if (!r.bias) out << ", bias=" << detail::python_bool(false);
  out << ")";
}

bool is(Size2 s, int64_t v) { return s.h == v && s.w == v; }

}  // namespace

// ---- Conv2d -------------------------------------------------------------------------------------

Conv2dImpl::Conv2dImpl(const Conv2dOptions& options_) : Module("Conv2d"), options(options_) {
  const Size2 k = options.kernel_size();
  check_options("Conv2d", options.in_channels(), options.out_channels(), options.groups(),
                k.h > 0 && k.w > 0, tuple(k));
  weight = register_parameter(
      "weight",
      empty({options.out_channels(), options.in_channels() / options.groups(), k.h, k.w}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_channels()}));
  reset_parameters();
}

void Conv2dImpl::reset_parameters() { reset_conv_parameters(weight, bias); }

Tensor Conv2dImpl::forward(const Tensor& input) {
  check_input("Conv2d", input, 2, options.in_channels(), "[N, C_in, H, W] or [C_in, H, W]");
  return functional::conv2d(input, weight, bias, options.stride(), options.padding(),
                            options.dilation(), options.groups());
}

void Conv2dImpl::pretty_print(std::ostream& out) const {
  print_conv(out, "Conv2d", options.in_channels(), options.out_channels(),
             {tuple(options.kernel_size()), tuple(options.stride()), tuple(options.padding()),
              tuple(options.dilation()), "", !is(options.padding(), 0), !is(options.dilation(), 1),
              false, options.groups(), options.bias()});
}

// ---- Conv1d -------------------------------------------------------------------------------------

Conv1dImpl::Conv1dImpl(const Conv1dOptions& options_) : Module("Conv1d"), options(options_) {
  check_options("Conv1d", options.in_channels(), options.out_channels(), options.groups(),
                options.kernel_size() > 0, tuple(options.kernel_size()));
  weight = register_parameter(
      "weight", empty({options.out_channels(), options.in_channels() / options.groups(),
                       options.kernel_size()}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_channels()}));
  reset_parameters();
}

void Conv1dImpl::reset_parameters() { reset_conv_parameters(weight, bias); }

Tensor Conv1dImpl::forward(const Tensor& input) {
  check_input("Conv1d", input, 1, options.in_channels(), "[N, C_in, L] or [C_in, L]");
  return functional::conv1d(input, weight, bias, options.stride(), options.padding(),
                            options.dilation(), options.groups());
}

void Conv1dImpl::pretty_print(std::ostream& out) const {
  print_conv(out, "Conv1d", options.in_channels(), options.out_channels(),
             {tuple(options.kernel_size()), tuple(options.stride()), tuple(options.padding()),
              tuple(options.dilation()), "", options.padding() != 0, options.dilation() != 1, false,
              options.groups(), options.bias()});
}

// ---- ConvTranspose2d ----------------------------------------------------------------------------

ConvTranspose2dImpl::ConvTranspose2dImpl(const ConvTranspose2dOptions& options_)
    : Module("ConvTranspose2d"), options(options_) {
  const Size2 k = options.kernel_size();
  check_options("ConvTranspose2d", options.in_channels(), options.out_channels(), options.groups(),
                k.h > 0 && k.w > 0, tuple(k));
  weight = register_parameter(
      "weight",
      empty({options.in_channels(), options.out_channels() / options.groups(), k.h, k.w}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_channels()}));
  reset_parameters();
}

void ConvTranspose2dImpl::reset_parameters() { reset_conv_parameters(weight, bias); }

Tensor ConvTranspose2dImpl::forward(const Tensor& input) {
  check_input("ConvTranspose2d", input, 2, options.in_channels(),
              "[N, C_in, H, W] or [C_in, H, W]");
  return functional::conv_transpose2d(input, weight, bias, options.stride(), options.padding(),
                                      options.output_padding(), options.groups(),
                                      options.dilation());
}

void ConvTranspose2dImpl::pretty_print(std::ostream& out) const {
  print_conv(out, "ConvTranspose2d", options.in_channels(), options.out_channels(),
             {tuple(options.kernel_size()), tuple(options.stride()), tuple(options.padding()),
              tuple(options.dilation()), tuple(options.output_padding()), !is(options.padding(), 0),
              !is(options.dilation(), 1), !is(options.output_padding(), 0), options.groups(),
              options.bias()});
}

}  // namespace bg::nn
