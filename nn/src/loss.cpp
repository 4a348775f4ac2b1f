// The loss functions of nn::functional. Most are compositions of core ops (their gradients come
// from autograd); binary_cross_entropy has its own backward, as PyTorch, to stay finite where
// the input reaches 0 or 1, and binary_cross_entropy_with_logits, to stay accurate far from 0.

#include <cmath>
#include <limits>
#include <numbers>

#include "bg/core/autograd/node.h"
#include "bg/nn/functional.h"
#include "functional_helpers.h"

namespace bg::nn::functional {

namespace {

using detail::channel_shape;
using detail::leading_sizes;

Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::None:
      return losses;
    case Reduction::Sum:
      return losses.sum();
    case Reduction::Mean:
      break;
  }
  return losses.mean();
}

void check_floating(const char* op, const char* name, const Tensor& t) {
  BG_CHECK(t.defined() && t.is_floating_point(), op, "expected a floating-point ", name, ", got ",
           describe(t));
}

// Input and target of an elementwise loss: floating-point, of one shape.
void check_pair(const char* op, const Tensor& input, const Tensor& target) {
  check_floating(op, "input", input);
  check_floating(op, "target", target);
  BG_CHECK(input.sizes() == target.sizes(), op, "the target ", describe(target),
           " does not have the shape of the input ", describe(input));
}

// `weight` is undefined or broadcasts to the shape of `input`.
void check_broadcasts(const char* op, const char* name, const Tensor& weight, const Tensor& input) {
  if (!weight.defined()) return;
  check_floating(op, name, weight);
  const Shape& from = weight.sizes();
  const Shape& to = input.sizes();
  bool broadcasts = from.size() <= to.size();
  for (size_t i = 1; broadcasts && i <= from.size(); ++i) {
    const int64_t size = from[from.size() - i];
    broadcasts = size == 1 || size == to[to.size() - i];
  }
  BG_CHECK(broadcasts, op, "the ", name, " ", describe(weight),
           " does not broadcast to the input's shape ", shape_str(to));
}

void check_class_weight(const char* op, const Tensor& weight, int64_t classes) {
  if (!weight.defined()) return;
  check_floating(op, "weight", weight);
  BG_CHECK(weight.dim() == 1 && weight.size(0) == classes, op,
           "expected a weight with one element per class, [", classes, "], got ", describe(weight));
}

// Class scores input [N, C, d1, ...] and int64 class indices target [N, d1, ...], checked.
void check_class_indices(const char* op, const Tensor& input, const Tensor& target,
                         int64_t ignore_index) {
  BG_CHECK(target.defined() && target.dtype() == kInt64, op,
           "expected int64 class indices as target, got ", describe(target));
  Shape expected{input.size(0)};
  for (int64_t d = 2; d < input.dim(); ++d) expected.push_back(input.size(d));
  BG_CHECK(target.sizes() == expected, op, "expected a target of shape ", shape_str(expected),
           " for an input of shape ", shape_str(input.sizes()), ", got ", describe(target));
  const int64_t classes = input.size(1);
  const auto bad = detail::first_out_of_range(target, classes, ignore_index);
  BG_CHECK(!bad, op, "class index ", *bad, " is out of range for C = ", classes,
           " classes (ignore_index = ", ignore_index, ")");
}

// The per-sample terms of the negative log-likelihood of log-probabilities input [N, C, ...] at
// class indices target [N, ...]: losses = -weight[t] input[t], and the weight each sample counts
// with (0 where the target is ignored), whose sum the mean divides by.
struct WeightedLosses {
  Tensor losses;
  Tensor weights;
};
WeightedLosses nll_terms(const Tensor& input, const Tensor& target, const Tensor& weight,
                         int64_t ignore_index) {
  const Tensor ignored = target == ignore_index;
  const Tensor safe_target = where(ignored, 0, target);  // a valid index, its term masked below
  const Tensor kept = ignored.logical_not().to(input.dtype());
  const Tensor weights =
      weight.defined()
          ? weight.index_select(0, safe_target.reshape({-1})).view(safe_target.sizes()) * kept
          : kept;
  const Tensor picked = input.gather(1, safe_target.unsqueeze(1)).squeeze(1);
  return {-picked * weights, weights};
}

Tensor reduce_weighted(const WeightedLosses& terms, Reduction reduction) {
  if (reduction != Reduction::Mean) return reduce(terms.losses, reduction);
  // With every target ignored the mean is 0 / 0 = NaN, as in PyTorch, and so is the gradient of a
  // division by 0: the NaN is put in as a constant, so that the gradient is 0 as in PyTorch.
  const Tensor total = terms.weights.sum();
  const Tensor none = total == 0;
  return where(none, std::numeric_limits<double>::quiet_NaN(),
               terms.losses.sum() / where(none, 1.0, total));
}

// A loss computed on a batch of one for an unbatched input: drops that batch dim again.
Tensor unbatch(const Tensor& loss, bool unbatched, Reduction reduction) {
  return unbatched && reduction == Reduction::None ? loss.squeeze(0) : loss;
}

// -(t max(log x, -100) + (1 - t) max(log(1 - x), -100)), elementwise. Its gradient in x,
// (x - t) / (x (1 - x)), keeps its denominator >= 1e-12, as PyTorch does, so it stays finite at
// x = 0 and x = 1 (where the clamped logs have no usable derivative).
Tensor binary_cross_entropy_terms(const Tensor& x, const Tensor& t) {
  const auto log_x = [](const Tensor& v) { return v.log().clamp_min(-100.0); };
  const auto log_1mx = [](const Tensor& v) { return (-v).log1p().clamp_min(-100.0); };
  Tensor out;
  {
    NoGradGuard no_grad;
    out = -(t * log_x(x) + (1.0 - t) * log_1mx(x));
  }
  autograd::record(
      out, "BinaryCrossEntropyBackward", {x, t}, {x, t}, false,
      [log_x, log_1mx](const autograd::Context& ctx, const Tensor& grad) -> autograd::Grads {
        const Tensor v = ctx.saved(0), target = ctx.saved(1);
        autograd::Grads grads(2);
        if (ctx.needs_grad(0)) {
          grads[0] = grad * (v - target) / (v * (1.0 - v)).clamp_min(1e-12);
        }
        if (ctx.needs_grad(1)) grads[1] = grad * (log_1mx(v) - log_x(v));
        return grads;
      });
  return out;
}

// (1 - t) x + l log(1 + e^-x), elementwise, with l = 1 + (p - 1) t for the pos_weight p (1 when
// undefined). Its gradient in x is computed from x, as l sigmoid(x) - p t (PyTorch's formula): the
// composition's (1 - t) - l sigmoid(-x) cancels to 0 in float32 from x = -17 down.
Tensor binary_cross_entropy_with_logits_terms(const Tensor& x, const Tensor& t,
                                              const Tensor& pos_weight) {
  // log(1 + e^-x) = softplus(-x): with an infinite threshold, computed stably for every x.
  const auto log_1p_exp = [](const Tensor& v) {
    return bg::softplus(-v, 1.0, std::numeric_limits<double>::infinity());
  };
  const bool weighted = pos_weight.defined();
  Tensor out;
  {
    NoGradGuard no_grad;
    const Tensor l = weighted ? 1.0 + (pos_weight - 1.0) * t : Tensor();
    out = (1.0 - t) * x + (weighted ? l * log_1p_exp(x) : log_1p_exp(x));
  }
  const auto formula = [log_1p_exp, weighted](const autograd::Context& ctx,
                                              const Tensor& grad) -> autograd::Grads {
    const Tensor v = ctx.saved(0), target = ctx.saved(1);
    const Tensor p = weighted ? ctx.saved(2) : Tensor();
    autograd::Grads grads(weighted ? 3 : 2);
    if (ctx.needs_grad(0)) {
      grads[0] = weighted ? grad * ((1.0 + (p - 1.0) * target) * v.sigmoid() - p * target)
                          : grad * (v.sigmoid() - target);
    }
    if (ctx.needs_grad(1)) {
      grads[1] = weighted ? grad * ((p - 1.0) * log_1p_exp(v) - v) : -grad * v;
    }
    if (weighted && ctx.needs_grad(2)) grads[2] = grad * target * log_1p_exp(v);
    return grads;
  };
  if (weighted) {
    autograd::record(out, "BinaryCrossEntropyWithLogitsBackward", {x, t, pos_weight},
                     {x, t, pos_weight}, false, formula);
  } else {
    autograd::record(out, "BinaryCrossEntropyWithLogitsBackward", {x, t}, {x, t}, false, formula);
  }
  return out;
}

// A tensor with the value of max(var, eps) and the gradient of var: PyTorch clamps the variance
// of gaussian_nll_loss under no_grad, so the clamp is invisible to autograd.
Tensor clamp_keeping_gradient(const Tensor& var, double eps) {
  Tensor out = var.detach().clamp_min(eps);
  autograd::record(
      out, "ClampKeepingGradientBackward", {var}, {}, false,
      [](const autograd::Context&, const Tensor& grad) -> autograd::Grads { return {grad}; });
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair("mse_loss", input, target);
  return reduce((input - target).pow(2), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair("l1_loss", input, target);
  return reduce((input - target).abs(), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target,
                      const SmoothL1LossOptions& options) {
  check_pair("smooth_l1_loss", input, target);
  const double beta = options.beta();
  BG_CHECK(beta >= 0.0, "smooth_l1_loss", "beta must be non-negative, got ", beta);
  if (beta == 0.0) return l1_loss(input, target, options.reduction());
  const Tensor diff = input - target;
  const Tensor size = diff.abs();
  return reduce(where(size < beta, 0.5 / beta * diff.pow(2), size - 0.5 * beta),
                options.reduction());
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options) {
  check_pair("huber_loss", input, target);
  const double delta = options.delta();
  BG_CHECK(delta > 0.0, "huber_loss", "delta must be positive, got ", delta);
  const Tensor diff = input - target;
  const Tensor size = diff.abs();
  return reduce(where(size < delta, 0.5 * diff.pow(2), delta * (size - 0.5 * delta)),
                options.reduction());
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options) {
  check_floating("nll_loss", "input", input);
  BG_CHECK(input.dim() >= 1, "nll_loss", "expected an input [N, C, ...] or [C], got ",
           describe(input));
  const bool unbatched = input.dim() == 1;
  BG_CHECK(!unbatched || (target.defined() && target.dim() == 0), "nll_loss", "an unbatched input ",
           describe(input), " needs a 0-dim target, got ", describe(target));
  const Tensor batched_input = unbatched ? input.unsqueeze(0) : input;
  const Tensor batched_target = unbatched ? target.unsqueeze(0) : target;
  check_class_indices("nll_loss", batched_input, batched_target, options.ignore_index());
  check_class_weight("nll_loss", options.weight(), batched_input.size(1));
  const WeightedLosses terms =
      nll_terms(batched_input, batched_target, options.weight(), options.ignore_index());
  return unbatch(reduce_weighted(terms, options.reduction()), unbatched, options.reduction());
}

Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyLossOptions& options) {
  check_floating("cross_entropy", "input", input);
  BG_CHECK(input.dim() >= 1, "cross_entropy", "expected an input [N, C, ...] or [C], got ",
           describe(input));
  BG_CHECK(target.defined(), "cross_entropy", "the target is undefined");
  const double smoothing = options.label_smoothing();
  BG_CHECK(smoothing >= 0.0 && smoothing <= 1.0, "cross_entropy",
           "label_smoothing must be in [0, 1], got ", smoothing);
  const Reduction reduction = options.reduction();
  const bool unbatched = input.dim() == 1;
  const Tensor x = unbatched ? input.unsqueeze(0) : input;
  const int64_t classes = x.size(1);
  check_class_weight("cross_entropy", options.weight(), classes);
  const Tensor weight = options.weight().defined()
                            ? options.weight().view(channel_shape(x.dim(), classes))
                            : Tensor();
  const Tensor log_p = x.log_softmax(1);

  if (target.is_floating_point()) {
    // Class probabilities.
    BG_CHECK(target.sizes() == input.sizes(), "cross_entropy",
             "class probabilities as target must have the input's shape ", shape_str(input.sizes()),
             ", got ", describe(target));
    BG_CHECK(options.ignore_index() < 0, "cross_entropy", "ignore_index (", options.ignore_index(),
             ") applies to class indices, not to class probabilities as target");
    const Tensor t = unbatched ? target.unsqueeze(0) : target;
    const Tensor smoothed = smoothing > 0.0 ? t * (1.0 - smoothing) + smoothing / classes : t;
    const Tensor terms = weight.defined() ? log_p * smoothed * weight : log_p * smoothed;
    const Tensor losses = -terms.sum(1);
    const Tensor loss = reduction == Reduction::Mean
                            ? losses.sum() / static_cast<double>(losses.numel())
                            : reduce(losses, reduction);
    return unbatch(loss, unbatched, reduction);
  }

  BG_CHECK(target.dtype() == kInt64, "cross_entropy",
           "expected int64 class indices or floating-point class probabilities as target, got ",
           describe(target));
  BG_CHECK(!unbatched || target.dim() == 0, "cross_entropy", "an unbatched input ", describe(input),
           " needs a 0-dim target, got ", describe(target));
  const Tensor t = unbatched ? target.unsqueeze(0) : target;
  check_class_indices("cross_entropy", x, t, options.ignore_index());
  const WeightedLosses nll = nll_terms(log_p, t, options.weight(), options.ignore_index());
  Tensor loss = reduce_weighted(nll, reduction);
  if (smoothing > 0.0) {
    // The loss against the uniform distribution, -sum_c weight[c] log_p[c] / C, averaged with the
    // weights of the targets as the nll term is (PyTorch's formula).
    const Tensor uniform_terms = -(weight.defined() ? log_p * weight : log_p).sum(1);
    const WeightedLosses uniform{where(t == options.ignore_index(), 0.0, uniform_terms),
                                 nll.weights};
    loss = (1.0 - smoothing) * loss + (smoothing / classes) * reduce_weighted(uniform, reduction);
  }
  return unbatch(loss, unbatched, reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target,
                            const BCELossOptions& options) {
  check_pair("binary_cross_entropy", input, target);
  BG_CHECK(input.dtype() == target.dtype(), "binary_cross_entropy", "the target ", describe(target),
           " does not have the dtype of the input ", describe(input));
  check_broadcasts("binary_cross_entropy", "weight", options.weight(), input);
  BG_CHECK(input.numel() == 0 ||
               (input.min().item<double>() >= 0.0 && input.max().item<double>() <= 1.0),
           "binary_cross_entropy", "every element of the input must be between 0 and 1");
  Tensor losses = binary_cross_entropy_terms(input, target);
  if (options.weight().defined()) losses = losses * options.weight();
  return reduce(losses, options.reduction());
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  check_pair(op, input, target);
  check_broadcasts(op, "weight", options.weight(), input);
  check_broadcasts(op, "pos_weight", options.pos_weight(), input);
  Tensor losses = binary_cross_entropy_with_logits_terms(input, target, options.pos_weight());
  if (options.weight().defined()) losses = losses * options.weight();
  return reduce(losses, options.reduction());
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         const GaussianNLLLossOptions& options) {
  const char* op = "gaussian_nll_loss";
  check_pair(op, input, target);
  check_floating(op, "var", var);
  // var is per element, or one per row: [..., D], [...] or [..., 1] for an input [..., D].
  const bool same_shape = var.sizes() == input.sizes();
  const bool lacks_last = input.dim() > 0 && var.sizes() == leading_sizes(input);
  const bool last_is_one = input.dim() > 0 && var.dim() == input.dim() && var.size(-1) == 1 &&
                           leading_sizes(var) == leading_sizes(input);
  BG_CHECK(same_shape || lacks_last || last_is_one, op, "var ", describe(var),
           " must have the input's shape ", shape_str(input.sizes()),
           ", or that shape without its last dim or with 1 in it");
  Tensor variance = lacks_last ? var.unsqueeze(-1) : var;
  BG_CHECK(var.numel() == 0 || var.min().item<double>() >= 0.0, op, "var has negative entries");
  BG_CHECK(options.eps() >= 0.0, op, "eps must be non-negative, got ", options.eps());
  variance = clamp_keeping_gradient(variance, options.eps());
  Tensor losses = 0.5 * (variance.log() + (input - target).pow(2) / variance);
  if (options.full()) losses = losses + 0.5 * std::log(2.0 * std::numbers::pi);
  return reduce(losses, options.reduction());
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options) {
  check_pair("kl_div", input, target);
  Tensor losses;
  if (options.log_target()) {
    losses = target.exp() * (target - input);
  } else {
    // target log(target) is 0 where target is 0: log(1) stands in there, so that neither the
    // value nor the gradient sees log(0).
    losses = target * (where(target == 0.0, 1.0, target).log() - input);
  }
  switch (options.reduction()) {
    case KLDivReduction::None:
      return losses;
    case KLDivReduction::Sum:
      return losses.sum();
    case KLDivReduction::BatchMean:
      return input.dim() == 0 ? losses.sum() : losses.sum() / static_cast<double>(input.size(0));
    case KLDivReduction::Mean:
      break;
  }
  return losses.mean();
}

}  // namespace bg::nn::functional
