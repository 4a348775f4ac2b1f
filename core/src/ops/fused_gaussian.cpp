// Frontends of the fused Gaussian ops (fused_gaussian.h): checks, kernels, derivatives. On a
// backend without GaussianKernels (and for a learnable prior) the same functions are composed of
// Tensor ops, which autograd differentiates by itself.

#include "bg/core/fused_gaussian.h"

#include <memory>
#include <utility>
#include <vector>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg::fused {

using autograd::Context;
using autograd::Grads;

namespace {

void check_operand(const char* op, const char* name, const Tensor& t, const Tensor& mu) {
  detail::check_defined(op, t, name);
  BG_CHECK(t.sizes() == mu.sizes() && t.dtype() == mu.dtype() && t.device() == mu.device(), op,
           name, " is ", describe(t), " but mu is ", describe(mu));
}

void check_mu(const char* op, const Tensor& mu) {
  detail::check_defined(op, mu, "mu");
  detail::check_floating(op, mu);
}

// Note [Joined Gaussian backward]
// A Bayes-by-Backprop loss differentiates both w = gaussian_sample(mu, rho, eps) and the
// gaussian_kl of the same mu and rho. Apart, their backward passes take three passes over the
// parameters' memory (the sample's rho-gradient, the KL's two gradients, then the engine's sums of
// the two gradients of mu and of rho) and compute softplus twice; joined, one pass
// (GaussianKernels::gaussian_sample_kl_backward). gaussian_kl given the sample records an edge to
// the sample's node, so the sample's node runs after the KL's in every backward pass that runs the
// KL's. The KL's node then hands its upstream gradient to the sample's node (take_kl) and returns
// nothing itself; the sample's node adds the KL's gradients to its own, or, when no gradient
// reached the sample in that pass, returns the KL's alone (runs_without_gradient). Under
// create_graph both nodes use their Tensor-op formulas, apart.
class GaussianSampleNode final : public autograd::Node {
 public:
  GaussianSampleNode(const Tensor& rho, const Tensor& eps)
      : Node("GaussianSampleBackward"),
        rho_(rho, false),
        eps_(eps, false),
        rho_data_(rho.impl()->data()),
        rho_sizes_(rho.sizes()),
        rho_strides_(rho.strides()),
        rho_version_(rho.version()) {}

  // Whether a KL of (mu, rho) can join this sample: the same parameters, rho unchanged since.
  bool draws_from(const Tensor& mu, const Tensor& rho) const {
    return next()[0] == autograd::gradient_edge(mu) && next()[1] == autograd::gradient_edge(rho) &&
           rho.impl()->data() == rho_data_ && rho.sizes() == rho_sizes_ &&
           rho.strides() == rho_strides_ && rho.version() == rho_version_;
  }

  // The KL's node hands over its upstream gradient `g` and its saved tensors for this backward
  // pass; false when another KL already did (that one computes its own gradients).
  bool take_kl(const Tensor& g, const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
               const Tensor& prior_sigma) {
    if (kl_.grad.defined() && kl_.pass == engine_mark.pass) return false;
    kl_ = {engine_mark.pass, g, mu, rho, prior_mu, prior_sigma};
    return true;
  }

  bool runs_without_gradient() const override { return true; }

  Grads apply(Tensor&& grad) override {
    KlTerm kl = std::exchange(kl_, KlTerm{});
    const bool joined = kl.grad.defined() && kl.pass == engine_mark.pass;
    if (!joined) {
      if (!grad.defined()) return {};
      // dw/dmu = 1, dw/drho = eps * sigmoid(rho).
      if (next()[1] == nullptr) return {grad, Tensor()};
      const Tensor r = rho_.unpack(*this), e = eps_.unpack(*this);
      if (GradMode::is_enabled()) return {grad, grad * e * r.sigmoid()};  // create_graph
      Tensor grad_rho = detail::empty_tensor("gaussian_sample", r.sizes(), r.dtype(), r.device());
      detail::backend_of(r).gaussian_kernels()->gaussian_sample_backward(grad_rho, grad, r, e);
      return {grad, grad_rho};
    }
    GaussianKernels& kernels = *detail::backend_of(kl.rho).gaussian_kernels();
    const auto empty = [&] {
      return detail::empty_tensor("gaussian_sample_kl", kl.rho.sizes(), kl.rho.dtype(),
                                  kl.rho.device());
    };
    Tensor grad_mu = empty(), grad_rho = empty();
    if (!grad.defined()) {  // only the KL's: this sample's saved tensors are not needed
      kernels.gaussian_kl_backward(grad_mu, grad_rho, kl.grad, kl.mu, kl.rho, kl.prior_mu,
                                   kl.prior_sigma);
    } else {
      kernels.gaussian_sample_kl_backward(grad_mu, grad_rho, grad, kl.grad, kl.mu,
                                          rho_.unpack(*this), eps_.unpack(*this), kl.prior_mu,
                                          kl.prior_sigma);
    }
    return {grad_mu, grad_rho};
  }

  void release_saved() override {
    rho_.release();
    eps_.release();
    kl_ = {};
  }

 private:
  struct KlTerm {
    uint64_t pass = 0;
    Tensor grad, mu, rho, prior_mu, prior_sigma;
  };
  autograd::SavedTensor rho_, eps_;
  // Which rho this sample read: a KL joins only the same elements at the same version.
  const void* rho_data_;
  Shape rho_sizes_, rho_strides_;
  uint32_t rho_version_;
  KlTerm kl_;
};

}  // namespace

Tensor gaussian_sample(const Tensor& mu, const Tensor& rho, const Tensor& eps) {
  check_mu("gaussian_sample", mu);
  check_operand("gaussian_sample", "rho", rho, mu);
  check_operand("gaussian_sample", "eps", eps, mu);
  GaussianKernels* kernels = detail::backend_of(mu).gaussian_kernels();
  if (kernels == nullptr) return mu + softplus(rho) * eps;
  Tensor out = detail::empty_tensor("gaussian_sample", mu.sizes(), mu.dtype(), mu.device());
  kernels->gaussian_sample(out, mu, rho, eps);
  const Tensor inputs[] = {mu, rho};
  if (autograd::needs_recording(inputs)) {
    auto node = std::make_shared<GaussianSampleNode>(rho, eps);
    autograd::NodeBuilder::connect(*node, inputs, out);
  }
  return out;
}

Tensor gaussian_kl(const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
                   const Tensor& prior_sigma, const Tensor& sample) {
  check_mu("gaussian_kl", mu);
  check_operand("gaussian_kl", "rho", rho, mu);
  for (const Tensor* prior : {&prior_mu, &prior_sigma}) {
    detail::check_same_device("gaussian_kl", mu, *prior);
    BG_CHECK(broadcast_shapes("gaussian_kl", prior->sizes(), mu.sizes()) == mu.sizes(),
             "gaussian_kl", "the prior's ", describe(*prior), " does not broadcast to mu's shape ",
             shape_str(mu.sizes()));
  }
  // A learnable prior takes the Tensor-op formula, which differentiates in every operand.
  GaussianKernels* kernels = detail::backend_of(mu).gaussian_kernels();
  if (kernels == nullptr || prior_mu.requires_grad() || prior_sigma.requires_grad()) {
    const Tensor sigma = softplus(rho), diff = mu - prior_mu;
    return ((prior_sigma / sigma).log() +
            (sigma * sigma + diff * diff) / (prior_sigma * prior_sigma * 2) - 0.5)
        .sum();
  }
  const Tensor pm = detail::broadcast_to(detail::cast(prior_mu, mu.dtype()), mu.sizes());
  const Tensor ps = detail::broadcast_to(detail::cast(prior_sigma, mu.dtype()), mu.sizes());
  Tensor out = detail::empty_tensor("gaussian_kl", {}, mu.dtype(), mu.device());
  kernels->gaussian_kl(out, mu, rho, pm, ps);
  // The sample's node, when the KL's backward can join it (Note [Joined Gaussian backward]).
  std::shared_ptr<GaussianSampleNode> joined;
  if (sample.defined() && GradMode::is_enabled()) {
    joined = std::dynamic_pointer_cast<GaussianSampleNode>(sample.grad_fn());
    if (joined && !joined->draws_from(mu, rho)) joined.reset();
  }
  std::vector<Tensor> inputs = {mu, rho};
  if (joined) inputs.push_back(sample);
  // d/dmu = (mu - pm) / ps^2, d/drho = (sigma / ps^2 - 1 / sigma) sigmoid(rho).
  autograd::record(
      out, "GaussianKLBackward", inputs, {mu, rho, pm, ps}, false,
      [sample_node = std::weak_ptr<GaussianSampleNode>(joined), outputs = inputs.size()](
          const Context& c, const Tensor& g) -> Grads {
        const Tensor m = c.saved(0), r = c.saved(1), prior_mean = c.saved(2),
                     prior_std = c.saved(3);
        if (GradMode::is_enabled()) {  // create_graph: Tensor ops, differentiable again
          const Tensor sigma = softplus(r), inv_var = 1.0 / (prior_std * prior_std);
          Grads grads = {g * (m - prior_mean) * inv_var,
                         g * (sigma * inv_var - 1.0 / sigma) * r.sigmoid()};
          grads.resize(outputs);
          return grads;
        }
        if (const auto node = sample_node.lock();
            node && node->take_kl(g, m, r, prior_mean, prior_std)) {
          return Grads(outputs);  // the sample's node returns them (runs after this one)
        }
        Tensor grad_mu = detail::empty_tensor("gaussian_kl", m.sizes(), m.dtype(), m.device());
        Tensor grad_rho = detail::empty_tensor("gaussian_kl", m.sizes(), m.dtype(), m.device());
        detail::backend_of(m).gaussian_kernels()->gaussian_kl_backward(grad_mu, grad_rho, g, m, r,
                                                                       prior_mean, prior_std);
        Grads grads = {grad_mu, grad_rho};
        grads.resize(outputs);
        return grads;
      });
  return out;
}

}  // namespace bg::fused
