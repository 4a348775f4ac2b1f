#include "bg/nn/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace bg::optim {

namespace {

std::vector<double> group_lrs(const Optimizer& optimizer) {
  std::vector<double> lrs;
  for (const OptimizerParamGroup& group : optimizer.param_groups()) {
    lrs.push_back(group.options().get_lr());
  }
  return lrs;
}

}  // namespace

// ---- LRScheduler --------------------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer, std::string name)
    : optimizer_(optimizer), name_(std::move(name)), base_lrs_(current_lrs()) {}

std::vector<double> LRScheduler::current_lrs() const { return group_lrs(optimizer_); }

void LRScheduler::step() {
  std::vector<OptimizerParamGroup>& groups = optimizer_.param_groups();
  BG_CHECK(groups.size() == base_lrs_.size(), name_, "the optimizer has ", groups.size(),
           " parameter groups, but the scheduler was made for ", base_lrs_.size());
  ++last_epoch_;
  const std::vector<double> lrs = get_lr();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lrs[i]);
  last_lr_ = lrs;
}

// ---- StepLR, MultiStepLR, ExponentialLR ---------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
  BG_CHECK(step_size > 0, "StepLR", "step_size must be positive, got ", step_size);
  step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (last_epoch() == 0 || last_epoch() % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, const std::vector<int64_t>& milestones, double gamma)
    : LRScheduler(optimizer, "MultiStepLR"), gamma_(gamma) {
  for (int64_t milestone : milestones) ++milestones_[milestone];
  step();
}

std::vector<double> MultiStepLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  const auto milestone = milestones_.find(last_epoch());
  if (milestone == milestones_.end()) return lrs;
  const double factor = std::pow(gamma_, static_cast<double>(milestone->second));
  for (double& lr : lrs) lr *= factor;
  return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler(optimizer, "ExponentialLR"), gamma_(gamma) {
  step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (last_epoch() == 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

// ---- CosineAnnealingLR --------------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer, "CosineAnnealingLR"), T_max_(T_max), eta_min_(eta_min) {
  BG_CHECK(T_max > 0, "CosineAnnealingLR", "T_max must be positive, got ", T_max);
  step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  constexpr double pi = std::numbers::pi;
  std::vector<double> lrs = current_lrs();
  const int64_t epoch = last_epoch();
  const auto t_max = static_cast<double>(T_max_);
  if (epoch == 0) return lrs;
  for (size_t i = 0; i < lrs.size(); ++i) {
    if ((epoch - 1 - T_max_) % (2 * T_max_) == 0) {
      // The bottom of the cosine: the recursive ratio below would divide by 0.
      lrs[i] = lrs[i] + (base_lrs()[i] - eta_min_) * (1 - std::cos(pi / t_max)) / 2;
    } else {
      lrs[i] = (1 + std::cos(pi * static_cast<double>(epoch) / t_max)) /
                   (1 + std::cos(pi * static_cast<double>(epoch - 1) / t_max)) *
                   (lrs[i] - eta_min_) +
               eta_min_;
    }
  }
  return lrs;
}

// ---- LambdaLR -----------------------------------------------------------------------------------

LambdaLR::LambdaLR(Optimizer& optimizer, LrLambda lr_lambda)
    : LambdaLR(optimizer,
               std::vector<LrLambda>(optimizer.param_groups().size(), std::move(lr_lambda))) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<LrLambda> lr_lambdas)
    : LRScheduler(optimizer, "LambdaLR"), lr_lambdas_(std::move(lr_lambdas)) {
  BG_CHECK(lr_lambdas_.size() == base_lrs().size(), "LambdaLR", "expected ", base_lrs().size(),
           " lr_lambdas (one per parameter group), got ", lr_lambdas_.size());
  for (const LrLambda& lr_lambda : lr_lambdas_) {
    BG_CHECK(static_cast<bool>(lr_lambda), "LambdaLR", "an lr_lambda is empty");
  }
  step();
}

std::vector<double> LambdaLR::get_lr() {
  std::vector<double> lrs;
  for (size_t i = 0; i < lr_lambdas_.size(); ++i) {
    lrs.push_back(base_lrs()[i] * lr_lambdas_[i](last_epoch()));
  }
  return lrs;
}

// ---- ReduceLROnPlateau --------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), options_(std::move(options)) {
  BG_CHECK(options_.factor() < 1.0, "ReduceLROnPlateau", "factor should be < 1.0, got ",
           options_.factor());
  const size_t groups = optimizer_.param_groups().size();
  BG_CHECK(options_.min_lr().size() == 1 || options_.min_lr().size() == groups, "ReduceLROnPlateau",
           "expected 1 or ", groups, " min_lrs (one per parameter group), got ",
           options_.min_lr().size());
  best_ = options_.mode() == Mode::Min ? std::numeric_limits<double>::infinity()
                                       : -std::numeric_limits<double>::infinity();
  last_lr_ = group_lrs(optimizer_);
}

bool ReduceLROnPlateau::is_better(double metric) const {
  const double threshold = options_.threshold();
  const bool relative = options_.threshold_mode() == ThresholdMode::Rel;
  if (options_.mode() == Mode::Min) {
    return relative ? metric < best_ * (1.0 - threshold) : metric < best_ - threshold;
  }
  return relative ? metric > best_ * (threshold + 1.0) : metric > best_ + threshold;
}

double ReduceLROnPlateau::min_lr(size_t group) const {
  const std::vector<double>& min_lrs = options_.min_lr();
  if (min_lrs.size() == 1) return min_lrs[0];
  BG_CHECK(group < min_lrs.size(), "ReduceLROnPlateau", "the optimizer has more parameter groups ",
           "than the ", min_lrs.size(), " min_lrs given");
  return min_lrs[group];
}

void ReduceLROnPlateau::reduce_lr() {
  std::vector<OptimizerParamGroup>& groups = optimizer_.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const double old_lr = groups[i].options().get_lr();
    const double new_lr = std::max(old_lr * options_.factor(), min_lr(i));
    if (old_lr - new_lr > options_.eps()) groups[i].options().set_lr(new_lr);
  }
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (in_cooldown()) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience()) {
    reduce_lr();
    cooldown_counter_ = options_.cooldown();
    num_bad_epochs_ = 0;
  }
  last_lr_ = group_lrs(optimizer_);
}

}  // namespace bg::optim
