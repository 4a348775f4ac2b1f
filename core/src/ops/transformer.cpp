// The ops of transformer.h: argument checks, the forward formulas (run without recording), and
// one autograd node each whose backward is written out.
//
// Each backward formula is written once, in Tensor ops, on the tensors it is given: the ones the
// forward pass kept, or, under create_graph, the same ones recomputed from the saved inputs with
// recorded ops (so the gradient is itself differentiable). Without create_graph the steps with a
// fused kernel (layer norm's derivative, softmax's) call it when the backend has
// TransformerKernels.

#include "bg/core/transformer.h"

#include <optional>
#include <string>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Grads;
using autograd::SavedTensor;

namespace {

// Saves tensors that may be undefined (an optional weight or bias).
std::vector<std::optional<SavedTensor>> save_all(std::initializer_list<Tensor> tensors) {
  std::vector<std::optional<SavedTensor>> saved;
  for (const Tensor& t : tensors) {
    saved.push_back(t.defined() ? std::optional<SavedTensor>(SavedTensor(t, false)) : std::nullopt);
  }
  return saved;
}

Tensor unpack(const std::optional<SavedTensor>& saved, const autograd::Node& owner) {
  return saved ? saved->unpack(owner) : Tensor();
}

// x, unless it is undefined or already contiguous, copied without recording (kernel operands).
Tensor contiguous_operand(const Tensor& x) {
  if (!x.defined() || x.is_contiguous()) return x;
  NoGradGuard no_grad;
  return x.contiguous();
}

void check_vector(const char* op, const char* name, const Tensor& t, const Tensor& input) {
  if (!t.defined()) return;
  detail::check_same_device(op, input, t);
  BG_CHECK(t.dim() == 1 && t.size(0) == input.size(-1) && t.dtype() == input.dtype(), op,
           "expected ", name, " [", input.size(-1), "] of the input's dtype for the input ",
           describe(input), ", got ", describe(t));
}

// ---- Layer norm ---------------------------------------------------------------------------------

// The statistics of each row over the last dim, as [..., 1]: the mean and 1 / sqrt(var + eps).
std::pair<Tensor, Tensor> row_statistics(const Tensor& x, double eps) {
  const Tensor mean = x.mean({-1}, true);
  const Tensor centered = x - mean;
  return {mean, ((centered * centered).mean({-1}, true) + eps).rsqrt()};
}

// The gradients of layer_norm's input, weight and bias in Tensor ops, from its input and the
// statistics of its rows ([..., 1]).
Grads layer_norm_backward_ops(const Tensor& x, const Tensor& weight, bool bias_needs_grad,
                              const Tensor& mean, const Tensor& rstd, const Tensor& grad) {
  const Tensor xhat = (x - mean) * rstd;
  const Tensor gx = weight.defined() ? grad * weight : grad;
  const Tensor grad_input = rstd * (gx - gx.mean({-1}, true) - xhat * (gx * xhat).mean({-1}, true));
  const Shape vector{x.size(-1)};
  return {grad_input, weight.defined() ? sum_to(grad * xhat, vector) : Tensor(),
          bias_needs_grad ? sum_to(grad, vector) : Tensor()};
}

class LayerNormBackward final : public autograd::Node {
 public:
  LayerNormBackward(const Tensor& input, const Tensor& weight, Tensor mean, Tensor rstd, double eps)
      : Node("LayerNormBackward"),
        saved_(save_all({input, weight})),
        mean_(std::move(mean)),
        rstd_(std::move(rstd)),
        eps_(eps) {}

  Grads apply(Tensor&& grad) override {
    const Tensor input = unpack(saved_[0], *this), weight = unpack(saved_[1], *this);
    TransformerKernels* kernels = detail::backend_of(input).transformer_kernels();
    if (GradMode::is_enabled() || kernels == nullptr) {
      // Under create_graph the statistics are recomputed in recorded ops, so that their
      // dependence on the input is differentiated too.
      Shape statistics = input.sizes();
      statistics.back() = 1;
      const auto [mean, rstd] = GradMode::is_enabled()
                                    ? row_statistics(input, eps_)
                                    : std::pair{mean_.view(statistics), rstd_.view(statistics)};
      return layer_norm_backward_ops(input, weight, next()[2] != nullptr, mean, rstd, grad);
    }
    const int64_t C = input.size(-1), R = input.numel() / C;
    const Tensor x = contiguous_operand(input), g = contiguous_operand(grad);
    Tensor grad_input =
        detail::empty_tensor("layer_norm_backward", input.sizes(), input.dtype(), input.device());
    Tensor grad_weight, grad_bias;
    if (weight.defined() && next()[1] != nullptr) {
      grad_weight = detail::empty_tensor("layer_norm_backward", {C}, input.dtype(), input.device());
    }
    if (next()[2] != nullptr)
      grad_bias = detail::empty_tensor("layer_norm_backward", {C}, input.dtype(), input.device());
    kernels->layer_norm_backward(grad_input.view({R, C}), grad_weight, grad_bias, g.view({R, C}),
                                 x.view({R, C}), mean_, rstd_, contiguous_operand(weight));
    return {grad_input, grad_weight, grad_bias};
  }

  void release_saved() override {
    for (auto& saved : saved_) {
      if (saved) saved->release();
    }
    mean_ = rstd_ = Tensor();
  }

 private:
  std::vector<std::optional<SavedTensor>> saved_;  // input, weight
  Tensor mean_, rstd_;                             // [R]
  double eps_;
};

// ---- Multi-head attention -----------------------------------------------------------------------

constexpr const char* kAttention = "multi_head_attention";

// L queries and S keys of N sequences, H heads of D features (E = H * D), and where the query (0),
// key (1) and value (2) blocks lie: projection `source[i]`, from column `column[i]`.
struct Heads {
  int64_t L, S, N, H, D, E;
  size_t source[3];
  int64_t column[3];
};

// True when `sizes` broadcasts to `target` without changing it.
bool broadcasts_to(const Shape& sizes, const Shape& target) {
  if (sizes.size() > target.size()) return false;
  const size_t lead = target.size() - sizes.size();
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] != 1 && sizes[i] != target[lead + i]) return false;
  }
  return true;
}

Heads check_attention(const std::vector<Tensor>& projections, int64_t num_heads, const Tensor& bias,
                      double dropout_p) {
  BG_CHECK(!projections.empty() && projections.size() <= 3, kAttention,
           "expected the projections as {qkv}, {q, kv} or {q, k, v}, got ", projections.size(),
           " tensors");
  for (const Tensor& p : projections) {
    detail::check_defined(kAttention, p, "projection");
    detail::check_floating(kAttention, p);
    detail::check_same_device(kAttention, projections.front(), p);
    BG_CHECK(p.dim() == 3 && p.dtype() == projections.front().dtype(), kAttention,
             "expected projections [seq, batch, features] of one dtype, got ", describe(p),
             " beside ", describe(projections.front()));
  }
  BG_CHECK(num_heads > 0, kAttention, "num_heads must be positive, got ", num_heads);
  BG_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, kAttention,
           "the dropout probability must be in [0, 1], got ", dropout_p);
  const Tensor& q = projections.front();
  const Tensor& k = projections.size() == 1 ? q : projections[1];
  const int64_t first_blocks = projections.size() == 1 ? 3 : 1;  // column blocks of the first
  Heads h{};
  h.E = q.size(2) / first_blocks;
  h.L = q.size(0);
  h.S = k.size(0);
  h.N = q.size(1);
  h.H = num_heads;
  h.D = h.E / std::max<int64_t>(num_heads, 1);
  bool fits = h.E > 0 && h.E % num_heads == 0 && q.size(2) == h.E * first_blocks;
  if (projections.size() == 1) {
    h = {h.L, h.L, h.N, h.H, h.D, h.E, {0, 0, 0}, {0, h.E, 2 * h.E}};
  } else if (projections.size() == 2) {
    fits = fits && k.size(1) == h.N && k.size(2) == 2 * h.E;
    h = {h.L, h.S, h.N, h.H, h.D, h.E, {0, 1, 1}, {0, 0, h.E}};
  } else {
    const Tensor& v = projections[2];
    fits = fits && k.size(1) == h.N && k.size(2) == h.E && v.sizes() == k.sizes();
    h = {h.L, h.S, h.N, h.H, h.D, h.E, {0, 1, 2}, {0, 0, 0}};
  }
  BG_CHECK(fits, kAttention, "expected {qkv [L, N, 3E]}, {q [L, N, E], kv [S, N, 2E]} or ",
           "{q [L, N, E], k [S, N, E], v [S, N, E]} with E divisible by num_heads ", num_heads,
           ", got ", [&] {
             std::string shapes;
             for (const Tensor& p : projections)
               shapes += (shapes.empty() ? "" : ", ") + describe(p);
             return shapes;
           }());
  if (bias.defined()) {
    detail::check_same_device(kAttention, q, bias);
    const Shape scores{h.N, h.H, h.L, h.S};
    BG_CHECK(bias.dtype() == q.dtype() && broadcasts_to(bias.sizes(), scores), kAttention,
             "expected a bias of the projections' dtype broadcastable to the scores ",
             shape_str(scores), ", got ", describe(bias));
  }
  return h;
}

// Block i (0: query, 1: key, 2: value) of the projections: [seq, N, E].
Tensor block(const std::vector<Tensor>& projections, const Heads& h, int i) {
  return projections[h.source[i]].narrow(-1, h.column[i], h.E);
}

// [seq, N, E] -> [N * H, seq, D], contiguous (times `scale` when given).
Tensor to_heads(const Tensor& x, const Heads& h, std::optional<double> scale = std::nullopt) {
  const Tensor heads = x.unflatten(-1, {h.H, h.D}).permute({1, 2, 0, 3});
  return (scale ? heads * *scale : heads.contiguous()).view({h.N * h.H, x.size(0), h.D});
}

// [N * H, seq, D] -> [seq, N, H, D], a permuted view.
Tensor from_heads(const Tensor& x, const Heads& h) {
  return x.view({h.N, h.H, x.size(1), h.D}).permute({2, 0, 1, 3});
}

// What the forward formulas compute, and the backward formula reads.
struct AttentionValues {
  Tensor q, k, v;  // the heads [N * H, seq, D], the queries times the scale
  Tensor weights;  // softmax of the scores [N * H, L, S], before dropout
  Tensor kept;     // after dropout (the weights themselves without)
  Tensor output;   // [L, N, E]
};

// The forward formulas in Tensor ops (recorded when grad mode is on). `mask` is the dropout mask
// (0, or 1 / (1 - p) for the weights kept), or undefined.
AttentionValues attention_forward(const std::vector<Tensor>& projections, const Heads& h,
                                  const Tensor& bias, const Tensor& mask, double scale) {
  AttentionValues a;
  a.q = to_heads(block(projections, h, 0), h, scale);
  a.k = to_heads(block(projections, h, 1), h);
  a.v = to_heads(block(projections, h, 2), h);
  Tensor scores = a.q.bmm(a.k.transpose(1, 2));
  if (bias.defined()) scores = (scores.view({h.N, h.H, h.L, h.S}) + bias).view(scores.sizes());
  a.weights = scores.softmax(-1);
  a.kept = mask.defined() ? a.weights * mask : a.weights;
  a.output = from_heads(a.kept.bmm(a.v), h).reshape({h.L, h.N, h.E});
  return a;
}

// The gradients of the projections (and of the bias when `bias_sizes` is given) in Tensor ops.
Grads attention_backward(const AttentionValues& a, const Tensor& mask, const Tensor& grad,
                         const Heads& h, size_t projections, const std::optional<Shape>& bias_sizes,
                         double scale) {
  const Tensor g = to_heads(grad, h);  // [N * H, L, D]
  const Tensor grad_v = a.kept.transpose(1, 2).bmm(g);
  Tensor grad_kept = g.bmm(a.v.transpose(1, 2));
  if (mask.defined()) grad_kept = grad_kept * mask;
  const Tensor grad_scores = detail::softmax_backward(grad_kept, a.weights, 2);
  const Tensor grad_q = grad_scores.bmm(a.k) * scale;
  const Tensor grad_k = grad_scores.transpose(1, 2).bmm(a.q);  // a.q is scaled already
  // Each projection's gradient: its blocks' gradients side by side, written once.
  const Tensor heads[] = {from_heads(grad_q, h), from_heads(grad_k, h), from_heads(grad_v, h)};
  Grads grads;
  for (size_t p = 0; p < projections; ++p) {
    std::vector<Tensor> blocks;
    for (int i = 0; i < 3; ++i) {
      if (h.source[i] == p) blocks.push_back(heads[i]);
    }
    const Tensor joined = blocks.size() == 1 ? blocks.front().contiguous() : stack(blocks, 2);
    grads.push_back(joined.view({joined.size(0), h.N, -1}));
  }
  grads.push_back(bias_sizes ? sum_to(grad_scores.view({h.N, h.H, h.L, h.S}), *bias_sizes)
                             : Tensor());
  return grads;
}

class MultiHeadAttentionBackward final : public autograd::Node {
 public:
  MultiHeadAttentionBackward(const std::vector<Tensor>& projections, const Tensor& bias,
                             const Heads& heads, AttentionValues values, Tensor mask, double scale)
      : Node("MultiHeadAttentionBackward"),
        heads_(heads),
        values_(std::move(values)),
        mask_(std::move(mask)),
        scale_(scale) {
    for (const Tensor& p : projections) projections_.emplace_back(p, false);
    if (bias.defined()) bias_.emplace(bias, false);
    values_.output = Tensor();  // the node's own output: not kept (a cycle)
  }

  Grads apply(Tensor&& grad) override {
    std::vector<Tensor> projections;
    for (const SavedTensor& p : projections_) projections.push_back(p.unpack(*this));
    const Tensor bias = unpack(bias_, *this);
    const std::optional<Shape> bias_sizes =
        next().back() != nullptr ? std::optional<Shape>(bias.sizes()) : std::nullopt;
    if (GradMode::is_enabled()) {
      // create_graph: the forward formulas again, recorded, so the gradient is differentiable.
      const AttentionValues recorded = attention_forward(projections, heads_, bias, mask_, scale_);
      return attention_backward(recorded, mask_, grad, heads_, projections.size(), bias_sizes,
                                scale_);
    }
    return attention_backward(values_, mask_, grad, heads_, projections.size(), bias_sizes, scale_);
  }

  void release_saved() override {
    for (SavedTensor& p : projections_) p.release();
    if (bias_) bias_->release();
    values_ = {};
    mask_ = Tensor();
  }

 private:
  std::vector<SavedTensor> projections_;
  std::optional<SavedTensor> bias_;
  Heads heads_;
  AttentionValues values_;
  Tensor mask_;
  double scale_;
};

}  // namespace

Tensor layer_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, double eps) {
  constexpr const char* kOp = "layer_norm";
  detail::check_defined(kOp, input);
  detail::check_floating(kOp, input);
  BG_CHECK(input.dim() >= 1 && input.size(-1) > 0, kOp,
           "expected an input with a last dim to normalize over, got ", describe(input));
  check_vector(kOp, "weight", weight, input);
  check_vector(kOp, "bias", bias, input);
  BG_CHECK(eps >= 0.0, kOp, "eps must not be negative, got ", eps);
  const int64_t C = input.size(-1), R = input.numel() / C;
  Tensor out, mean, rstd;
  if (TransformerKernels* kernels = detail::backend_of(input).transformer_kernels()) {
    out = detail::empty_tensor("layer_norm", input.sizes(), input.dtype(), input.device());
    mean = detail::empty_tensor("layer_norm", {R}, input.dtype(), input.device());
    rstd = detail::empty_tensor("layer_norm", {R}, input.dtype(), input.device());
    kernels->layer_norm(out.view({R, C}), mean, rstd, contiguous_operand(input).view({R, C}),
                        contiguous_operand(weight), contiguous_operand(bias), eps);
  } else {
    NoGradGuard no_grad;
    const auto [row_mean, row_rstd] = row_statistics(input, eps);
    out = (input - row_mean) * row_rstd;
    if (weight.defined()) out = out * weight;
    if (bias.defined()) out = out + bias;
    mean = row_mean.reshape({R});
    rstd = row_rstd.reshape({R});
  }
  const Tensor inputs[] = {input, weight, bias};
  if (autograd::needs_recording(inputs)) {
    auto node = detail::make_pooled<LayerNormBackward>(input, weight, mean, rstd, eps);
    autograd::NodeBuilder::connect(*node, inputs, out);
  }
  return out;
}

Tensor multi_head_attention(const std::vector<Tensor>& projections, int64_t num_heads,
                            const Tensor& bias, double dropout_p, double scale) {
  const Heads h = check_attention(projections, num_heads, bias, dropout_p);
  AttentionValues values;
  Tensor mask;
  {
    NoGradGuard no_grad;
    if (dropout_p > 0.0) {
      mask = dropout_mask({h.N * h.H, h.L, h.S}, dropout_p, projections.front().options());
    }
    values = attention_forward(projections, h, bias, mask, scale);
  }
  Tensor out = values.output;
  std::vector<Tensor> inputs = projections;
  inputs.push_back(bias);
  if (autograd::needs_recording(inputs)) {
    auto node = detail::make_pooled<MultiHeadAttentionBackward>(projections, bias, h,
                                                                std::move(values), mask, scale);
    autograd::NodeBuilder::connect(*node, inputs, out);
  }
  return out;
}

}  // namespace bg
