#include "parametrized_ops.h"

#include "bg/core/tensor_impl.h"
#include "bg/nn/parametrize.h"

namespace bg::nn::detail {

namespace {

using Kind = OperandForm::Kind;

// A weight or bias with the form its parametrization asks for (Value for plain tensors).
struct Operand {
  OperandForm form;
  Tensor tensor;
  Kind kind() const { return form.kind; }
};

Operand operand_of(const Tensor& tensor) {
  if (std::shared_ptr<Parametrization> p = utils::parametrization_of(tensor)) {
    return {p->operand_form(), tensor};
  }
  return {{}, tensor};
}

// sqrt(v) for v >= 0, with a gradient of 0 instead of infinity at v = 0: an input row (or a
// convolution window) of zeros has an output variance of exactly 0.
Tensor safe_sqrt(const Tensor& v) {
  const Tensor positive = v > 0;
  return where(positive, where(positive, v, 1.0).sqrt(), 0.0);
}

// -1 or +1 with probability 1/2 each.
Tensor random_signs(const Shape& sizes, const TensorOptions& options) {
  return randint(0, 2, sizes, options) * 2 - 1;
}

// What linear and the convolutions differ in.
struct WeightedOp {
  // The op without its bias.
  std::function<Tensor(const Tensor& input, const Tensor& weight)> apply;
  // The shape of one value per example and channel, broadcasting against `t` (the input or the
  // output): linear takes every row as an example and the last dim as channels ([..., C]);
  // a convolution the batch dim and dim 1 ([N, C, 1, ...]).
  std::function<Shape(const Tensor& t)> per_example_channel;
  // The shape of the bias [C] that broadcasts against the output.
  std::function<Shape(int64_t channels, int64_t output_dims)> bias_view;
};

Tensor evaluate(const WeightedOp& op, const Tensor& input, const Operand& weight,
                const Operand& bias) {
  Tensor out, output_signs;
  switch (weight.kind()) {
    case Kind::Value:
      out = op.apply(input, weight.tensor);
      break;
    case Kind::LocalReparameterization: {
      // Each output is a sum of independent Gaussians: N(op(x, mean), op(x^2, stddev^2)).
      const Tensor mean = op.apply(input, weight.form.mean);
      const Tensor variance = op.apply(input * input, weight.form.stddev * weight.form.stddev);
      out = mean + safe_sqrt(variance) * randn_like(mean);
      break;
    }
    case Kind::Flipout: {
      // op(x, mean) + op(x * r_in, stddev * noise) * r_out: example n sees the perturbation
      // (stddev * noise) * r_out[n] r_in[n]^T, a draw of the same distribution as stddev * noise.
      const Tensor mean = op.apply(input, weight.form.mean);
      const Tensor input_signs = random_signs(op.per_example_channel(input), input.options());
      output_signs = random_signs(op.per_example_channel(mean), mean.options());
      out = mean +
            op.apply(input * input_signs, weight.form.stddev * weight.form.noise) * output_signs;
      break;
    }
  }
  if (!bias.tensor.defined()) return out;
  // The bias's size, read without computing it (reading a parametrized tensor computes it).
  const Shape view = op.bias_view(bias.tensor.impl()->numel(), out.dim());
  switch (bias.kind()) {
    case Kind::Value:
      return out + bias.tensor.view(view);
    case Kind::LocalReparameterization:
      return out + bias.form.mean.view(view) +
             bias.form.stddev.view(view) * randn(op.per_example_channel(out), out.options());
    case Kind::Flipout:
      if (!output_signs.defined()) {
        output_signs = random_signs(op.per_example_channel(out), out.options());
      }
      return out + bias.form.mean.view(view) +
             (bias.form.stddev * bias.form.noise).view(view) * output_signs;
  }
  return out;
}

}  // namespace

Tensor linear_with_operand_forms(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  const Operand w = operand_of(weight), b = operand_of(bias);
  if (w.kind() == Kind::Value && b.kind() == Kind::Value) return {};
  const WeightedOp op{
      [](const Tensor& x, const Tensor& m) { return x.matmul(m.t()); },
      [](const Tensor& t) { return t.sizes(); },
      [](int64_t channels, int64_t) { return Shape{channels}; },
  };
  return evaluate(op, input, w, b);
}

Tensor convolution_with_operand_forms(const Convolution& convolution, const Tensor& input,
                                      const Tensor& weight, const Tensor& bias) {
  const Operand w = operand_of(weight), b = operand_of(bias);
  if (w.kind() == Kind::Value && b.kind() == Kind::Value) return {};
  // An input without its batch dim ([C, H, W]) is one example.
  const int64_t spatial = static_cast<int64_t>(weight.impl()->sizes().size()) - 2;
  if (input.dim() == spatial + 1) {
    return convolution_with_operand_forms(convolution, input.unsqueeze(0), weight, bias).squeeze(0);
  }
  const WeightedOp op{
      convolution,
      [](const Tensor& t) {
        Shape sizes(static_cast<size_t>(t.dim()), 1);
        sizes[0] = t.size(0);
        sizes[1] = t.size(1);
        return sizes;
      },
      [](int64_t channels, int64_t output_dims) {
        Shape sizes(static_cast<size_t>(output_dims - 1), 1);
        sizes[0] = channels;
        return sizes;
      },
  };
  return evaluate(op, input, w, b);
}

}  // namespace bg::nn::detail
