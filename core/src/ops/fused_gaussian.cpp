// Frontends of the fused Gaussian ops (fused_gaussian.h): checks, kernels, derivatives. On a
// backend without GaussianKernels (and for a learnable prior) the same functions are composed of
// Tensor ops, which autograd differentiates by itself.

#include "bg/core/fused_gaussian.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg::fused {

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
// (GaussianKernels::gaussian_sample_kl_backward). The KL's node gets an edge to the sample's node,
// so the sample's node runs after the KL's in every backward pass that runs the KL's: the KL's
// node then hands its upstream gradient to the sample's node (take_kl) and returns nothing
// itself; the sample's node adds the KL's gradients to its own, or, when no gradient reached the
// sample in that pass, returns the KL's alone (runs_without_gradient). The edge is made by
// whichever comes second: gaussian_kl given the draw, or, for a KL computed before the draw (C++
// may evaluate `nll(model(x)) + kl()` right to left), the draw of the same mu and rho, which finds
// the KL on this thread's list of pending KLs. Joining is always correct: any draw of the same mu
// and rho will do, as the KL's gradient does not depend on the draw. Under create_graph both nodes
// use their Tensor-op formulas, apart.
// Which mu and rho an op read: their places in the graph, and rho's elements at their version. A
// sample and a KL join only when theirs are the same.
struct ParameterKey {
  const autograd::Node* mu_edge;
  const autograd::Node* rho_edge;
  const void* rho_data;
  Shape rho_sizes, rho_strides;
  uint32_t rho_version;

  ParameterKey(const Tensor& mu, const Tensor& rho)
      : mu_edge(autograd::gradient_edge(mu).get()),
        rho_edge(autograd::gradient_edge(rho).get()),
        rho_data(rho.impl()->data()),
        rho_sizes(rho.sizes()),
        rho_strides(rho.strides()),
        rho_version(rho.version()) {}
  bool operator==(const ParameterKey&) const = default;
};

class GaussianSampleNode final : public autograd::Node {
 public:
  GaussianSampleNode(const Tensor& mu, const Tensor& rho, const Tensor& eps)
      : Node("GaussianSampleBackward"), key(mu, rho), rho_(rho, false), eps_(eps, false) {}

  const ParameterKey key;  // the mu and rho it was drawn from

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
  KlTerm kl_;
};

// The KL's node: d/dmu = (mu - pm) / ps^2, d/drho = (sigma / ps^2 - 1 / sigma) sigmoid(rho), or
// nothing when it hands its gradient to the sample's node it joined.
class GaussianKLNode final : public autograd::Node {
 public:
  GaussianKLNode(const Tensor& mu, const Tensor& rho, const Tensor& pm, const Tensor& ps)
      : Node("GaussianKLBackward"),
        key(mu, rho),
        saved_{autograd::SavedTensor(mu, false), autograd::SavedTensor(rho, false),
               autograd::SavedTensor(pm, false), autograd::SavedTensor(ps, false)} {}

  const ParameterKey key;  // the mu and rho it was computed from

  // Joins `sample`'s backward: an edge to its node, which then runs after this one.
  void join(const std::shared_ptr<GaussianSampleNode>& sample) {
    next_.push_back(sample);
    sample_ = sample;
  }
  bool joined() const { return next().size() == 3; }

  Grads apply(Tensor&& g) override {
    const Tensor m = saved_[0].unpack(*this), r = saved_[1].unpack(*this),
                 pm = saved_[2].unpack(*this), ps = saved_[3].unpack(*this);
    Grads grads(next().size());
    if (GradMode::is_enabled()) {  // create_graph: Tensor ops, differentiable again
      const Tensor sigma = softplus(r), inv_var = 1.0 / (ps * ps);
      grads[0] = g * (m - pm) * inv_var;
      grads[1] = g * (sigma * inv_var - 1.0 / sigma) * r.sigmoid();
      return grads;
    }
    if (const auto sample = sample_.lock(); sample && sample->take_kl(g, m, r, pm, ps))
      return grads;  // the sample's node returns them
    grads[0] = detail::empty_tensor("gaussian_kl", m.sizes(), m.dtype(), m.device());
    grads[1] = detail::empty_tensor("gaussian_kl", m.sizes(), m.dtype(), m.device());
    detail::backend_of(m).gaussian_kernels()->gaussian_kl_backward(grads[0], grads[1], g, m, r, pm,
                                                                   ps);
    return grads;
  }

  void release_saved() override {
    for (autograd::SavedTensor& t : saved_) t.release();
  }

 private:
  std::array<autograd::SavedTensor, 4> saved_;
  std::weak_ptr<GaussianSampleNode> sample_;
};

// The KLs recorded on this thread that no sample has joined yet: a loss may compute the KL before
// the forward pass draws the weights (in `nll(model(x)) + kl()`, C++ may evaluate either operand
// first), and the draw then joins the KL. Weak: a KL's graph dies as it would without this list.
// Bounded; a KL that falls off it only misses the join.
class PendingKLs {
 public:
  void add(const std::shared_ptr<GaussianKLNode>& kl) {
    std::erase_if(list_, [](const auto& k) { return k.expired(); });
    if (list_.size() >= kCapacity) list_.erase(list_.begin());
    list_.push_back(kl);
  }
  // The pending KL of the same mu and rho as `sample`, taken off the list; null if none.
  std::shared_ptr<GaussianKLNode> take(const ParameterKey& sample) {
    for (auto it = list_.rbegin(); it != list_.rend(); ++it) {
      const auto kl = it->lock();
      if (kl && !kl->joined() && kl->key == sample) {
        list_.erase(std::next(it).base());
        return kl;
      }
    }
    return nullptr;
  }

 private:
  static constexpr size_t kCapacity = 256;
  std::vector<std::weak_ptr<GaussianKLNode>> list_;
};

thread_local PendingKLs pending_kls;

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
    auto node = detail::make_pooled<GaussianSampleNode>(mu, rho, eps);
    autograd::NodeBuilder::connect(*node, inputs, out);
    if (const auto kl = pending_kls.take(node->key)) kl->join(node);
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
  const Tensor inputs[] = {mu, rho};
  if (!autograd::needs_recording(inputs)) return out;
  auto node = detail::make_pooled<GaussianKLNode>(mu, rho, pm, ps);
  autograd::NodeBuilder::connect(*node, inputs, out);
  // Join the sample's node (Note [Joined Gaussian backward]): the one given, or the next draw of
  // the same mu and rho.
  auto drawn =
      sample.defined() ? std::dynamic_pointer_cast<GaussianSampleNode>(sample.grad_fn()) : nullptr;
  if (drawn && drawn->key == node->key) {
    node->join(drawn);
  } else {
    pending_kls.add(node);
  }
  return out;
}

}  // namespace bg::fused
