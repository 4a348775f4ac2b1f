#include "bg/nn/functional.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "bg/core/tensor_impl.h"
#include "functional_helpers.h"
#include "parametrized_ops.h"

namespace bg::nn::functional {

namespace {

using detail::channel_shape;
using detail::leading_sizes;

// `vector` is undefined, or a 1-d tensor of `size` elements (a per-channel weight, bias, ...).
void check_vector(const char* op, const char* name, const Tensor& vector, int64_t size) {
  BG_CHECK(!vector.defined() || (vector.dim() == 1 && vector.size(0) == size), op, "expected ",
           name, " to have shape [", size, "], got ", describe(vector));
}

// (input - mean) / sqrt(var + eps).
Tensor normalize(const Tensor& input, const Tensor& mean, const Tensor& var, double eps) {
  return (input - mean) * (var + eps).rsqrt();
}

// x * weight + bias, each only when defined (and shaped to broadcast against x).
Tensor affine(Tensor x, const Tensor& weight, const Tensor& bias) {
  if (weight.defined()) x = x * weight;
  if (bias.defined()) x = x + bias;
  return x;
}

}  // namespace

// ---- Linear -------------------------------------------------------------------------------------

namespace {

// linear (op "linear") or linear_relu (op "linear_relu", `relu`): with a bias, one GEMM with the
// bias (and the ReLU) in its epilogue, the input's leading dims folded into its rows.
Tensor linear_with_epilogue(const char* op, const Tensor& input, const Tensor& weight,
                            const Tensor& bias, bool relu) {
  // The weight's shape is read without computing it: a parametrized weight may ask to be
  // evaluated in its own way (linear_with_operand_forms).
  const Shape weight_sizes = weight.defined() ? weight.impl()->sizes() : Shape{};
  BG_CHECK(input.defined() && weight_sizes.size() == 2, op, "expected a 2-d weight [out, in], got ",
           describe(weight));
  BG_CHECK(input.dim() >= 1 && input.size(-1) == weight_sizes[1], op, "the input ", describe(input),
           " does not end in the weight's in_features ", weight_sizes[1], " (weight ",
           describe(weight), ")");
  if (Tensor out = detail::linear_with_operand_forms(input, weight, bias, relu); out.defined()) {
    return out;
  }
  if (!bias.defined()) {
    const Tensor out = input.matmul(weight.t());
    return relu ? out.relu() : out;
  }
  const auto affine = [relu](const Tensor& b, const Tensor& x, const Tensor& w) {
    return relu ? addmm_relu(b, x, w) : addmm(b, x, w);
  };
  if (input.dim() == 2) return affine(bias, input, weight.t());
  Shape out_sizes(input.sizes().begin(), input.sizes().end() - 1);
  const int64_t rows = numel_of(out_sizes);
  out_sizes.push_back(weight_sizes[0]);
  return affine(bias, input.reshape({rows, weight_sizes[1]}), weight.t()).reshape(out_sizes);
}

}  // namespace

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  return linear_with_epilogue("linear", input, weight, bias, false);
}

Tensor linear_relu(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  return linear_with_epilogue("linear_relu", input, weight, bias, true);
}

Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight,
                const Tensor& bias) {
  BG_CHECK(input1.defined() && input2.defined() && weight.defined() && weight.dim() == 3,
           "bilinear", "expected a 3-d weight [out, in1, in2], got ", describe(weight));
  const int64_t out = weight.size(0), in1 = weight.size(1), in2 = weight.size(2);
  BG_CHECK(input1.dim() >= 1 && input2.dim() >= 1 && input1.size(-1) == in1 &&
               input2.size(-1) == in2 && leading_sizes(input1) == leading_sizes(input2),
           "bilinear", "expected inputs [..., ", in1, "] and [..., ", in2,
           "] with the same leading dims for the weight ", describe(weight), ", got ",
           describe(input1), " and ", describe(input2));
  check_vector("bilinear", "bias", bias, out);
  // x1^T W_k for every k at once: [B, in1] x [in1, out * in2] -> [B, out, in2]; then the dot
  // product of each row with x2.
  const Tensor left = input1.reshape({-1, in1})
                          .matmul(weight.permute({1, 0, 2}).reshape({in1, out * in2}))
                          .view({-1, out, in2});
  Tensor result = (left * input2.reshape({-1, 1, in2})).sum(-1);
  if (bias.defined()) result = result + bias;
  Shape sizes = leading_sizes(input1);
  sizes.push_back(out);
  return result.reshape(sizes);
}

// ---- Convolution --------------------------------------------------------------------------------

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
              Size2 padding, Size2 dilation, int64_t groups) {
  const detail::Convolution convolution = [&](const Tensor& x, const Tensor& w, int64_t factor) {
    return ::bg::conv2d(x, w, {}, stride, padding, dilation, groups * factor);
  };
  if (Tensor out = detail::convolution_with_operand_forms(convolution, input, weight, bias);
      out.defined()) {
    return out;
  }
  return ::bg::conv2d(input, weight, bias, stride, padding, dilation, groups);
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t dilation, int64_t groups) {
  const detail::Convolution convolution = [&](const Tensor& x, const Tensor& w, int64_t factor) {
    return ::bg::conv1d(x, w, {}, stride, padding, dilation, groups * factor);
  };
  if (Tensor out = detail::convolution_with_operand_forms(convolution, input, weight, bias);
      out.defined()) {
    return out;
  }
  return ::bg::conv1d(input, weight, bias, stride, padding, dilation, groups);
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
                        Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation) {
  const detail::Convolution convolution = [&](const Tensor& x, const Tensor& w, int64_t factor) {
    return ::bg::conv_transpose2d(x, w, {}, stride, padding, output_padding, groups * factor,
                                  dilation);
  };
  if (Tensor out = detail::convolution_with_operand_forms(convolution, input, weight, bias);
      out.defined()) {
    return out;
  }
  return ::bg::conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                                dilation);
}

// ---- Activations --------------------------------------------------------------------------------

Tensor relu(const Tensor& input) { return bg::relu(input); }
Tensor leaky_relu(const Tensor& input, double negative_slope) {
  return bg::leaky_relu(input, negative_slope);
}
Tensor elu(const Tensor& input, double alpha) { return bg::elu(input, alpha); }

Tensor gelu(const Tensor& input, const std::string& approximate) {
  BG_CHECK(approximate == "none" || approximate == "tanh", "gelu",
           "approximate must be 'none' or 'tanh', got '", approximate, "'");
  if (approximate == "none") return bg::gelu(input);
  const double scale = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * input * (1.0 + bg::tanh(scale * (input + 0.044715 * input.pow(3))));
}

Tensor silu(const Tensor& input) { return bg::silu(input); }
Tensor softplus(const Tensor& input, double beta, double threshold) {
  return bg::softplus(input, beta, threshold);
}
Tensor sigmoid(const Tensor& input) { return bg::sigmoid(input); }
Tensor tanh(const Tensor& input) { return bg::tanh(input); }
Tensor softmax(const Tensor& input, int64_t dim) { return bg::softmax(input, dim); }
Tensor log_softmax(const Tensor& input, int64_t dim) { return bg::log_softmax(input, dim); }

// ---- Normalization ------------------------------------------------------------------------------

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  BG_CHECK(input.defined() && input.dim() >= 2 && input.is_floating_point(), "batch_norm",
           "expected a floating-point input [N, C, ...] of at least 2 dims, got ", describe(input));
  const int64_t channels = input.size(1);
  check_vector("batch_norm", "running_mean", running_mean, channels);
  check_vector("batch_norm", "running_var", running_var, channels);
  check_vector("batch_norm", "weight", weight, channels);
  check_vector("batch_norm", "bias", bias, channels);
  const Shape per_channel = channel_shape(input.dim(), channels);
  const Tensor scale = weight.defined() ? weight.view(per_channel) : Tensor();
  const Tensor shift = bias.defined() ? bias.view(per_channel) : Tensor();
  if (!training) {
    BG_CHECK(running_mean.defined() && running_var.defined(), "batch_norm",
             "evaluation (training = false) needs running_mean and running_var");
    return affine(
        normalize(input, running_mean.view(per_channel), running_var.view(per_channel), eps), scale,
        shift);
  }
  // An empty batch normalizes to an empty result and leaves the running statistics alone, as in
  // PyTorch.
  if (input.numel() == 0) return affine(input, scale, shift);
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  const int64_t count = input.numel() / channels;
  BG_CHECK(count > 1, "batch_norm", "expected more than 1 value per channel when training, got ",
           describe(input));
  const Tensor mean = input.mean(dims, true);
  const Tensor var = input.var(dims, 0, true);  // biased: what the batch is normalized with
  {
    NoGradGuard no_grad;
    // The running variance estimates the population's: it takes the unbiased batch variance.
    const double bessel = static_cast<double>(count) / static_cast<double>(count - 1);
    if (running_mean.defined()) {
      Tensor(running_mean).mul_(1.0 - momentum).add_(mean.view({channels}) * momentum);
    }
    if (running_var.defined()) {
      Tensor(running_var).mul_(1.0 - momentum).add_(var.view({channels}) * (momentum * bessel));
    }
  }
  return affine(normalize(input, mean, var, eps), scale, shift);
}

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const auto k = static_cast<int64_t>(normalized_shape.size());
  BG_CHECK(k > 0, "layer_norm", "normalized_shape must not be empty");
  BG_CHECK(input.defined() && input.is_floating_point() && input.dim() >= k &&
               Shape(input.sizes().end() - k, input.sizes().end()) == normalized_shape,
           "layer_norm", "expected a floating-point input whose last dims are ",
           shape_str(normalized_shape), ", got ", describe(input));
  for (const Tensor* t : {&weight, &bias}) {
    BG_CHECK(!t->defined() || t->sizes() == normalized_shape, "layer_norm", "expected ",
             t == &weight ? "weight" : "bias", " to have shape ", shape_str(normalized_shape),
             ", got ", describe(*t));
  }
  // The normalized dims as one (a view of a contiguous input), for the fused op over the last dim.
  Shape rows(input.sizes().begin(), input.sizes().end() - k);
  rows.push_back(numel_of(normalized_shape));
  const auto flat = [](const Tensor& t) { return t.defined() ? t.reshape({-1}) : t; };
  return bg::layer_norm(input.reshape(rows), flat(weight), flat(bias), eps).view(input.sizes());
}

Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  BG_CHECK(input.defined() && input.is_floating_point() && input.dim() >= 2, "group_norm",
           "expected a floating-point input [N, C, ...] of at least 2 dims, got ", describe(input));
  const int64_t channels = input.size(1);
  BG_CHECK(num_groups > 0 && channels % num_groups == 0, "group_norm", "the ", channels,
           " channels of the input ", describe(input), " cannot be split into ", num_groups,
           " groups");
  check_vector("group_norm", "weight", weight, channels);
  check_vector("group_norm", "bias", bias, channels);
  // The size of a group is given, not inferred: -1 cannot be inferred for an empty batch.
  const int64_t group_size =
      channels / num_groups * numel_of(Shape(input.sizes().begin() + 2, input.sizes().end()));
  const Tensor grouped = input.reshape({input.size(0), num_groups, group_size});
  const Tensor normalized = normalize(grouped, grouped.mean(2, true), grouped.var(2, 0, true), eps)
                                .reshape(input.sizes());
  const Shape per_channel = channel_shape(input.dim(), channels);
  return affine(normalized, weight.defined() ? weight.view(per_channel) : Tensor(),
                bias.defined() ? bias.view(per_channel) : Tensor());
}

// ---- Embedding ----------------------------------------------------------------------------------

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  BG_CHECK(weight.defined() && weight.dim() == 2, "embedding",
           "expected a 2-d weight [num_embeddings, embedding_dim], got ", describe(weight));
  BG_CHECK(indices.defined() && indices.dtype() == kInt64, "embedding",
           "expected int64 indices, got ", describe(indices));
  const int64_t rows = weight.size(0);
  const auto bad = detail::first_out_of_range(indices, rows);
  BG_CHECK(!bad, "embedding", "index ", *bad, " is out of range for ", rows, " embeddings (weight ",
           describe(weight), ")");
  const Tensor flat = indices.reshape({-1});
  Tensor out = weight.index_select(0, flat);
  if (padding_idx) {
    const int64_t pad = normalize_dim("embedding", *padding_idx, rows);
    // The padding row's value is looked up as any other, but from a detached weight: no gradient
    // reaches it.
    out = where((flat == pad).unsqueeze(1), weight.detach().index_select(0, flat), out);
  }
  Shape sizes = indices.sizes();
  sizes.push_back(weight.size(1));
  return out.view(sizes);
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  BG_CHECK(indices.defined() && indices.dtype() == kInt64, "one_hot",
           "expected int64 class indices, got ", describe(indices));
  if (num_classes == -1) {
    BG_CHECK(indices.numel() > 0, "one_hot",
             "cannot infer the number of classes from an empty tensor; pass num_classes");
    num_classes = indices.max().item<int64_t>() + 1;
  }
  BG_CHECK(num_classes > 0, "one_hot", "num_classes must be positive or -1, got ", num_classes);
  const auto bad = detail::first_out_of_range(indices, num_classes);
  BG_CHECK(!bad, "one_hot", "class index ", *bad, " is out of range for ", num_classes, " classes");
  return (indices.unsqueeze(-1) ==
          arange(num_classes, TensorOptions(kInt64).device(indices.device())))
      .to(kInt64);
}

}  // namespace bg::nn::functional
