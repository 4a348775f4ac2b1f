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
  // The op without its bias for S draws of the weight [S, ...], the input holding S blocks of the
  // batch along dim 0 (block s for draw s).
  std::function<Tensor(const Tensor& input, const Tensor& weights)> apply_samples;
  // apply_samples with the bias added in the same kernel (linear: the GEMM's epilogue), the bias
  // [S, C] (draw s in block s) or [C] (the same for every draw), and the ReLU applied there too
  // when `relu`; null where the op has no such kernel and its bias is added apart.
  std::function<Tensor(const Tensor& input, const Tensor& weights, const Tensor& bias, bool relu)>
      apply_samples_with_bias;
  // The shape of one value per example and channel, broadcasting against `t` (the input or the
  // output): linear takes every row as an example and the last dim as channels ([..., C]);
  // a convolution the batch dim and dim 1 ([N, C, 1, ...]).
  std::function<Shape(const Tensor& t)> per_example_channel;
  // The shape in which a bias [C] broadcasts against an output of `output_dims` dims.
  std::function<Shape(int64_t channels, int64_t output_dims)> bias_view;
};

// `out` (S blocks of the batch along dim 0) plus bias draw s [C] in block s.
Tensor add_bias_samples(const WeightedOp& op, const Tensor& out, const Tensor& biases) {
  const int64_t samples = biases.size(0), channels = biases.size(1);
  Shape blocks = out.sizes();
  blocks[0] /= samples;
  blocks.insert(blocks.begin(), samples);
  Shape view = op.bias_view(channels, out.dim());
  view.insert(view.begin(), samples);
  while (view.size() < blocks.size()) view.insert(view.begin() + 1, 1);
  return (out.reshape(blocks) + biases.view(view)).reshape(out.sizes());
}

// The number of draws of a Samples operand, checked against the input's S blocks.
int64_t sample_count(const Operand& weight, const Operand& bias, const Tensor& input) {
  int64_t samples = 0;
  for (const Operand* operand : {&weight, &bias}) {
    if (operand->kind() != Kind::Samples) continue;
    const int64_t count = operand->form.samples.size(0);
    BG_CHECK(samples == 0 || samples == count, "vectorised pass",
             "the weight and the bias hold different numbers of draws (", samples, " and ", count,
             ")");
    samples = count;
  }
  BG_CHECK(samples == 0 || (input.dim() >= 1 && input.size(0) % samples == 0), "vectorised pass",
           "the input of a layer must hold the ", samples,
           " samples of the batch along its first dim, got ", describe(input));
  return samples;
}

// op(input, weight) + bias with their forms, the bias added apart.
Tensor evaluate_unfused(const WeightedOp& op, const Tensor& input, const Operand& weight,
                        const Operand& bias) {
  Tensor out, output_signs;
  switch (weight.kind()) {
    case Kind::Value:
      out = op.apply(input, weight.tensor);
      break;
    case Kind::Samples:
      out = op.apply_samples(input, weight.form.samples);
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
    case Kind::Samples:
      return add_bias_samples(op, out, bias.form.samples);
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

// op(input, weight) + bias with their forms, then its ReLU when `relu`: in one kernel where the op
// has one for these forms.
Tensor evaluate(const WeightedOp& op, const Tensor& input, const Operand& weight,
                const Operand& bias, bool relu) {
  sample_count(weight, bias, input);
  if (weight.kind() == Kind::Samples && op.apply_samples_with_bias && bias.tensor.defined() &&
      (bias.kind() == Kind::Samples || bias.kind() == Kind::Value)) {
    return op.apply_samples_with_bias(
        input, weight.form.samples, bias.kind() == Kind::Samples ? bias.form.samples : bias.tensor,
        relu);
  }
  const Tensor out = evaluate_unfused(op, input, weight, bias);
  return relu ? out.relu() : out;
}

}  // namespace

Tensor linear_with_operand_forms(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                 bool relu) {
  const Operand w = operand_of(weight), b = operand_of(bias);
  if (w.kind() == Kind::Value && b.kind() == Kind::Value) return {};
  // [S * B, ..., in] as [S, B ..., in]: one batched product with the S draws.
  const auto samples_as_batch = [](const Tensor& x, const Tensor& weights) {
    return x.reshape({weights.size(0), -1, weights.size(2)});
  };
  const auto unfold = [](const Tensor& out, const Tensor& x) {
    Shape out_sizes = x.sizes();
    out_sizes.back() = out.size(-1);
    return out.reshape(out_sizes);
  };
  const WeightedOp op{
      [](const Tensor& x, const Tensor& m) { return x.matmul(m.t()); },
      [=](const Tensor& x, const Tensor& weights) {
        return unfold(samples_as_batch(x, weights).matmul(weights.transpose(1, 2)), x);
      },
      [=](const Tensor& x, const Tensor& weights, const Tensor& bias, bool relu) {
        const Tensor addend = bias.dim() == 2 ? bias.unsqueeze(1) : bias;  // [S, 1, C] or [C]
        const Tensor batch = samples_as_batch(x, weights), transposed = weights.transpose(1, 2);
        return unfold(
            relu ? baddbmm_relu(addend, batch, transposed) : baddbmm(addend, batch, transposed), x);
      },
      [](const Tensor& t) { return t.sizes(); },
      [](int64_t channels, int64_t) { return Shape{channels}; },
  };
  return evaluate(op, input, w, b, relu);
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
      [&](const Tensor& x, const Tensor& m) { return convolution(x, m, 1); },
      [&](const Tensor& x, const Tensor& weights) {
        // S draws as S groups (times the op's own): the S blocks of the batch [S * B, C, ...] go
        // side by side along the channels, [B, S * C, ...], and the weights [S, A, ...] are
        // stacked along their first dim, [S * A, ...].
        const int64_t samples = weights.size(0);
        Shape blocks = x.sizes();
        blocks[0] /= samples;
        blocks.insert(blocks.begin(), samples);  // [S, B, C, ...]
        Shape side_by_side = x.sizes();
        side_by_side[0] /= samples;
        side_by_side[1] *= samples;  // [B, S * C, ...]
        const Tensor grouped = x.reshape(blocks).transpose(0, 1).reshape(side_by_side);
        const Tensor stacked = weights.flatten(0, 1);
        const Tensor out = convolution(grouped, stacked, samples);  // [B, S * O, ...]
        Shape out_blocks = out.sizes();
        out_blocks[1] /= samples;
        out_blocks.insert(out_blocks.begin() + 1, samples);  // [B, S, O, ...]
        Shape folded = out_blocks;
        folded.erase(folded.begin());
        folded[0] = x.size(0);  // [S * B, O, ...]
        return out.reshape(out_blocks).transpose(0, 1).reshape(folded);
      },
      nullptr,  // the bias is added apart
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
  return evaluate(op, input, w, b, false);
}

}  // namespace bg::nn::detail
