#pragma once
// Learning-rate schedulers (torch.optim.lr_scheduler of PyTorch 1.13).
//
// A scheduler changes the lr of every parameter group of an optimizer once per epoch:
//
//   bg::optim::StepLR scheduler(optimizer, /*step_size=*/30, /*gamma=*/0.1);
//   for (int epoch = 0; epoch < 100; ++epoch) {
//     train_one_epoch();      // optimizer.step() for each batch
//     scheduler.step();
//   }
//
// As in PyTorch, constructing a scheduler performs its first step (epoch 0), and step() computes
// the next lr from the groups' current lr (the "chainable" form), so schedulers can be combined and
// a lr changed by hand carries on from its new value. The base lrs are the groups' lrs when the
// scheduler is made. ReduceLROnPlateau instead lowers the lr when a metric stops improving.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/optim/optimizer.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::optim {

/// The base of the epoch-driven schedulers. A subclass computes its lrs in get_lr() and calls
/// step() once at the end of its constructor, as PyTorch's schedulers do.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Ends an epoch: advances last_epoch() and sets every group's lr to the schedule's value.
  void step();
  /// The lr of each group as the last step set it.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The epoch of the last step (0 after construction).
  int64_t last_epoch() const { return last_epoch_; }
  /// Each group's lr when the scheduler was made.
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 protected:
  /// `name` ("StepLR", ...) is how messages name the scheduler.
  LRScheduler(Optimizer& optimizer, std::string name);
  /// The lrs for epoch last_epoch(), one per group (PyTorch's get_lr).
  virtual std::vector<double> get_lr() = 0;
  /// The groups' lrs now.
  std::vector<double> current_lrs() const;
  const std::string& name() const { return name_; }

 private:
  Optimizer& optimizer_;
  std::string name_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  std::vector<double> last_lr_;
};

/// Multiplies the lr by gamma every step_size epochs.
class StepLR final : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// Multiplies the lr by gamma at each milestone epoch (by gamma^k at a milestone listed k times).
class MultiStepLR final : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, const std::vector<int64_t>& milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;

 private:
  std::map<int64_t, int64_t> milestones_;  // epoch -> how many times it is listed
  double gamma_;
};

/// Multiplies the lr by gamma every epoch.
class ExponentialLR final : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> get_lr() override;

 private:
  double gamma_;
};

/// Anneals the lr from its base value to eta_min along half a cosine period of T_max epochs
/// (and back up in the next T_max), with PyTorch's recursive formula.
class CosineAnnealingLR final : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);

 protected:
  std::vector<double> get_lr() override;

 private:
  int64_t T_max_;
  double eta_min_;
};

/// Sets the lr to base_lr * lr_lambda(epoch), with one function for all groups or one per group.
class LambdaLR final : public LRScheduler {
 public:
  using LrLambda = std::function<double(int64_t epoch)>;
  LambdaLR(Optimizer& optimizer, LrLambda lr_lambda);
  LambdaLR(Optimizer& optimizer, std::vector<LrLambda> lr_lambdas);

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<LrLambda> lr_lambdas_;
};

struct ReduceLROnPlateauOptions {
  /// Whether the metric should go down (a loss) or up (an accuracy).
  enum class Mode { Min, Max };
  /// Whether an improvement is measured relative to the best value or in absolute terms.
  enum class ThresholdMode { Rel, Abs };

  BG_ARG(Mode, mode) = Mode::Min;
  /// The lr is multiplied by factor (< 1) when it is reduced.
  BG_ARG(double, factor) = 0.1;
  /// Epochs without improvement tolerated before the lr is reduced.
  BG_ARG(int64_t, patience) = 10;
  /// How much better than the best a metric must be to count as an improvement.
  BG_ARG(double, threshold) = 1e-4;
  BG_ARG(ThresholdMode, threshold_mode) = ThresholdMode::Rel;
  /// Epochs to wait after a reduction before counting bad epochs again.
  BG_ARG(int64_t, cooldown) = 0;
  /// The smallest lr: one value for every group, or one per group.
  BG_ARG(std::vector<double>, min_lr) = {0.0};
  /// Reductions smaller than eps are not applied.
  BG_ARG(double, eps) = 1e-8;
};

/// Lowers every group's lr by a factor when a metric has not improved for `patience` epochs.
class ReduceLROnPlateau {
 public:
  using Mode = ReduceLROnPlateauOptions::Mode;
  using ThresholdMode = ReduceLROnPlateauOptions::ThresholdMode;

  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;

  /// Ends an epoch whose metric (e.g. the validation loss) was `metric`.
  void step(double metric);
  /// The lr of each group after the last step (the groups' lrs before the first).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  /// The best metric so far (+inf in min mode, -inf in max mode before the first step).
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }
  const ReduceLROnPlateauOptions& options() const { return options_; }

 private:
  bool is_better(double metric) const;
  void reduce_lr();
  double min_lr(size_t group) const;

  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace bg::optim

BG_API_END
