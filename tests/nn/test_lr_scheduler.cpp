// Learning-rate schedulers (bg::optim): the lr sequences of each scheduler against PyTorch 1.13's
// for 12 epochs on an optimizer with two parameter groups (lr 0.1 and 0.05), the chainable
// behaviour, and errors.
//
// The PyTorch numbers were printed by /usr/bin/python3 (torch 1.13) with
//   def opt():
//       a = torch.zeros(1, requires_grad=True); b = torch.zeros(1, requires_grad=True)
//       return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)
//   def run(make, epochs=12):   # e.g. make = lambda o: S.StepLR(o, 3, 0.5)
//       o = opt(); s = make(o); out = [s.get_last_lr()]
//       for _ in range(epochs):
//           o.step(); s.step(); out.append(s.get_last_lr())
//       return out   # printed per group with "%.17g"
// and for ReduceLROnPlateau, s._last_lr after each s.step(metric). Each test quotes its
// scheduler.

#include <cmath>
#include <functional>
#include <numbers>

#include "bg/nn.h"
#include "test_util.h"

using namespace bg;
using bg::test::check_error;

namespace {

using Lrs = std::vector<double>;

std::vector<Tensor> parameters() {
  return {zeros({1}).requires_grad_(), zeros({1}).requires_grad_()};
}

// SGD with groups of lr 0.1 and 0.05 over `params`.
optim::SGD make_optimizer(const std::vector<Tensor>& params) {
  return optim::SGD({optim::OptimizerParamGroup({params[0]}),
                     optim::OptimizerParamGroup({params[1]}, optim::SGDOptions(0.05))},
                    optim::SGDOptions(0.1));
}

// The lrs of each group after construction and after each of `epochs` steps.
std::vector<Lrs> schedule(optim::LRScheduler& scheduler, int epochs) {
  std::vector<Lrs> out(2);
  for (int epoch = 0; epoch <= epochs; ++epoch) {
    if (epoch > 0) scheduler.step();
    CHECK(scheduler.last_epoch() == epoch);
    for (size_t g = 0; g < 2; ++g) out[g].push_back(scheduler.get_last_lr()[g]);
  }
  return out;
}

// The schedule made by `make` matches PyTorch's lrs of each group for 12 epochs, and the
// optimizer's groups hold the last lrs.
void check_schedule(
    const std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>& make,
    const std::vector<Lrs>& pytorch) {
  const std::vector<Tensor> params = parameters();
  optim::SGD sgd = make_optimizer(params);
  const std::unique_ptr<optim::LRScheduler> scheduler = make(sgd);
  const std::vector<Lrs> lrs = schedule(*scheduler, 12);
  for (size_t g = 0; g < 2; ++g) {
    INFO("group ", g);
    REQUIRE(lrs[g].size() == pytorch[g].size());
    for (size_t e = 0; e < lrs[g].size(); ++e) {
      INFO("epoch ", e, ": ", lrs[g][e], " vs ", pytorch[g][e]);
      CHECK(lrs[g][e] == doctest::Approx(pytorch[g][e]).epsilon(1e-14));
    }
    CHECK(sgd.param_groups()[g].options().get_lr() == lrs[g].back());
  }
}

}  // namespace

TEST_CASE("StepLR matches PyTorch") {
  // S.StepLR(o, 3, 0.5)
  check_schedule(
      [](optim::Optimizer& o) { return std::make_unique<optim::StepLR>(o, 3, 0.5); },
      {{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625},
       {0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625, 0.00625, 0.00625,
        0.003125}});
}

TEST_CASE("MultiStepLR matches PyTorch, a repeated milestone counting twice") {
  // S.MultiStepLR(o, [2, 5, 5, 9], 0.1)
  check_schedule(
      [](optim::Optimizer& o) {
        return std::make_unique<optim::MultiStepLR>(o, std::vector<int64_t>{2, 5, 5, 9}, 0.1);
      },
      {{0.10000000000000001, 0.10000000000000001, 0.010000000000000002, 0.010000000000000002,
        0.010000000000000002, 0.00010000000000000005, 0.00010000000000000005,
        0.00010000000000000005, 0.00010000000000000005, 1.0000000000000006e-05,
        1.0000000000000006e-05, 1.0000000000000006e-05, 1.0000000000000006e-05},
       {0.050000000000000003, 0.050000000000000003, 0.005000000000000001, 0.005000000000000001,
        0.005000000000000001, 5.0000000000000023e-05, 5.0000000000000023e-05,
        5.0000000000000023e-05, 5.0000000000000023e-05, 5.000000000000003e-06,
        5.000000000000003e-06, 5.000000000000003e-06, 5.000000000000003e-06}});
}

TEST_CASE("ExponentialLR matches PyTorch") {
  // S.ExponentialLR(o, 0.9)
  check_schedule(
      [](optim::Optimizer& o) { return std::make_unique<optim::ExponentialLR>(o, 0.9); },
      {{0.10000000000000001, 0.090000000000000011, 0.081000000000000016, 0.07290000000000002,
        0.065610000000000016, 0.059049000000000018, 0.05314410000000002, 0.047829690000000022,
        0.043046721000000024, 0.03874204890000002, 0.034867844010000017, 0.031381059609000013,
        0.028242953648100012},
       {0.050000000000000003, 0.045000000000000005, 0.040500000000000008, 0.03645000000000001,
        0.032805000000000008, 0.029524500000000009, 0.02657205000000001, 0.023914845000000011,
        0.021523360500000012, 0.01937102445000001, 0.017433922005000008, 0.015690529804500006,
        0.014121476824050006}});
}

TEST_CASE("CosineAnnealingLR matches PyTorch down to eta_min and back up") {
  // S.CosineAnnealingLR(o, 4, 0.001): epochs 5 and 13 take the branch past the bottom.
  check_schedule(
      [](optim::Optimizer& o) { return std::make_unique<optim::CosineAnnealingLR>(o, 4, 0.001); },
      {{0.10000000000000001, 0.085501785668734107, 0.050500000000000003, 0.0154982143312659, 0.001,
        0.015498214331265896, 0.05050000000000001, 0.085501785668734134, 0.10000000000000003,
        0.085501785668734134, 0.050500000000000031, 0.015498214331265945, 0.001},
       {0.050000000000000003, 0.042824116139070417, 0.025500000000000002, 0.0081758838609295864,
        0.001, 0.0081758838609295847, 0.025500000000000005, 0.042824116139070431,
        0.050000000000000024, 0.042824116139070438, 0.025500000000000019, 0.0081758838609296107,
        0.001}});
}

TEST_CASE("CosineAnnealingLR follows the closed form") {
  // Without outside changes the recursion gives eta_min + (base - eta_min)(1 + cos(pi t / T)) / 2.
  const std::vector<Tensor> params = parameters();
  optim::SGD sgd = make_optimizer(params);
  optim::CosineAnnealingLR scheduler(sgd, 7, 0.01);
  const std::vector<Lrs> lrs = schedule(scheduler, 20);
  for (size_t g = 0; g < 2; ++g) {
    for (size_t t = 0; t < lrs[g].size(); ++t) {
      const double base = g == 0 ? 0.1 : 0.05;
      const double closed =
          0.01 + (base - 0.01) * (1 + std::cos(std::numbers::pi * static_cast<double>(t) / 7)) / 2;
      INFO("group ", g, ", epoch ", t);
      CHECK(lrs[g][t] == doctest::Approx(closed).epsilon(1e-12));
    }
  }
}

TEST_CASE("LambdaLR matches PyTorch with one function and with one per group") {
  // S.LambdaLR(o, lambda e: 1.0 / (1 + e))
  check_schedule(
      [](optim::Optimizer& o) {
        return std::make_unique<optim::LambdaLR>(
            o, [](int64_t epoch) { return 1.0 / (1.0 + static_cast<double>(epoch)); });
      },
      {{0.10000000000000001, 0.050000000000000003, 0.033333333333333333, 0.025000000000000001,
        0.020000000000000004, 0.016666666666666666, 0.014285714285714285, 0.012500000000000001,
        0.011111111111111112, 0.010000000000000002, 0.0090909090909090922, 0.0083333333333333332,
        0.0076923076923076927},
       {0.050000000000000003, 0.025000000000000001, 0.016666666666666666, 0.012500000000000001,
        0.010000000000000002, 0.0083333333333333332, 0.0071428571428571426, 0.0062500000000000003,
        0.0055555555555555558, 0.005000000000000001, 0.0045454545454545461, 0.0041666666666666666,
        0.0038461538461538464}});
  // S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: e // 3])
  check_schedule(
      [](optim::Optimizer& o) {
        return std::make_unique<optim::LambdaLR>(
            o, std::vector<optim::LambdaLR::LrLambda>{
                   [](int64_t epoch) { return std::pow(0.95, static_cast<double>(epoch)); },
                   [](int64_t epoch) { return static_cast<double>(epoch / 3); }});
      },
      {{0.10000000000000001, 0.095000000000000001, 0.090249999999999997, 0.085737499999999994,
        0.081450624999999999, 0.077378093749999988, 0.07350918906249998, 0.069833729609374978,
        0.066342043128906222, 0.063024940972460905, 0.059873693923837873, 0.056880009227645967,
        0.054036008766263667},
       {0, 0, 0, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003,
        0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.15000000000000002,
        0.15000000000000002, 0.15000000000000002, 0.20000000000000001}});
}

TEST_CASE("schedulers chain from the current lr and set the lr the optimizer uses") {
  const std::vector<Tensor> params = parameters();
  optim::SGD sgd = make_optimizer(params);
  optim::StepLR step_lr(sgd, 2, 0.5);
  step_lr.step();
  step_lr.step();  // epoch 2: 0.1 -> 0.05
  CHECK(sgd.param_groups()[0].options().get_lr() == 0.05);
  // A lr set by hand carries on: the next decay halves it.
  sgd.param_groups()[0].options().set_lr(1.0);
  step_lr.step();
  step_lr.step();  // epoch 4
  CHECK(step_lr.get_last_lr() == Lrs{0.5, 0.0125});
  CHECK(step_lr.base_lrs() == Lrs{0.1, 0.05});
  // Two schedulers compose: ExponentialLR multiplies what StepLR left.
  optim::ExponentialLR exponential(sgd, 0.1);
  exponential.step();
  CHECK(sgd.param_groups()[0].options().get_lr() == doctest::Approx(0.05).epsilon(1e-15));
  // The optimizer steps with the scheduled lr.
  params[0].set_grad(ones({1}));
  sgd.step();
  CHECK(params[0].item<float>() == doctest::Approx(-0.05).epsilon(1e-7));
}

namespace {

// The lrs of each group after each ReduceLROnPlateau step on `metrics`.
std::vector<Lrs> plateau_schedule(const optim::ReduceLROnPlateauOptions& options,
                                  const Lrs& metrics) {
  const std::vector<Tensor> params = parameters();
  optim::SGD sgd = make_optimizer(params);
  optim::ReduceLROnPlateau scheduler(sgd, options);
  CHECK(scheduler.get_last_lr() == Lrs{0.1, 0.05});
  std::vector<Lrs> out(2);
  for (double metric : metrics) {
    scheduler.step(metric);
    for (size_t g = 0; g < 2; ++g) out[g].push_back(scheduler.get_last_lr()[g]);
  }
  CHECK(scheduler.last_epoch() == static_cast<int64_t>(metrics.size()));
  return out;
}

void check_lrs(const std::vector<Lrs>& actual, const std::vector<Lrs>& expected) {
  for (size_t g = 0; g < 2; ++g) {
    INFO("group ", g);
    REQUIRE(actual[g].size() == expected[g].size());
    for (size_t e = 0; e < actual[g].size(); ++e) {
      INFO("epoch ", e + 1);
      CHECK(actual[g][e] == doctest::Approx(expected[g][e]).epsilon(1e-14));
    }
  }
}

const Lrs kFalling = {1.0, 0.95, 0.93, 0.92, 0.91, 0.5, 0.49, 0.6, 0.7, 0.8, 0.45, 0.44, 0.43, 0.9};
const Lrs kRising = {0.1, 0.2, 0.22, 0.3, 0.31, 0.32, 0.5, 0.4, 0.56, 0.57, 0.58, 0.7, 0.7, 0.7};

}  // namespace

TEST_CASE("ReduceLROnPlateau matches PyTorch") {
  using Options = optim::ReduceLROnPlateauOptions;
  SUBCASE("min mode, relative threshold, cooldown, a min_lr per group") {
    // S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, threshold=0.1,
    //                     threshold_mode="rel", cooldown=1, min_lr=[0.04, 0.01]), on kFalling
    check_lrs(plateau_schedule(
                  Options().factor(0.5).patience(2).threshold(0.1).cooldown(1).min_lr({0.04, 0.01}),
                  kFalling),
              {{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04},
               {0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.0125,
                0.0125, 0.0125}});
  }
  SUBCASE("max mode, absolute threshold") {
    // S.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=1, threshold=0.05,
    //                     threshold_mode="abs", cooldown=2, min_lr=0.001), on kRising
    check_lrs(plateau_schedule(Options()
                                   .mode(Options::Mode::Max)
                                   .factor(0.5)
                                   .patience(1)
                                   .threshold(0.05)
                                   .threshold_mode(Options::ThresholdMode::Abs)
                                   .cooldown(2)
                                   .min_lr({0.001}),
                               kRising),
              {{0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025},
               {0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.025, 0.0125, 0.0125,
                0.0125, 0.0125}});
  }
  SUBCASE("reductions smaller than eps are skipped") {
    // S.ReduceLROnPlateau(o, mode="min", factor=0.9, patience=1, threshold=0.0,
    //                     threshold_mode="abs", eps=0.006), on kFalling: group 1 would lose
    // only 0.005.
    check_lrs(
        plateau_schedule(Options()
                             .factor(0.9)
                             .patience(1)
                             .threshold(0.0)
                             .threshold_mode(Options::ThresholdMode::Abs)
                             .eps(0.006),
                         kFalling),
        {{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.090000000000000011, 0.090000000000000011,
          0.090000000000000011, 0.090000000000000011, 0.090000000000000011, 0.090000000000000011},
         Lrs(14, 0.05)});
  }
}

TEST_CASE("ReduceLROnPlateau tracks the best metric and its bad epochs") {
  const std::vector<Tensor> params = parameters();
  optim::SGD sgd = make_optimizer(params);
  optim::ReduceLROnPlateau scheduler(
      sgd, optim::ReduceLROnPlateauOptions().patience(1).cooldown(1).threshold(0.0));
  CHECK(scheduler.best() == INFINITY);
  scheduler.step(2.0);
  CHECK(scheduler.best() == 2.0);
  scheduler.step(std::nan(""));  // NaN never improves
  CHECK(scheduler.num_bad_epochs() == 1);
  scheduler.step(3.0);  // the second bad epoch exceeds patience 1: reduce, then cool down
  CHECK(scheduler.get_last_lr() == Lrs{0.1 * 0.1, 0.05 * 0.1});
  CHECK(scheduler.in_cooldown());
  CHECK(scheduler.num_bad_epochs() == 0);
  scheduler.step(3.0);  // ignored in cooldown
  CHECK(!scheduler.in_cooldown());
  CHECK(scheduler.num_bad_epochs() == 0);
  CHECK(scheduler.best() == 2.0);
}

TEST_CASE("scheduler errors name the scheduler") {
  const std::vector<Tensor> params = parameters();
  optim::SGD sgd = make_optimizer(params);
  check_error({"StepLR: step_size must be positive, got 0"}, [&] { optim::StepLR(sgd, 0); });
  check_error({"CosineAnnealingLR: T_max must be positive, got -1"},
              [&] { optim::CosineAnnealingLR(sgd, -1); });
  check_error({"LambdaLR: expected 2 lr_lambdas (one per parameter group), got 1"}, [&] {
    optim::LambdaLR(sgd, std::vector<optim::LambdaLR::LrLambda>{[](int64_t) { return 1.0; }});
  });
  check_error({"LambdaLR: an lr_lambda is empty"},
              [&] { optim::LambdaLR(sgd, optim::LambdaLR::LrLambda()); });
  check_error({"ReduceLROnPlateau: factor should be < 1.0, got 1"}, [&] {
    optim::ReduceLROnPlateau(sgd, optim::ReduceLROnPlateauOptions().factor(1.0));
  });
  check_error({"ReduceLROnPlateau: expected 1 or 2 min_lrs (one per parameter group), got 3"}, [&] {
    optim::ReduceLROnPlateau(sgd, optim::ReduceLROnPlateauOptions().min_lr({0.1, 0.2, 0.3}));
  });
  optim::ExponentialLR exponential(sgd, 0.5);
  sgd.add_param_group(optim::OptimizerParamGroup({zeros({1}).requires_grad_()}));
  check_error({"ExponentialLR: the optimizer has 3 parameter groups, but the scheduler was made "
               "for 2"},
              [&] { exponential.step(); });
}
