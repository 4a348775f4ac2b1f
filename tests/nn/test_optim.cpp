// Optimizers (bg::optim), their fused kernels (bg::fused) and gradient clipping
// (bg::nn::utils): updates against hand-written double-precision references and against PyTorch
// 1.13, the fused kernels against the compositions of Tensor ops a backend without them runs,
// parameter groups, state and its round trip, and error messages.
//
// The problem every optimizer runs: five parameters starting at kInit; at step t the gradient is
// w * param + b * kScale[t] (a quadratic whose linear term changes, so moments grow and shrink).
// The PyTorch numbers are the float64 parameters after five steps, printed by /usr/bin/python3
// (torch 1.13) with
//   init = [0.5, -1.0, 2.0, -0.25, 1.5]
//   w = torch.tensor([1.0, 0.5, 2.0, 3.0, 0.1], dtype=torch.float64)
//   b = torch.tensor([0.1, -0.2, 0.3, 1.0, -1.0], dtype=torch.float64)
//   for name, kw in configs:   # e.g. ("Adam", dict(lr=0.1, amsgrad=True))
//       p = torch.tensor(init, dtype=torch.float64, requires_grad=True)
//       opt = getattr(torch.optim, name)([p], **kw)
//       for s in [1.0, -0.5, 0.1, 2.0, 0.05]:
//           p.grad = p.detach() * w + b * s
//           opt.step()
//       print(name, kw, ", ".join("%.17g" % v for v in p.detach().tolist()))
// Each case below quotes its config.

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include "bg/nn.h"
#include "test_util.h"

using namespace bg;
using bg::test::check_close;
using bg::test::check_equal;
using bg::test::check_error;
using bg::test::values;

namespace {

using Vec = std::vector<double>;

const Vec kInit = {0.5, -1.0, 2.0, -0.25, 1.5};
const Vec kW = {1.0, 0.5, 2.0, 3.0, 0.1};
const Vec kB = {0.1, -0.2, 0.3, 1.0, -1.0};
const Vec kScale = {1.0, -0.5, 0.1, 2.0, 0.05};
constexpr int kSteps = 5;

// ---- Double-precision references of PyTorch's update rules --------------------------------------

// One update of the parameters `p` from the gradient `g`; `step` counts from 1.
using ReferenceStep = std::function<void(Vec& p, const Vec& g, int64_t step)>;

ReferenceStep sgd_reference(const optim::SGDOptions& o) {
  return [o, buf = Vec(kInit.size())](Vec& p, const Vec& grad, int64_t step) mutable {
    for (size_t i = 0; i < p.size(); ++i) {
      double d = o.maximize() ? -grad[i] : grad[i];
      d += o.weight_decay() * p[i];
      if (o.momentum() != 0) {
        buf[i] = step == 1 ? d : o.momentum() * buf[i] + (1 - o.dampening()) * d;
        d = o.nesterov() ? d + o.momentum() * buf[i] : buf[i];
      }
      p[i] -= o.lr() * d;
    }
  };
}

struct AdamConfig {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize, decoupled;
};

ReferenceStep adam_reference(const AdamConfig& c) {
  return [c, m = Vec(kInit.size()), v = Vec(kInit.size()), v_max = Vec(kInit.size())](
             Vec& p, const Vec& grad, int64_t step) mutable {
    const auto t = static_cast<double>(step);
    for (size_t i = 0; i < p.size(); ++i) {
      double g = c.maximize ? -grad[i] : grad[i];
      if (c.decoupled) {
        p[i] *= 1 - c.lr * c.weight_decay;
      } else {
        g += c.weight_decay * p[i];
      }
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      v_max[i] = std::max(v_max[i], v[i]);
      const double second = c.amsgrad ? v_max[i] : v[i];
      const double denom = std::sqrt(second) / std::sqrt(1 - std::pow(c.beta2, t)) + c.eps;
      p[i] -= c.lr / (1 - std::pow(c.beta1, t)) * m[i] / denom;
    }
  };
}

template <typename Options>
AdamConfig adam_config(const Options& o, bool decoupled) {
  return {o.lr(),
          std::get<0>(o.betas()),
          std::get<1>(o.betas()),
          o.eps(),
          o.weight_decay(),
          o.amsgrad(),
          o.maximize(),
          decoupled};
}

ReferenceStep rmsprop_reference(const optim::RMSpropOptions& o) {
  return [o, square = Vec(kInit.size()), average = Vec(kInit.size()), buf = Vec(kInit.size())](
             Vec& p, const Vec& grad, int64_t) mutable {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = o.maximize() ? -grad[i] : grad[i];
      g += o.weight_decay() * p[i];
      square[i] = o.alpha() * square[i] + (1 - o.alpha()) * g * g;
      double variance = square[i];
      if (o.centered()) {
        average[i] = o.alpha() * average[i] + (1 - o.alpha()) * g;
        variance -= average[i] * average[i];
      }
      const double avg = std::sqrt(variance) + o.eps();
      if (o.momentum() > 0) {
        buf[i] = o.momentum() * buf[i] + g / avg;
        p[i] -= o.lr() * buf[i];
      } else {
        p[i] -= o.lr() * g / avg;
      }
    }
  };
}

ReferenceStep adagrad_reference(const optim::AdagradOptions& o) {
  return [o, sum = Vec(kInit.size(), o.initial_accumulator_value())](Vec& p, const Vec& grad,
                                                                     int64_t step) mutable {
    const double lr = o.lr() / (1 + static_cast<double>(step - 1) * o.lr_decay());
    for (size_t i = 0; i < p.size(); ++i) {
      double g = o.maximize() ? -grad[i] : grad[i];
      g += o.weight_decay() * p[i];
      sum[i] += g * g;
      p[i] -= lr * g / (std::sqrt(sum[i]) + o.eps());
    }
  };
}

// ---- The cases ----------------------------------------------------------------------------------

struct Case {
  std::string config;  // PyTorch's constructor arguments
  std::function<std::unique_ptr<optim::Optimizer>(const Tensor& param)> make;
  std::function<ReferenceStep()> reference;
  Vec pytorch;  // float64 parameters after kSteps steps
};

template <typename Optimizer, typename Options>
Case make_case(std::string config, const Options& options, std::function<ReferenceStep()> reference,
               Vec pytorch) {
  return {std::move(config),
          [options](const Tensor& param) {
            return std::make_unique<Optimizer>(std::vector<Tensor>{param}, options);
          },
          std::move(reference), std::move(pytorch)};
}

Case sgd(std::string config, const optim::SGDOptions& o, Vec pytorch) {
  return make_case<optim::SGD>(
      config, o, [o] { return sgd_reference(o); }, std::move(pytorch));
}
Case adam(std::string config, const optim::AdamOptions& o, Vec pytorch) {
  return make_case<optim::Adam>(
      config, o, [o] { return adam_reference(adam_config(o, false)); }, std::move(pytorch));
}
Case adamw(std::string config, const optim::AdamWOptions& o, Vec pytorch) {
  return make_case<optim::AdamW>(
      config, o, [o] { return adam_reference(adam_config(o, true)); }, std::move(pytorch));
}
Case rmsprop(std::string config, const optim::RMSpropOptions& o, Vec pytorch) {
  return make_case<optim::RMSprop>(
      config, o, [o] { return rmsprop_reference(o); }, std::move(pytorch));
}
Case adagrad(std::string config, const optim::AdagradOptions& o, Vec pytorch) {
  return make_case<optim::Adagrad>(
      config, o, [o] { return adagrad_reference(o); }, std::move(pytorch));
}

// Every option that changes the math, alone and combined.
std::vector<Case> cases() {
  using namespace optim;
  return {
      sgd("SGD lr=0.1", SGDOptions(0.1),
          {0.27301900000000001, -0.72525956250000001, 0.59933200000000009, -0.1987775,
           1.6868307258499999}),
      sgd("SGD lr=0.1, momentum=0.9", SGDOptions(0.1).momentum(0.9),
          {-0.066056000000000031, -0.30147206249999997, -1.2832880000000002, -0.13138999999999998,
           1.9422314298500001}),
      sgd("SGD lr=0.1, momentum=0.9, dampening=0.5", SGDOptions(0.1).momentum(0.9).dampening(0.5),
          {0.08117431249999997, -0.50036259765624991, -0.68584800000000001, -0.16401171874999995,
           1.894079094615625}),
      sgd("SGD lr=0.1, momentum=0.9, nesterov=True", SGDOptions(0.1).momentum(0.9).nesterov(true),
          {-0.11087393684000006, -0.17515855921687498, -0.95592529471999999, -0.21835207497499998,
           2.0757551460907417}),
      sgd("SGD lr=0.1, weight_decay=0.1", SGDOptions(0.1).weight_decay(0.1),
          {0.25736149335000003, -0.68622768320000005, 0.56034954049999997, -0.19310345472499998,
           1.6116624112000002}),
      sgd("SGD lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True",
          SGDOptions(0.1).momentum(0.9).weight_decay(0.1).maximize(true),
          {1.3065652705499999, -1.7195306176, 9.9079927050999999, -0.7868245842249999,
           0.85033999999999976}),
      adam("Adam lr=0.1", AdamOptions(0.1),
           {0.028973627216821771, -0.5240569871740568, 1.5036500927641134, -0.18267599117041411,
            1.7003087412672802}),
      adam("Adam lr=0.1, betas=(0.8, 0.99), weight_decay=0.1",
           AdamOptions(0.1).betas({0.8, 0.99}).weight_decay(0.1),
           {0.037902820984888383, -0.52363472190780969, 1.5057889430295259, -0.18088392493274305,
            1.6252743260674853}),
      // With beta2 = 0.5 the second moment falls as the gradient shrinks, so AMSGrad's running
      // maximum differs from it (the next case is the same without AMSGrad).
      adam("Adam lr=0.1, betas=(0.9, 0.5), amsgrad=True",
           AdamOptions(0.1).betas({0.9, 0.5}).amsgrad(true),
           {0.040243896056053829, -0.54948119371495319, 1.4976473137172195, -0.19946260004673103,
            1.6768985661272833}),
      adam("Adam lr=0.1, betas=(0.9, 0.5)", AdamOptions(0.1).betas({0.9, 0.5}),
           {-0.03858306209999722, -0.49926440424018559, 1.4903204380607227, -0.18689197332051968,
            1.6891622744738022}),
      adam("Adam lr=0.1, eps=1e-3, maximize=True", AdamOptions(0.1).eps(1e-3).maximize(true),
           {0.99888633010542638, -1.4898247594132736, 2.5007939215306201, -0.28718768825555402,
            1.2928260487868284}),
      adamw("AdamW lr=0.1", AdamWOptions(0.1),
            {0.02763467725907609, -0.52014583634029821, 1.4947358591109667, -0.18170213233258478,
             1.6924303356691022}),
      adamw("AdamW lr=0.1, betas=(0.9, 0.5), weight_decay=0.5, amsgrad=True",
            AdamWOptions(0.1).betas({0.9, 0.5}).weight_decay(0.5).amsgrad(true),
            {-0.0051946950624702226, -0.37423341338829225, 1.088266585187329, -0.15449835724573424,
             1.3186982827973497}),
      adamw("AdamW lr=0.1, betas=(0.9, 0.5), weight_decay=0.5",
            AdamWOptions(0.1).betas({0.9, 0.5}).weight_decay(0.5),
            {-0.10728246424128574, -0.31657883314871504, 1.0753602493994205, -0.14252871336227826,
             1.3317696688606866}),
      rmsprop("RMSprop lr=0.01", RMSpropOptions(0.01),
              {0.22195015720735251, -0.70790787835785807, 1.6865218880011104, -0.24162835261678994,
               1.614822824956494}),
      rmsprop("RMSprop lr=0.01, momentum=0.9", RMSpropOptions(0.01).momentum(0.9),
              {-0.24280061429572616, -0.17428532408357347, 1.0961953919696494, -0.2490768071976589,
               1.8404590837574819}),
      rmsprop("RMSprop lr=0.01, centered=True", RMSpropOptions(0.01).centered(true),
              {0.21907286600117451, -0.70454767834232068, 1.682542300455103, -0.24150483867262731,
               1.6156579456659956}),
      rmsprop("RMSprop lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1, centered=True",
              RMSpropOptions(0.01).alpha(0.9).momentum(0.5).weight_decay(0.1).centered(true),
              {0.31055674443454201, -0.809395275748784, 1.7998252520305291, -0.24408933641441391,
               1.5453709990433051}),
      rmsprop("RMSprop lr=0.01, maximize=True", RMSpropOptions(0.01).maximize(true),
              {0.84833143994053073, -1.3250504563079881, 2.331735561746239, -0.27076303216681114,
               1.3818487784781215}),
      adagrad("Adagrad lr=0.1", AdagradOptions(0.1),
              {0.22311400348448562, -0.70913484107799463, 1.6878187479705549, -0.2417733537052997,
               1.6148113366268546}),
      adagrad("Adagrad lr=0.1, lr_decay=0.5", AdagradOptions(0.1).lr_decay(0.5),
              {0.30923916921981698, -0.80734948553022667, 1.7941291744295307, -0.27358692991637218,
               1.5893559423775561}),
      adagrad("Adagrad lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-3",
              AdagradOptions(0.1).weight_decay(0.1).initial_accumulator_value(0.5).eps(1e-3),
              {0.28155343408546313, -0.75624498062114809, 1.6899629733153103, -0.2009987376722332,
               1.5587084032787164}),
      adagrad("Adagrad lr=0.1, maximize=True", AdagradOptions(0.1).maximize(true),
              {0.84705409319830005, -1.3237582153675147, 2.3304271015409457, -0.27049984251259712,
               1.3818668241943821}),
  };
}

// The gradient of the test problem at step t (counting from 0).
Tensor problem_gradient(const Tensor& param, int t) {
  const Tensor w = tensor(kW, {5}, param.dtype()), b = tensor(kB, {5}, param.dtype());
  return param.detach() * w + b * kScale[static_cast<size_t>(t)];
}

// The parameters after `steps` steps of the case's optimizer, in `dtype`.
Tensor run_case(const Case& c, Dtype dtype, int steps) {
  Tensor param = tensor(kInit, {5}, dtype).requires_grad_();
  const std::unique_ptr<optim::Optimizer> optimizer = c.make(param);
  for (int t = 0; t < steps; ++t) {
    param.set_grad(problem_gradient(param, t));
    optimizer->step();
  }
  return param;
}

// The same with the double-precision reference.
Vec run_reference(const Case& c, int steps) {
  Vec p = kInit;
  const ReferenceStep step = c.reference();
  for (int t = 0; t < steps; ++t) {
    Vec g(p.size());
    for (size_t i = 0; i < p.size(); ++i)
      g[i] = p[i] * kW[i] + kB[i] * kScale[static_cast<size_t>(t)];
    step(p, g, t + 1);
  }
  return p;
}

}  // namespace

TEST_CASE("every optimizer option matches a double-precision reference after 1 and 5 steps") {
  for (const Case& c : cases()) {
    for (int steps : {1, kSteps}) {
      INFO(c.config, ", ", steps, " steps");
      const Vec expected = run_reference(c, steps);
      check_close(run_case(c, kFloat64, steps), expected, 1e-12, 1e-14);
      // float32 rounds every operation to 24 bits; five steps stay within a few ulps.
      check_close(run_case(c, kFloat32, steps), expected, 2e-5, 1e-6);
    }
  }
}

TEST_CASE("every optimizer option matches PyTorch 1.13") {
  for (const Case& c : cases()) {
    INFO(c.config);
    check_close(run_case(c, kFloat64, kSteps), c.pytorch, 1e-12, 1e-14);
  }
}

TEST_CASE("options have PyTorch's defaults") {
  const optim::AdamOptions adam;
  CHECK(adam.lr() == 1e-3);
  CHECK(adam.betas() == std::tuple<double, double>{0.9, 0.999});
  CHECK(adam.eps() == 1e-8);
  CHECK(adam.weight_decay() == 0.0);
  CHECK(!adam.amsgrad());
  const optim::AdamWOptions adamw;
  CHECK(adamw.lr() == 1e-3);
  CHECK(adamw.weight_decay() == 1e-2);
  const optim::RMSpropOptions rmsprop;
  CHECK(rmsprop.lr() == 1e-2);
  CHECK(rmsprop.alpha() == 0.99);
  CHECK(rmsprop.eps() == 1e-8);
  CHECK(rmsprop.momentum() == 0.0);
  CHECK(!rmsprop.centered());
  const optim::AdagradOptions adagrad;
  CHECK(adagrad.lr() == 1e-2);
  CHECK(adagrad.eps() == 1e-10);
  CHECK(adagrad.lr_decay() == 0.0);
  CHECK(adagrad.initial_accumulator_value() == 0.0);
  const optim::SGDOptions sgd(0.5);
  CHECK(sgd.momentum() == 0.0);
  CHECK(sgd.dampening() == 0.0);
  CHECK(!sgd.nesterov());
  CHECK(!sgd.maximize());
}

// ---- Fused kernels against their compositions of Tensor ops
// -----------------------------------------------

namespace {

// The same values laid out column-major (a transposed view of a contiguous tensor).
Tensor column_major(const Tensor& t) { return t.t().contiguous().t(); }

// Runs three steps of `step` with the fused kernels on tensors laid out contiguous or column-major,
// and three without (on a backend with only the primitives: PyTorch's update rule composed of
// Tensor ops, in PyTorch's order) on contiguous copies; every tensor ends bitwise equal. Tensor 0
// is the parameter, tensor 1 the gradient (redrawn each step); the rest is state, drawn by
// `make_state`.
void check_fused_equals_composed(
    const std::function<std::vector<Tensor>(const Tensor& param, Generator&)>& make_state,
    const std::function<void(const std::vector<Tensor>&, int64_t step)>& step) {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    // The large shape spans several parallel chunks.
    for (const Shape& shape : {Shape{3, 5}, Shape{150, 100}}) {
      for (bool strided : {false, true}) {
        INFO(dtype_name(dtype), " ", shape, (strided ? " column-major" : " contiguous"));
        Generator generator(7);
        std::vector<Tensor> tensors = {randn(shape, dtype, &generator), Tensor()};
        for (const Tensor& state : make_state(tensors[0], generator)) tensors.push_back(state);
        std::vector<Tensor> fused, composed;
        for (const Tensor& t : tensors) {
          fused.push_back(!t.defined() ? t : strided ? column_major(t) : t.clone());
          composed.push_back(t.defined() ? t.clone() : t);
        }
        for (int64_t step_count = 1; step_count <= 3; ++step_count) {
          const Tensor grad = randn(shape, dtype, &generator);
          fused[1] = strided ? column_major(grad) : grad;
          composed[1] = grad;
          step(fused, step_count);
          test::with_primitives_only([&] { step(composed, step_count); });
        }
        for (size_t k = 0; k < tensors.size(); ++k) {
          INFO("tensor ", k);
          if (tensors[k].defined()) check_equal(fused[k].contiguous(), composed[k]);
        }
      }
    }
  }
}

// `count` state tensors like `param`: N(0, 1) draws, or U[0, 1) draws for second moments.
std::vector<Tensor> draws(const Tensor& param, Generator& generator, int count, bool positive) {
  std::vector<Tensor> out;
  for (int k = 0; k < count; ++k) {
    out.push_back(positive ? rand(param.sizes(), param.dtype(), &generator)
                           : randn(param.sizes(), param.dtype(), &generator));
  }
  return out;
}

}  // namespace

TEST_CASE("fused SGD equals its composition of Tensor ops") {
  fused::SgdHyper plain{.lr = 0.1};
  fused::SgdHyper momentum{.lr = 0.1, .momentum = 0.9};
  fused::SgdHyper damped{.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01};
  fused::SgdHyper nesterov{
      .lr = 0.1, .momentum = 0.8, .weight_decay = 0.1, .nesterov = true, .maximize = true};
  for (fused::SgdHyper hyper : {plain, momentum, damped, nesterov}) {
    INFO("momentum ", hyper.momentum, ", dampening ", hyper.dampening, ", nesterov ",
         hyper.nesterov);
    // The first step fills the buffer with the direction, as PyTorch does.
    const auto hyper_at = [hyper](int64_t step) {
      fused::SgdHyper h = hyper;
      h.init_momentum_buffer = step == 1;
      return h;
    };
    check_fused_equals_composed([](const Tensor& p, Generator& g) { return draws(p, g, 1, false); },
                                [&](const std::vector<Tensor>& t, int64_t step) {
                                  fused::sgd_step(t[0], t[1], t[2], hyper_at(step));
                                });
  }
}

TEST_CASE("fused Adam and AdamW equal their composition of Tensor ops") {
  fused::AdamHyper plain{.lr = 0.01};
  fused::AdamHyper decay{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.9, .weight_decay = 0.1};
  fused::AdamHyper amsgrad{
      .lr = 0.01, .beta2 = 0.5, .eps = 1e-3, .amsgrad = true, .maximize = true};
  fused::AdamHyper adamw{
      .lr = 0.01, .weight_decay = 0.1, .amsgrad = true, .decoupled_weight_decay = true};
  for (fused::AdamHyper hyper : {plain, decay, amsgrad, adamw}) {
    INFO("weight_decay ", hyper.weight_decay, ", amsgrad ", hyper.amsgrad, ", decoupled ",
         hyper.decoupled_weight_decay);
    const auto hyper_at = [hyper](int64_t step) {
      fused::AdamHyper h = hyper;
      h.step = step;
      return h;
    };
    check_fused_equals_composed(
        [&](const Tensor& p, Generator& g) {
          std::vector<Tensor> state = draws(p, g, 1, false);  // exp_avg
          for (const Tensor& t : draws(p, g, 2, true)) state.push_back(t);
          if (!hyper.amsgrad) state.back() = Tensor();
          return state;
        },
        [&](const std::vector<Tensor>& t, int64_t step) {
          fused::adam_step(t[0], t[1], t[2], t[3], t[4], hyper_at(step));
        });
  }
}

TEST_CASE("fused RMSprop equals its composition of Tensor ops") {
  fused::RmspropHyper plain{.lr = 0.01};
  fused::RmspropHyper momentum{.lr = 0.01, .alpha = 0.9, .momentum = 0.9};
  fused::RmspropHyper centered{.lr = 0.01, .weight_decay = 0.1, .centered = true};
  fused::RmspropHyper all{.lr = 0.01,
                          .alpha = 0.8,
                          .eps = 1e-4,
                          .weight_decay = 0.1,
                          .momentum = 0.5,
                          .centered = true,
                          .maximize = true};
  for (fused::RmspropHyper hyper : {plain, momentum, centered, all}) {
    INFO("momentum ", hyper.momentum, ", centered ", hyper.centered);
    check_fused_equals_composed(
        [&](const Tensor& p, Generator& g) {
          // square_avg >= grad_avg^2, so the centered variance stays positive.
          const Tensor average = randn(p.sizes(), p.dtype(), &g) * 0.1;
          const Tensor square = average * average + rand(p.sizes(), p.dtype(), &g);
          return std::vector<Tensor>{
              square, hyper.momentum > 0 ? randn(p.sizes(), p.dtype(), &g) : Tensor(),
              hyper.centered ? average : Tensor()};
        },
        [&](const std::vector<Tensor>& t, int64_t) {
          fused::rmsprop_step(t[0], t[1], t[2], t[3], t[4], hyper);
        });
  }
}

TEST_CASE("fused Adagrad equals its composition of Tensor ops") {
  fused::AdagradHyper plain{.lr = 0.1};
  fused::AdagradHyper all{
      .lr = 0.1, .lr_decay = 0.2, .weight_decay = 0.1, .eps = 1e-3, .maximize = true};
  for (fused::AdagradHyper hyper : {plain, all}) {
    INFO("lr_decay ", hyper.lr_decay);
    const auto hyper_at = [hyper](int64_t step) {
      fused::AdagradHyper h = hyper;
      h.step = step;
      return h;
    };
    check_fused_equals_composed([](const Tensor& p, Generator& g) { return draws(p, g, 1, true); },
                                [&](const std::vector<Tensor>& t, int64_t step) {
                                  fused::adagrad_step(t[0], t[1], t[2], hyper_at(step));
                                });
  }
}

TEST_CASE("fused updates give the same bits on one thread and on many") {
  Generator generator(3);
  const Tensor grad = randn({300, 200}, kFloat32, &generator);
  const auto run = [&](int threads) {
    const int previous = get_num_threads();
    set_num_threads(threads);
    Tensor p = zeros({300, 200}), m = zeros({300, 200}), v = zeros({300, 200});
    fused::adam_step(p, grad, m, v, Tensor(), {.lr = 0.1});
    set_num_threads(previous);
    return p;
  };
  check_equal(run(1), run(4));
}

TEST_CASE("fused updates bump the version of the tensors they write") {
  const Tensor p = zeros({3}), g = ones({3}), m = zeros({3}), v = zeros({3});
  const uint32_t before = p.version(), state_before = m.version();
  fused::adam_step(p, g, m, v, Tensor(), {});
  CHECK(p.version() > before);
  CHECK(m.version() > state_before);
  CHECK(g.version() == 0);
}

TEST_CASE("fused updates reject mismatched operands") {
  const Tensor p = zeros({2, 3}), g = zeros({2, 3});
  check_error({"adam_step", "grad float64[2, 3] on cpu", "param float32[2, 3] on cpu"}, [&] {
    fused::adam_step(p, g.to(kFloat64), zeros({2, 3}), zeros({2, 3}), {}, {});
  });
  check_error({"adam_step", "exp_avg_sq float32[3, 2] on cpu", "param float32[2, 3]"}, [&] {
    fused::adam_step(p, g, zeros({2, 3}), zeros({3, 2}), {}, {});
  });
  check_error({"adam_step", "max_exp_avg_sq is an undefined tensor"}, [&] {
    fused::adam_step(p, g, zeros({2, 3}), zeros({2, 3}), {}, {.amsgrad = true});
  });
  check_error({"adam_step", "the step number counts from 1, got 0"}, [&] {
    fused::adam_step(p, g, zeros({2, 3}), zeros({2, 3}), {}, {.step = 0});
  });
  check_error({"sgd_step", "param float32[2, 3] on cpu shares memory with momentum_buffer"}, [&] {
    fused::sgd_step(p, g, p.view({2, 3}), {.lr = 0.1, .momentum = 0.9});
  });
  check_error({"adagrad_step", "sum", "shares memory with grad"},
              [&] { fused::adagrad_step(p, g, g, {}); });
  check_error({"rmsprop_step", "square_avg", "expanded view"}, [&] {
    fused::rmsprop_step(p, g, zeros({3}).expand({2, 3}), {}, {}, {});
  });
  check_error({"sgd_step", "expected a float32 or float64 tensor, got int64[3] on cpu"},
              [&] { fused::sgd_step(zeros({3}, kInt64), zeros({3}, kInt64), {}, {.lr = 0.1}); });
  const Tensor leaf = zeros({3}).requires_grad_();
  check_error({"sgd_step", "param float32[3] on cpu requires grad and grad mode is on"},
              [&] { fused::sgd_step(leaf, zeros({3}), {}, {.lr = 0.1}); });
}

// ---- Optimizer behaviour ------------------------------------------------------------------------

TEST_CASE("parameter groups have their own lr") {
  const Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  const Tensor c = ones({1}).requires_grad_();
  optim::SGD sgd(
      {optim::OptimizerParamGroup({a}), optim::OptimizerParamGroup({b}, optim::SGDOptions(0.01))},
      optim::SGDOptions(0.1));
  sgd.add_param_group(optim::OptimizerParamGroup({c}));  // takes the defaults
  REQUIRE(sgd.param_groups().size() == 3);
  CHECK(sgd.param_groups()[0].options().get_lr() == 0.1);
  CHECK(sgd.param_groups()[1].options().get_lr() == 0.01);
  CHECK(sgd.param_groups()[2].options().get_lr() == 0.1);
  sgd.param_groups()[2].options().set_lr(0.5);
  for (const Tensor& p : {a, b, c}) p.set_grad(full_like(p, 2.0));
  sgd.step();
  check_close(a, {0.8, 0.8}, 1e-7);
  check_close(b, {0.98, 0.98}, 1e-7);
  check_close(c, {0.0}, 0, 1e-7);
  CHECK(sgd.size() == 3);
  CHECK(sgd.parameters()[1].is_same(b));
  // The typed options are reachable with a cast, as in LibTorch.
  auto& options = static_cast<optim::SGDOptions&>(sgd.param_groups()[0].options());
  options.momentum(0.9);
  CHECK(static_cast<const optim::SGDOptions&>(sgd.param_groups()[0].options()).momentum() == 0.9);
}

TEST_CASE("parameters without a gradient are skipped") {
  const Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  optim::Adam adam({a, b}, optim::AdamOptions(0.1));
  a.set_grad(ones({2}));
  adam.step();
  // Adam's first step moves every element by lr (m / sqrt(v) = 1 after bias correction).
  check_close(a, {0.9, 0.9}, 1e-6);
  check_equal(b, ones({2}));
  CHECK(adam.state(a) != nullptr);
  CHECK(adam.state(a)->step == 1);
  CHECK(adam.state(b) == nullptr);
  CHECK(adam.state_dict().state.keys() ==
        std::vector<std::string>{"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"});
}

TEST_CASE("zero_grad resets or zeroes the gradients") {
  const Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  optim::SGD sgd({a, b}, 0.1);
  a.set_grad(ones({2}));
  sgd.zero_grad(false);
  check_equal(a.grad(), zeros({2}));
  CHECK(!b.grad().defined());
  sgd.zero_grad();
  CHECK(!a.grad().defined());
}

TEST_CASE("step with a closure evaluates it with grad mode on and returns its loss") {
  const Tensor x = tensor({1.0, -2.0}).requires_grad_();
  optim::SGD sgd({x}, 0.25);
  NoGradGuard no_grad;  // the closure turns grad mode on for itself
  const Tensor loss = sgd.step([&] {
    sgd.zero_grad();
    const Tensor value = (x * x).sum();
    value.backward();
    return value;
  });
  check_close(loss, {5.0}, 1e-12);
  check_close(x, {0.5, -1.0}, 1e-12);  // x - 0.25 * 2x
}

TEST_CASE("training a linear model lowers its loss with every optimizer") {
  // A sanity check of the plumbing (module parameters, backward, step): exact values are
  // checked above.
  const std::vector<std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>> makers =
      {[](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(p, 0.1); },
       [](std::vector<Tensor> p) { return std::make_unique<optim::Adam>(p, 0.05); },
       [](std::vector<Tensor> p) { return std::make_unique<optim::AdamW>(p, 0.05); },
       [](std::vector<Tensor> p) { return std::make_unique<optim::RMSprop>(p, 0.02); },
       [](std::vector<Tensor> p) { return std::make_unique<optim::Adagrad>(p, 0.3); }};
  for (const auto& make : makers) {
    manual_seed(3);
    nn::Linear model(3, 1);
    const std::unique_ptr<optim::Optimizer> optimizer = make(model->parameters());
    INFO(optimizer->name());
    const Tensor x = randn({16, 3}), y = x.sum({1}, true);
    const auto loss = [&] { return (model(x) - y).pow(2).mean(); };
    const double first = loss().item<double>();
    for (int i = 0; i < 50; ++i) {
      optimizer->zero_grad();
      loss().backward();
      optimizer->step();
    }
    CHECK(loss().item<double>() < 0.5 * first);
  }
}

// ---- State --------------------------------------------------------------------------------------

namespace {

// The parameters of a small model: a matrix and a vector.
std::vector<Tensor> make_parameters(uint64_t seed) {
  Generator generator(seed);
  return {randn({3, 2}, kFloat32, &generator).requires_grad_(),
          randn({2}, kFloat32, &generator).requires_grad_()};
}

std::vector<Tensor> copies(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// `steps` steps on the loss sum((x W + b)^2) with a fixed batch x.
void train(optim::Optimizer& optimizer, const std::vector<Tensor>& params, int steps) {
  Generator generator(11);
  const Tensor x = randn({4, 3}, kFloat32, &generator);
  for (int i = 0; i < steps; ++i) {
    optimizer.zero_grad();
    (x.matmul(params[0]) + params[1]).pow(2).sum().backward();
    optimizer.step();
  }
}

using OptimizerFactory =
    std::function<std::unique_ptr<optim::Optimizer>(const std::vector<Tensor>&)>;

// An optimizer of each kind, with the options that give it all its buffers.
std::vector<OptimizerFactory> full_state_optimizers() {
  return {
      [](const std::vector<Tensor>& p) {
        return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.05).momentum(0.9));
      },
      [](const std::vector<Tensor>& p) {
        return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.05).amsgrad(true));
      },
      [](const std::vector<Tensor>& p) {
        return std::make_unique<optim::AdamW>(p, optim::AdamWOptions(0.05).amsgrad(true));
      },
      [](const std::vector<Tensor>& p) {
        return std::make_unique<optim::RMSprop>(
            p, optim::RMSpropOptions(0.01).momentum(0.5).centered(true));
      },
      [](const std::vector<Tensor>& p) {
        return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions(0.1).lr_decay(0.1));
      },
  };
}

}  // namespace

TEST_CASE("state_dict and load_state_dict resume training bitwise") {
  for (const OptimizerFactory& make : full_state_optimizers()) {
    const std::vector<Tensor> params = make_parameters(5);
    const std::unique_ptr<optim::Optimizer> optimizer = make(params);
    INFO(optimizer->name());
    train(*optimizer, params, 5);
    const optim::OptimizerStateDict saved = optimizer->state_dict();
    const std::vector<Tensor> resumed_params = copies(params);
    train(*optimizer, params, 5);

    const std::unique_ptr<optim::Optimizer> loaded = make(resumed_params);
    loaded->param_groups()[0].options().set_lr(123.0);  // loading restores the saved lr
    loaded->load_state_dict(saved);
    train(*loaded, resumed_params, 5);
    for (size_t i = 0; i < params.size(); ++i) check_equal(resumed_params[i], params[i]);
    CHECK(loaded->state(resumed_params[0])->step == 10);
  }
}

TEST_CASE("state_dict names the state and the hyperparameters") {
  const std::vector<Tensor> params = make_parameters(5);
  optim::Adam adam({optim::OptimizerParamGroup({params[0]}),
                    optim::OptimizerParamGroup({params[1]}, optim::AdamOptions(0.5).eps(1e-6))},
                   optim::AdamOptions().betas({0.8, 0.9}).amsgrad(true));
  train(adam, params, 3);
  const optim::OptimizerStateDict state = adam.state_dict();
  CHECK(state.state.keys() == std::vector<std::string>{"state.0.step", "state.0.exp_avg",
                                                       "state.0.exp_avg_sq",
                                                       "state.0.max_exp_avg_sq", "state.1.step",
                                                       "state.1.exp_avg", "state.1.exp_avg_sq"});
  const Tensor& step = state.state["state.1.step"];
  CHECK(step.dtype() == kInt64);
  CHECK(step.dim() == 0);
  CHECK(step.item<int64_t>() == 3);
  CHECK(state.state["state.0.exp_avg"].sizes() == Shape{3, 2});
  // A snapshot: training on does not change it.
  const Tensor exp_avg = state.state["state.0.exp_avg"].clone();
  train(adam, params, 1);
  check_equal(state.state["state.0.exp_avg"], exp_avg);
  using Map = std::map<std::string, std::string>;
  CHECK(state.param_groups[0] == Map{{"lr", "0.001"},
                                     {"betas", "0.8,0.9"},
                                     {"eps", "1e-08"},
                                     {"weight_decay", "0"},
                                     {"amsgrad", "true"},
                                     {"maximize", "false"},
                                     {"params", "0"}});
  CHECK(state.param_groups[1].at("lr") == "0.5");
  CHECK(state.param_groups[1].at("eps") == "1e-06");
  CHECK(state.param_groups[1].at("amsgrad") == "false");
  CHECK(state.param_groups[1].at("params") == "1");
}

TEST_CASE("load_state_dict reports mismatches by parameter and changes nothing") {
  const std::vector<Tensor> params = make_parameters(5);
  optim::Adam adam(params, optim::AdamOptions(0.01));
  train(adam, params, 2);
  const optim::OptimizerStateDict good = adam.state_dict();
  const std::vector<Tensor> other = copies(params);
  optim::Adam target(other, optim::AdamOptions(0.3));
  // Every failed load leaves `target` as it was: no state, its own lr.
  const auto check_load_error = [&](const std::vector<std::string>& parts,
                                    const optim::OptimizerStateDict& state) {
    check_error(parts, [&] { target.load_state_dict(state); });
    CHECK(target.param_groups()[0].options().get_lr() == 0.3);
    CHECK(target.state(other[0]) == nullptr);
  };

  optim::OptimizerStateDict two_groups = good;
  two_groups.param_groups.push_back(two_groups.param_groups[0]);
  check_load_error(
      {"Adam.load_state_dict", "the state has 2 parameter groups, the optimizer has 1"},
      two_groups);

  optim::OptimizerStateDict one_param = good;
  one_param.param_groups[0]["params"] = "0";
  check_load_error({"group 0 has 1 parameters in the state and 2 in the optimizer"}, one_param);

  optim::OptimizerStateDict transposed = good;
  transposed.state["state.0.exp_avg"] = transposed.state["state.0.exp_avg"].t().contiguous();
  check_load_error({"state.0.exp_avg (float32[2, 3] on cpu) does not fit parameter 0 "
                    "(float32[3, 2] on cpu)"},
                   transposed);

  optim::OptimizerStateDict missing = good;
  missing.state.erase("state.1.exp_avg_sq");
  check_load_error({"state.1.exp_avg_sq is missing", "keeps exp_avg, exp_avg_sq"}, missing);

  optim::OptimizerStateDict amsgrad = good;
  amsgrad.param_groups[0]["amsgrad"] = "true";
  check_load_error({"state.0.max_exp_avg_sq is missing"}, amsgrad);

  optim::OptimizerStateDict no_step = good;
  no_step.state.erase("state.0.step");
  check_load_error({"state.0.step is missing"}, no_step);

  optim::OptimizerStateDict float_step = good;
  float_step.state["state.0.step"] = scalar_tensor(2.0);
  check_load_error({"state.0.step should hold one int64 step count, got float32[] on cpu"},
                   float_step);

  optim::OptimizerStateDict unknown_param = good;
  unknown_param.state.insert("state.7.exp_avg", zeros({3, 2}));
  check_load_error({"the key 'state.7.exp_avg' is for parameter 7, which no group"}, unknown_param);

  optim::OptimizerStateDict bad_key = good;
  bad_key.state.insert("momentum", zeros({3, 2}));
  check_load_error({"unexpected key 'momentum'"}, bad_key);

  optim::OptimizerStateDict bad_number = good;
  bad_number.param_groups[0]["lr"] = "fast";
  check_load_error({"the hyperparameter lr = 'fast' is not a number"}, bad_number);

  optim::OptimizerStateDict unknown_hyperparameter = good;
  unknown_hyperparameter.param_groups[0]["momentum"] = "0.9";
  check_load_error({"unknown hyperparameter momentum = '0.9'"}, unknown_hyperparameter);

  optim::OptimizerStateDict bad_value = good;
  bad_value.param_groups[0]["betas"] = "0.9,1.5";
  check_load_error({"invalid betas (0.9, 1.5)"}, bad_value);

  // Another optimizer's state does not fit.
  optim::SGD sgd(copies(params), optim::SGDOptions(0.1).momentum(0.9));
  check_error({"SGD.load_state_dict", "the hyperparameter momentum is missing"},
              [&] { sgd.load_state_dict(good); });
}

TEST_CASE("the state follows a parameter moved to another dtype with Module::to") {
  nn::Module module;
  const std::vector<Tensor> params = make_parameters(5);
  module.register_parameter("weight", params[0]);
  module.register_parameter("bias", params[1]);
  optim::RMSprop rmsprop(module.parameters(),
                         optim::RMSpropOptions(0.01).momentum(0.9).centered(true));
  train(rmsprop, params, 2);
  const optim::OptimizerStateDict saved = rmsprop.state_dict();

  // The parameter objects stay; their storage changes.
  const std::vector<Tensor> twins = copies(params);
  module.to(kFloat64);
  REQUIRE(params[0].dtype() == kFloat64);
  // A second optimizer over float64 copies, loaded with the float32 state (converted on load),
  // takes the same step.
  std::vector<Tensor> wide;
  for (const Tensor& p : twins) wide.push_back(p.detach().to(kFloat64).requires_grad_());
  optim::RMSprop reference(wide, optim::RMSpropOptions(0.01).momentum(0.9).centered(true));
  reference.load_state_dict(saved);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor grad = full_like(params[i], 0.5);
    params[i].set_grad(grad);
    wide[i].set_grad(grad.clone());
  }
  rmsprop.step();
  reference.step();
  for (size_t i = 0; i < params.size(); ++i) check_equal(params[i], wide[i]);
  for (const auto& item : rmsprop.state(params[0])->buffers) {
    INFO(item.key());
    CHECK(item.value().dtype() == kFloat64);
  }
  // A parameter given another shape no longer fits its state.
  {
    NoGradGuard no_grad;
    params[1].set_data(zeros({3}, kFloat64));
  }
  params[1].set_grad(zeros({3}, kFloat64));
  const Tensor before = params[0].clone();
  check_error({"RMSprop: parameter 1 float64[3] on cpu no longer has the shape of its state "
               "square_avg float64[2] on cpu"},
              [&] { rmsprop.step(); });
  check_equal(params[0], before);  // a failed step updates nothing
}

// ---- Errors -------------------------------------------------------------------------------------

TEST_CASE("invalid hyperparameters are refused, naming the optimizer and the value") {
  const std::vector<Tensor> params = {zeros({2}).requires_grad_()};
  check_error({"SGD: invalid lr -0.1 (expected lr >= 0)"},
              [&] { optim::SGD(params, optim::SGDOptions(-0.1)); });
  check_error({"SGD: invalid momentum -0.5"},
              [&] { optim::SGD(params, optim::SGDOptions(0.1).momentum(-0.5)); });
  check_error({"SGD: Nesterov momentum requires a momentum and zero dampening"},
              [&] { optim::SGD(params, optim::SGDOptions(0.1).nesterov(true)); });
  check_error({"SGD: Nesterov momentum requires", "dampening 0.1"}, [&] {
    optim::SGD(params, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true));
  });
  check_error({"Adam: invalid lr -1"}, [&] { optim::Adam(params, optim::AdamOptions(-1.0)); });
  check_error({"Adam: invalid betas (1, 0.999) (expected 0 <= beta < 1 for both)"}, [&] {
    optim::Adam(params, optim::AdamOptions().betas({1.0, 0.999}));
  });
  check_error({"Adam: invalid betas (0.9, -0.1)"}, [&] {
    optim::Adam(params, optim::AdamOptions().betas({0.9, -0.1}));
  });
  check_error({"Adam: invalid eps -1e-08"},
              [&] { optim::Adam(params, optim::AdamOptions().eps(-1e-8)); });
  check_error({"AdamW: invalid weight_decay -0.01"},
              [&] { optim::AdamW(params, optim::AdamWOptions().weight_decay(-0.01)); });
  check_error({"RMSprop: invalid alpha -0.99"},
              [&] { optim::RMSprop(params, optim::RMSpropOptions().alpha(-0.99)); });
  check_error({"Adagrad: invalid lr_decay -1"},
              [&] { optim::Adagrad(params, optim::AdagradOptions().lr_decay(-1.0)); });
  check_error({"Adagrad: invalid initial_accumulator_value -1"}, [&] {
    optim::Adagrad(params, optim::AdagradOptions().initial_accumulator_value(-1.0));
  });
  check_error({"Adam: invalid lr nan"},
              [&] { optim::Adam(params, optim::AdamOptions(std::nan(""))); });
  // Group options are checked too.
  check_error({"SGD: invalid lr -2"}, [&] {
    optim::SGD({optim::OptimizerParamGroup(params, optim::SGDOptions(-2.0))}, 0.1);
  });
}

TEST_CASE("invalid parameter lists are refused") {
  const Tensor a = zeros({2}).requires_grad_();
  check_error({"Adam: got an empty parameter list"}, [] { optim::Adam(std::vector<Tensor>{}); });
  check_error({"Adam: parameter 1 of group 0 (float32[2] on cpu) appears more than once"}, [&] {
    optim::Adam({a, a});
  });
  check_error({"Adam: parameter 0 of group 0 (int64[2] on cpu) cannot be optimized"},
              [] { optim::Adam({zeros({2}, kInt64)}); });
  check_error({"cannot be optimized: expected a float32 or float64 leaf tensor"},
              [&] { optim::Adam({a * 2}); });
  check_error({"Adam: parameter 0 of group 0 is undefined"}, [] { optim::Adam({Tensor()}); });
  check_error({"SGD: parameter group 1 has the options of another optimizer"}, [&] {
    optim::SGD({optim::OptimizerParamGroup({a}),
                optim::OptimizerParamGroup({zeros({1}).requires_grad_()}, optim::AdamOptions())},
               0.1);
  });
  optim::SGD sgd({a}, 0.1);
  check_error({"SGD: parameter 0 of group 1 (float32[2] on cpu) appears more than once"},
              [&] { sgd.add_param_group(optim::OptimizerParamGroup({a})); });
  // Options swapped in by hand are checked at the next step.
  sgd.param_groups()[0].set_options(std::make_unique<optim::AdamOptions>());
  a.set_grad(ones({2}));
  check_error({"SGD: parameter group 0 has the options of another optimizer"}, [&] { sgd.step(); });
  sgd.param_groups()[0].set_options(nullptr);
  check_error({"SGD: parameter group 0 has no options"}, [&] { sgd.step(); });
  check_equal(a, zeros({2}));
}

// ---- Gradient clipping --------------------------------------------------------------------------

namespace {

// Parameters whose gradients are [3, 4], [[12]] and none.
std::vector<Tensor> clip_parameters() {
  const Tensor a = zeros({2}).requires_grad_(), b = zeros({1, 1}).requires_grad_();
  a.set_grad(tensor({3.0f, 4.0f}));
  b.set_grad(tensor({{12.0f}}));
  return {a, b, zeros({5}).requires_grad_()};
}

}  // namespace

TEST_CASE("clip_grad_norm_ scales every gradient by max_norm / (total + 1e-6)") {
  struct Expected {
    double norm_type, total;
  };
  // |g| = 3, 4, 12: the 2-norm is 13, the 1-norm 19, the inf-norm 12, the 3-norm cbrt(1819).
  for (const Expected e : {Expected{2.0, 13.0}, Expected{1.0, 19.0}, Expected{INFINITY, 12.0},
                           Expected{3.0, std::cbrt(1819.0)}}) {
    INFO("norm_type ", e.norm_type);
    const std::vector<Tensor> params = clip_parameters();
    const double max_norm = 6.5;
    const double total = nn::utils::clip_grad_norm_(params, max_norm, e.norm_type);
    CHECK(total == doctest::Approx(e.total).epsilon(1e-6));
    const double scale = max_norm / (e.total + 1e-6);
    check_close(params[0].grad(), {3.0 * scale, 4.0 * scale}, 1e-6);
    check_close(params[1].grad(), {12.0 * scale}, 1e-6);
    CHECK(!params[2].grad().defined());
  }
  // Below max_norm nothing changes.
  const std::vector<Tensor> params = clip_parameters();
  CHECK(nn::utils::clip_grad_norm_(params, 13.5) == doctest::Approx(13.0));
  check_equal(params[0].grad(), tensor({3.0f, 4.0f}));
  // One parameter; no gradients at all.
  CHECK(nn::utils::clip_grad_norm_(params[1], 1.0) == doctest::Approx(12.0));
  check_close(params[1].grad(), {12.0 / (12.0 + 1e-6)}, 1e-6);
  CHECK(nn::utils::clip_grad_norm_({zeros({2}).requires_grad_()}, 1.0) == 0.0);
}

TEST_CASE("clip_grad_norm_ with a non-finite total") {
  std::vector<Tensor> params = clip_parameters();
  params[0].set_grad(tensor({3.0f, NAN}));
  check_error({"clip_grad_norm_", "the total norm of order 2 of the gradients is non-finite"},
              [&] { nn::utils::clip_grad_norm_(params, 1.0, 2.0, true); });
  check_equal(params[1].grad(), tensor({{12.0f}}));  // untouched
  // Without the check the gradients are scaled by the NaN, as in PyTorch.
  CHECK(std::isnan(nn::utils::clip_grad_norm_(params, 1.0)));
  CHECK(std::isnan(values(params[1].grad())[0]));
  check_error({"clip_grad_norm_", "parameter 0 is an undefined tensor"},
              [] { nn::utils::clip_grad_norm_({Tensor()}, 1.0); });
}

TEST_CASE("clip_grad_value_ clamps every gradient element") {
  const std::vector<Tensor> params = clip_parameters();
  nn::utils::clip_grad_value_(params, 3.5);
  check_equal(params[0].grad(), tensor({3.0f, 3.5f}));
  check_equal(params[1].grad(), tensor({{3.5f}}));
  params[0].set_grad(tensor({-9.0f, 0.25f}));
  nn::utils::clip_grad_value_(params[0], 0.5);
  check_equal(params[0].grad(), tensor({-0.5f, 0.25f}));
}
