// Losses of nn::functional (and the loss modules): values and gradients against PyTorch 1.13 for
// fixed small inputs, every option and reduction; finite-difference checks of the gradients;
// error messages.
//
// The PyTorch numbers were printed by /usr/bin/python3 (torch 1.13, float64) with
//   def fmt(t): return "{" + ", ".join(repr(float(v)) for v in t.detach().flatten()) + "}"
//   def run(fn, *inputs, grads=(0,)):
//       xs = [torch.tensor(v, requires_grad=(k in grads)) for k, v in enumerate(inputs)]
//       out = fn(*xs); out.sum().backward()
//       print(fmt(out)); [print(fmt(xs[k].grad)) for k in grads]
// and each test quotes the call it pasted, e.g. run(lambda a, b: F.mse_loss(a, b), x, y,
// grads=(0, 1)).

#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>

#include "bg/nn.h"
#include "test_util.h"

using namespace bg;
namespace F = bg::nn::functional;
using bg::nn::Reduction;
using bg::test::check_close;
using bg::test::check_error;
using bg::test::check_gradients;

namespace {

// loss_of(inputs) has PyTorch's value, and the gradient of its sum with respect to input i has
// PyTorch's grads[i] (inputs beyond grads.size(), or with an empty list, are not differentiated).
void check_torch(const test::Function& loss_of, std::vector<Tensor> inputs,
                 const std::vector<double>& value, const std::vector<std::vector<double>>& grads) {
  bool differentiated = false;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].empty()) continue;
    inputs[i] = inputs[i].detach().clone().requires_grad_();
    differentiated = true;
  }
  const Tensor loss = loss_of(inputs);
  {
    INFO("loss value");
    check_close(loss, value, 1e-10, 1e-12);
  }
  if (!differentiated) return;
  loss.sum().backward();
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].empty()) continue;
    INFO("gradient of input ", i);
    check_close(inputs[i].grad(), grads[i], 1e-10, 1e-12);
  }
}

// x, y of the regression losses: x = [[0.5, -1.2, 2.0], [0.1, 0.8, -0.3]],
// y = [[1.0, -1.0, 0.5], [0.3, -0.4, 0.2]].
Tensor regression_x() { return tensor({{0.5, -1.2, 2.0}, {0.1, 0.8, -0.3}}); }
Tensor regression_y() { return tensor({{1.0, -1.0, 0.5}, {0.3, -0.4, 0.2}}); }

// Class scores [3, 4] with targets [1, 3, 0] and class weights w = [0.2, 1.0, 0.5, 2.0].
Tensor logits() {
  return tensor({{1.0, 2.0, 0.5, -1.0}, {0.3, -0.2, 0.8, 1.5}, {-1.0, 0.0, 1.0, 2.0}});
}
Tensor classes() { return tensor({1, 3, 0}); }
Tensor class_weight() { return tensor({0.2, 1.0, 0.5, 2.0}); }

}  // namespace

// ---- Regression losses --------------------------------------------------------------------------

TEST_CASE("mse_loss and l1_loss match PyTorch for every reduction") {
  const std::vector<Tensor> xy{regression_x(), regression_y()};
  auto mse = [](Reduction r) {
    return [r](const std::vector<Tensor>& in) { return F::mse_loss(in[0], in[1], r); };
  };
  auto l1 = [](Reduction r) {
    return [r](const std::vector<Tensor>& in) { return F::l1_loss(in[0], in[1], r); };
  };
  // run(lambda a, b: F.mse_loss(a, b, reduction=red), x, y, grads=(0, 1))
  check_torch(mse(Reduction::None), xy,
              {0.25, 0.03999999999999998, 2.25, 0.039999999999999994, 1.4400000000000004, 0.25},
              {{-1.0, -0.3999999999999999, 3.0, -0.39999999999999997, 2.4000000000000004, -1.0},
               {1.0, 0.3999999999999999, -3.0, 0.39999999999999997, -2.4000000000000004, 1.0}});
  check_torch(mse(Reduction::Mean), xy, {0.7116666666666668},
              {{-0.16666666666666666, -0.06666666666666665, 0.5, -0.06666666666666665, 0.4,
                -0.16666666666666666}});
  check_torch(mse(Reduction::Sum), xy, {4.2700000000000005},
              {{-1.0, -0.3999999999999999, 3.0, -0.39999999999999997, 2.4000000000000004, -1.0}});
  // run(lambda a, b: F.l1_loss(a, b, reduction=red), x, y, grads=(0, 1))
  check_torch(l1(Reduction::None), xy,
              {0.5, 0.19999999999999996, 1.5, 0.19999999999999998, 1.2000000000000002, 0.5},
              {{-1.0, -1.0, 1.0, -1.0, 1.0, -1.0}, {1.0, 1.0, -1.0, 1.0, -1.0, 1.0}});
  check_torch(l1(Reduction::Mean), xy, {0.6833333333333335},
              {{-1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6}});
  check_torch(l1(Reduction::Sum), xy, {4.1000000000000005}, {});
}

TEST_CASE("smooth_l1_loss and huber_loss match PyTorch for each beta and delta") {
  const std::vector<Tensor> xy{regression_x(), regression_y()};
  auto smooth = [](double beta) {
    return [beta](const std::vector<Tensor>& in) {
      return F::smooth_l1_loss(in[0], in[1],
                               nn::SmoothL1LossOptions().beta(beta).reduction(Reduction::None));
    };
  };
  auto huber = [](double delta, Reduction r = Reduction::None) {
    return [delta, r](const std::vector<Tensor>& in) {
      return F::huber_loss(in[0], in[1], nn::HuberLossOptions().delta(delta).reduction(r));
    };
  };
  // run(lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=beta), x, y, grads=(0, 1))
  check_torch(smooth(1.0), xy,
              {0.125, 0.01999999999999999, 1.0, 0.019999999999999997, 0.7000000000000002, 0.125},
              {{-0.5, -0.19999999999999996, 1.0, -0.19999999999999998, 1.0, -0.5},
               {0.5, 0.19999999999999996, -1.0, 0.19999999999999998, -1.0, 0.5}});
  check_torch(smooth(0.5), xy,
              {0.25, 0.03999999999999998, 1.25, 0.039999999999999994, 0.9500000000000002, 0.25},
              {{-1.0, -0.3999999999999999, 1.0, -0.39999999999999997, 1.0, -1.0}});
  // beta = 0 is the L1 loss.
  check_torch(smooth(0.0), xy,
              {0.5, 0.19999999999999996, 1.5, 0.19999999999999998, 1.2000000000000002, 0.5},
              {{-1.0, -1.0, 1.0, -1.0, 1.0, -1.0}});
  // run(lambda a, b: F.huber_loss(a, b, reduction="none", delta=delta), x, y, grads=(0, 1))
  check_torch(huber(1.0), xy,
              {0.125, 0.01999999999999999, 1.0, 0.019999999999999997, 0.7000000000000002, 0.125},
              {{-0.5, -0.19999999999999996, 1.0, -0.19999999999999998, 1.0, -0.5}});
  check_torch(huber(0.7), xy,
              {0.125, 0.01999999999999999, 0.8049999999999999, 0.019999999999999997,
               0.5950000000000001, 0.125},
              {{-0.5, -0.19999999999999996, 0.7, -0.19999999999999998, 0.7, -0.5},
               {0.5, 0.19999999999999996, -0.7, 0.19999999999999998, -0.7, 0.5}});
  // F.huber_loss(x, y, delta=0.7, reduction=red) for "sum" and "mean"
  check_torch(huber(0.7, Reduction::Sum), xy, {1.69}, {});
  check_torch(huber(0.7, Reduction::Mean), xy, {0.2816666666666667}, {});
}

TEST_CASE("regression losses: gradients agree with finite differences, also on strided inputs") {
  const Tensor x = test::strided_leaf({3, 4}, 1, -2, 2);
  const Tensor y = test::leaf({3, 4}, 2);
  check_gradients([](const auto& in) { return F::mse_loss(in[0], in[1]); }, {x, y});
  check_gradients([](const auto& in) { return F::l1_loss(in[0], in[1], Reduction::Sum); }, {x, y});
  for (double beta : {0.5, 1.5}) {
    check_gradients(
        [beta](const auto& in) {
          return F::smooth_l1_loss(in[0], in[1], nn::SmoothL1LossOptions().beta(beta));
        },
        {x, y});
    check_gradients(
        [beta](const auto& in) {
          return F::huber_loss(in[0], in[1],
                               nn::HuberLossOptions().delta(beta).reduction(Reduction::None));
        },
        {x, y});
  }
}

TEST_CASE("regression losses reject mismatched shapes, integer targets and bad options") {
  const Tensor x = zeros({2, 3});
  check_error({"mse_loss", "int64[2, 3]", "floating-point target"}, [&] {
    F::mse_loss(x, zeros({2, 3}, kInt64));
  });
  check_error({"l1_loss", "float32[3]", "float32[2, 3]"}, [&] { F::l1_loss(x, zeros({3})); });
  check_error({"smooth_l1_loss", "beta", "-1"},
              [&] { F::smooth_l1_loss(x, x, nn::SmoothL1LossOptions().beta(-1)); });
  check_error({"huber_loss", "delta", "positive"},
              [&] { F::huber_loss(x, x, nn::HuberLossOptions().delta(0)); });
}

// ---- Classification losses ----------------------------------------------------------------------

TEST_CASE("cross_entropy with class indices matches PyTorch: weights, ignore_index, smoothing") {
  const Tensor t = classes();
  const Tensor w = class_weight();
  auto ce = [&t](nn::CrossEntropyLossOptions options) {
    return [&t, options](const std::vector<Tensor>& in) {
      return F::cross_entropy(in[0], t, options);
    };
  };
  using Options = nn::CrossEntropyLossOptions;
  // run(lambda a: F.cross_entropy(a, t, reduction=red), x)
  check_torch(ce(Options().reduction(Reduction::None)), {logits()},
              {0.49518189808585605, 0.6833306758286172, 3.4401896985611953},
              {{0.22420781804820114, -0.3905399624011229, 0.13598891579350553, 0.030343228559416225,
                0.15208272301272416, 0.09224283431980128, 0.2507420203370742, -0.49506757766959963,
                -0.967941396719915, 0.08714431874203257, 0.23688281808991016, 0.6439142598879724}});
  check_torch(
      ce(Options()), {logits()}, {1.5395674241585562},
      {{0.07473593934940037, -0.13017998746704096, 0.045329638597835176, 0.010114409519805408,
        0.050694241004241386, 0.030747611439933757, 0.0835806734456914, -0.16502252588986654,
        -0.32264713223997166, 0.02904810624734419, 0.07896093936330338, 0.2146380866293241}});
  check_torch(ce(Options().reduction(Reduction::Sum)), {logits()}, {4.618702272475669}, {});
  // run(lambda a: F.cross_entropy(a, t, weight=w, reduction=red), x): the mean divides by the
  // summed weights of the targets.
  check_torch(ce(Options().weight(w).reduction(Reduction::None)), {logits()},
              {0.49518189808585605, 1.3666613516572343, 0.6880379397122391}, {});
  check_torch(
      ce(Options().weight(w)), {logits()}, {0.7968378717047905},
      {{0.07006494314006285, -0.12204373825035089, 0.042496536185470474, 0.00948225892481757,
        0.0950517018829526, 0.0576517714498758, 0.1567137627106714, -0.3094172360434998,
        -0.060496337294994686, 0.005446519921377036, 0.014805176130619385, 0.04024464124299827}});
  check_torch(ce(Options().weight(w).reduction(Reduction::Sum)), {logits()}, {2.5498811894553297},
              {});
  // run(lambda a: F.cross_entropy(a, t, weight=w, ignore_index=3, reduction=red), x)
  check_torch(ce(Options().weight(w).ignore_index(3).reduction(Reduction::None)), {logits()},
              {0.49518189808585605, 0.0, 0.6880379397122391}, {});
  check_torch(ce(Options().weight(w).ignore_index(3)), {logits()}, {0.9860165314984126},
              {{0.18683984837350096, -0.3254499686676024, 0.11332409649458794, 0.025286023799513523,
                0.0, 0.0, 0.0, 0.0, -0.16132356611998586, 0.014524053123672097, 0.0394804696816517,
                0.10731904331466208}});
  check_torch(ce(Options().weight(w).ignore_index(3).reduction(Reduction::Sum)), {logits()},
              {1.1832198377980951}, {});
  // run(lambda a: F.cross_entropy(a, t, label_smoothing=0.1, reduction=red), x)
  check_torch(ce(Options().label_smoothing(0.1).reduction(Reduction::None)), {logits()},
              {0.6326818980858561, 0.7733306758286171, 3.2901896985611954},
              {{0.19920781804820115, -0.3155399624011229, 0.11098891579350553, 0.005343228559416224,
                0.12708272301272416, 0.06724283431980127, 0.22574202033707422, -0.4200675776695997,
                -0.892941396719915, 0.06214431874203257, 0.21188281808991016, 0.6189142598879723}});
  check_torch(ce(Options().label_smoothing(0.1)), {logits()}, {1.5654007574918896}, {});
  check_torch(ce(Options().label_smoothing(0.1).reduction(Reduction::Sum)), {logits()},
              {4.696202272475668}, {});
  // run(lambda a: F.cross_entropy(a, t, weight=w, ignore_index=3, label_smoothing=0.2,
  //     reduction=red), x)
  const Options all = Options().weight(w).ignore_index(3).label_smoothing(0.2);
  check_torch(ce(Options(all).reduction(Reduction::None)), {logits()},
              {0.8352541696145683, 0.0, 0.7868654460036125}, {});
  check_torch(ce(all), {logits()}, {1.351766346348484},
              {{0.1757039173145651, -0.20806821913758836, 0.09079090171383579,
                -0.058426599890812524, 0.0, 0.0, 0.0, 0.0, -0.13244981822364227,
                -0.016612675028332302, 0.04727047686751584, 0.10179201638445873}});
  check_torch(ce(Options(all).reduction(Reduction::Sum)), {logits()}, {1.6221196156181805},
              {{0.21084470077747813, -0.24968186296510606, 0.10894908205660296,
                -0.07011191986897503, 0.0, 0.0, 0.0, 0.0, -0.1589397818683707,
                -0.019935210033998764, 0.05672457224101901, 0.12215041966135047}});
}

TEST_CASE("cross_entropy with class probabilities matches PyTorch") {
  // p = [[0.1, 0.6, 0.3, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0]]
  const Tensor p = tensor({{0.1, 0.6, 0.3, 0.0}, {0.25, 0.25, 0.25, 0.25}, {0.0, 0.0, 0.0, 1.0}});
  auto ce = [&p](nn::CrossEntropyLossOptions options) {
    return [&p, options](const std::vector<Tensor>& in) {
      return F::cross_entropy(in[0], p, options);
    };
  };
  using Options = nn::CrossEntropyLossOptions;
  // run(lambda a: F.cross_entropy(a, p, reduction=red), x)
  check_torch(
      ce(Options().reduction(Reduction::None)), {logits()},
      {1.045181898085856, 1.583330675828617, 0.44018969856119533},
      {{0.12420781804820114, 0.009460037598877147, -0.16401108420649446, 0.030343228559416225,
        -0.09791727698727584, -0.1577571656801987, 0.0007420203370742118, 0.25493242233040037,
        0.03205860328008499, 0.08714431874203257, 0.23688281808991016, -0.35608574011202765}});
  check_torch(ce(Options()), {logits()}, {1.0229007574918894}, {});
  check_torch(ce(Options().reduction(Reduction::Sum)), {logits()}, {3.0687022724756683}, {});
  // run(lambda a: F.cross_entropy(a, p, weight=w, label_smoothing=0.3, reduction=red), x): the
  // mean divides by the number of samples, not by the weights.
  const Options smoothed = Options().weight(class_weight()).label_smoothing(0.3);
  check_torch(ce(Options(smoothed).reduction(Reduction::None)), {logits()},
              {1.0970660197871014, 1.2045808751414708, 0.970918219336405}, {});
  check_torch(
      ce(smoothed), {logits()}, {1.0908550380883257},
      {{0.05135522781211873, 0.000874706899827711, -0.01048835008486758, -0.04174158462707888,
        0.03022550626225662, -0.0548917927513946, 0.03564545627059789, -0.010979169781459871,
        0.012926102334114186, 0.023728198229919877, 0.11995697578194141, -0.15661127634597546}});
  check_torch(ce(Options(smoothed).reduction(Reduction::Sum)), {logits()}, {3.272565114264977}, {});
}

TEST_CASE("cross_entropy on [N, C, d] and unbatched inputs matches PyTorch") {
  // xnd = [[[0.1, 0.9], [-0.4, 0.3], [1.2, -0.7]], [[0.5, 0.5], [2.0, -1.0], [0.0, 0.6]]],
  // tnd = [[2, 0], [1, -100]], w3 = [1.5, 0.5, 1.0]
  const Tensor x =
      tensor({{{0.1, 0.9}, {-0.4, 0.3}, {1.2, -0.7}}, {{0.5, 0.5}, {2.0, -1.0}, {0.0, 0.6}}});
  const Tensor t = tensor({{2, 0}, {1, -100}});
  using Options = nn::CrossEntropyLossOptions;
  auto ce = [](Tensor target, Options options) {
    return [target, options](const std::vector<Tensor>& in) {
      return F::cross_entropy(in[0], target, options);
    };
  };
  // run(lambda a: F.cross_entropy(a, tnd, weight=w3), xnd)
  check_torch(ce(t, Options().weight(tensor({1.5, 0.5, 1.0}))), {x}, {0.4738624581620378},
              {{0.07229565425865289, -0.21440128451319673, 0.04384953087185718, 0.15673989831266483,
                -0.11614518513051009, 0.05766138620053183, 0.027375271270847965, 0.0,
                -0.0439792126145677, 0.0, 0.016603941343719716, 0.0}});
  // run(lambda a: F.cross_entropy(a, tnd, reduction="none"), xnd)
  check_torch(ce(t, Options().reduction(Reduction::None)), {x},
              {0.42837897002838504, 0.5600203655621033, 0.30635571222914665, 0.0}, {});
  // run(lambda a: F.cross_entropy(a, tnd, label_smoothing=0.1), xnd)
  check_torch(ce(t, Options().label_smoothing(0.1)), {x}, {0.5249183492732117},
              {{0.06118454314754178, -0.12071196745324225, 0.032738419760746075,
                0.09338215443066546, -0.09392296290828789, 0.02732981302257678,
                0.043639431430584824, 0.0, -0.06573620300691316, 0.0, 0.022096771576328327, 0.0}});
  // run(lambda a: F.cross_entropy(a, torch.tensor(2), reduction="none"), [0.3, -1.0, 2.0])
  const Tensor single = tensor({0.3, -1.0, 2.0});
  check_torch(ce(scalar_tensor(2), Options().reduction(Reduction::None)), {single},
              {0.20902076654506024},
              {{0.14822546288422211, 0.04039615117313354, -0.18862161405735556}});
  CHECK(F::cross_entropy(single, scalar_tensor(2), Options().reduction(Reduction::None)).dim() ==
        0);
  // run(lambda a: F.cross_entropy(a, torch.tensor([0.2, 0.3, 0.5])), [0.3, -1.0, 2.0])
  check_torch(ce(tensor({0.2, 0.3, 0.5}), Options()), {single}, {1.44902076654506},
              {{-0.0517745371157779, -0.25960384882686643, 0.31137838594264444}});
}

TEST_CASE("nll_loss matches PyTorch, with weights, ignore_index and unbatched inputs") {
  auto nll = [](Tensor target, nn::NLLLossOptions options) {
    return [target, options](const std::vector<Tensor>& in) {
      return F::nll_loss(in[0], target, options);
    };
  };
  const auto options = nn::NLLLossOptions().weight(class_weight()).ignore_index(0);
  // run(lambda a: F.nll_loss(a, t, weight=w, ignore_index=0, reduction=red), x)
  check_torch(nll(classes(), nn::NLLLossOptions(options).reduction(Reduction::None)), {logits()},
              {-2.0, -3.0, 0.0}, {{0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0}});
  check_torch(nll(classes(), options), {logits()}, {-1.6666666666666667},
              {{0.0, -1.0 / 3, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0 / 3, 0.0, 0.0, 0.0, 0.0}});
  check_torch(nll(classes(), nn::NLLLossOptions(options).reduction(Reduction::Sum)), {logits()},
              {-5.0}, {});
  // run(lambda a: F.nll_loss(a, torch.tensor(1), reduction="none"), [-0.3, -1.0, -2.0])
  check_torch(nll(scalar_tensor(1), nn::NLLLossOptions().reduction(Reduction::None)),
              {tensor({-0.3, -1.0, -2.0})}, {1.0}, {{0.0, -1.0, 0.0}});
  // cross_entropy is nll_loss of log_softmax.
  const Tensor x = test::leaf({5, 4}, 3);
  const Tensor t = tensor({0, 3, 3, 1, 2});
  CHECK(allclose(F::cross_entropy(x, t), F::nll_loss(x.log_softmax(1), t), 1e-14));
}

TEST_CASE("cross_entropy whose targets are all ignored gives NaN, and gradient 0, as PyTorch") {
  // run(lambda a: F.cross_entropy(a, torch.tensor([-100, -100, -100])), x) gives nan, and a
  // gradient of zeros; the same with label_smoothing=0.1, and for nll_loss.
  const Tensor ignored = tensor({-100, -100, -100});
  for (const double smoothing : {0.0, 0.1}) {
    const Tensor x = logits().requires_grad_();
    const Tensor loss =
        F::cross_entropy(x, ignored, nn::CrossEntropyLossOptions().label_smoothing(smoothing));
    check_close(loss, {test::kNaN}, 0.0);
    loss.backward();
    check_close(x.grad(), std::vector<double>(x.numel(), 0.0), 0.0);
  }
  const Tensor x = logits().requires_grad_();
  const Tensor loss = F::nll_loss(x, ignored);
  check_close(loss, {test::kNaN}, 0.0);
  loss.backward();
  check_close(x.grad(), std::vector<double>(x.numel(), 0.0), 0.0);
}

TEST_CASE("cross_entropy with 0 classes or an empty batch, as PyTorch") {
  // F.cross_entropy(torch.zeros(0, 0), torch.zeros(0, dtype=torch.long)) gives nan with
  // reduction 'mean', 0. with 'sum', tensor([]) with 'none'; the same for an input [0, 5].
  for (const Shape& sizes : {Shape{0, 0}, Shape{0, 5}}) {
    const Tensor x = zeros(sizes, TensorOptions(kFloat64).requires_grad(true));
    const Tensor t = zeros({0}, kInt64);
    check_close(F::cross_entropy(x, t), {test::kNaN}, 0.0);
    const Tensor sum =
        F::cross_entropy(x, t, nn::CrossEntropyLossOptions().reduction(Reduction::Sum));
    check_close(sum, {0.0}, 0.0);
    sum.backward();
    CHECK(x.grad().sizes() == sizes);
    CHECK(
        F::cross_entropy(x, t, nn::CrossEntropyLossOptions().reduction(Reduction::None)).sizes() ==
        Shape{0});
  }
  // A batch of 3 with 0 classes: PyTorch says "Target 0 is out of bounds".
  check_error({"cross_entropy", "class index 0 is out of range for C = 0"}, [] {
    (void)F::cross_entropy(zeros({3, 0}), zeros({3}, kInt64));
  });
}

TEST_CASE("cross_entropy and nll_loss: gradients agree with finite differences") {
  const Tensor x = test::strided_leaf({4, 3}, 4, -2, 2);
  const Tensor t = tensor({2, 0, 1, 2});
  const Tensor w = test::leaf_in({3}, 0.5, 2.0, 5);
  using Options = nn::CrossEntropyLossOptions;
  for (const Options& options :
       {Options(), Options().weight(w).ignore_index(1), Options().label_smoothing(0.3),
        Options().weight(w).label_smoothing(0.2).reduction(Reduction::None),
        Options().weight(w).ignore_index(0).label_smoothing(0.1).reduction(Reduction::Sum)}) {
    check_gradients([&](const auto& in) { return F::cross_entropy(in[0], t, options); }, {x, w});
  }
  const Tensor p = test::leaf_in({4, 3}, 0.0, 1.0, 6);
  check_gradients(
      [](const auto& in) {
        return F::cross_entropy(in[0], in[1], Options().weight(in[2]).label_smoothing(0.1));
      },
      {x, p, w});
  const Tensor x3 = test::leaf({2, 3, 2}, 7);
  check_gradients(
      [](const auto& in) {
        return F::nll_loss(in[0], tensor({{0, 2}, {1, 1}}), nn::NLLLossOptions().weight(in[1]));
      },
      {x3, w});
}

TEST_CASE("cross_entropy and nll_loss name bad class indices, dtypes and shapes") {
  const Tensor x = zeros({2, 3});
  check_error({"cross_entropy", "class index 3", "C = 3"}, [&] {
    F::cross_entropy(x, tensor({0, 3}));
  });
  check_error({"nll_loss", "class index -1", "C = 3"}, [&] { F::nll_loss(x, tensor({-1, 0})); });
  // An ignored target may lie outside [0, C).
  CHECK(std::isfinite(F::cross_entropy(x, tensor({0, -100})).item<double>()));
  check_error({"cross_entropy", "int64 class indices or floating-point", "bool[2]"},
              [&] { F::cross_entropy(x, zeros({2}, kBool)); });
  check_error({"nll_loss", "int64 class indices", "float32[2]"},
              [&] { F::nll_loss(x, zeros({2})); });
  check_error({"cross_entropy", "expected a target of shape [2]", "[2, 3]", "int64[3]"}, [&] {
    F::cross_entropy(x, tensor({0, 1, 2}));
  });
  check_error({"cross_entropy", "class probabilities", "[2, 3]", "float32[2, 2]"}, [&] {
    F::cross_entropy(x, zeros({2, 2}));
  });
  check_error({"cross_entropy", "ignore_index (0)", "class probabilities"}, [&] {
    F::cross_entropy(x, zeros({2, 3}), nn::CrossEntropyLossOptions().ignore_index(0));
  });
  check_error({"cross_entropy", "weight", "[3]", "float32[2]"}, [&] {
    F::cross_entropy(x, tensor({0, 1}), nn::CrossEntropyLossOptions().weight(zeros({2})));
  });
  check_error({"cross_entropy", "label_smoothing", "1.5"}, [&] {
    F::cross_entropy(x, tensor({0, 1}), nn::CrossEntropyLossOptions().label_smoothing(1.5));
  });
  check_error({"nll_loss", "0-dim target", "float32[3]"},
              [&] { F::nll_loss(zeros({3}), tensor({1})); });
  check_error({"cross_entropy", "floating-point input", "int64[2]"}, [&] {
    F::cross_entropy(tensor({1, 2}), scalar_tensor(0));
  });
}

// ---- Binary cross entropy -----------------------------------------------------------------------

TEST_CASE("binary_cross_entropy matches PyTorch, with weights, and stays finite at 0 and 1") {
  // p = [[0.2, 0.9], [0.6, 0.01]], t = [[0.0, 1.0], [1.0, 0.3]], w = [0.5, 2.0]
  const Tensor p = tensor({{0.2, 0.9}, {0.6, 0.01}});
  const Tensor t = tensor({{0.0, 1.0}, {1.0, 0.3}});
  auto bce = [](Reduction r, bool weighted) {
    return [r, weighted](const std::vector<Tensor>& in) {
      return F::binary_cross_entropy(
          in[0], in[1],
          nn::BCELossOptions().reduction(r).weight(weighted ? tensor({0.5, 2.0}) : Tensor()));
    };
  };
  // run(lambda a, b: F.binary_cross_entropy(a, b, reduction=red), p, t, grads=(0, 1))
  check_torch(bce(Reduction::None, false), {p, t},
              {0.2231435513142097, 0.10536051565782628, 0.5108256237659907, 1.3885862908938782},
              {{1.2499999999999998, -1.1111111111111112, -1.6666666666666667, -29.292929292929287},
               {1.3862943611198906, -2.1972245773362196, -0.4054651081081643, 4.59511985013459}});
  check_torch(bce(Reduction::Mean, false), {p, t}, {0.5569789954079762}, {});
  check_torch(bce(Reduction::Sum, false), {p, t}, {2.227915981631905}, {});
  // run(lambda a, b, c: F.binary_cross_entropy(a, b, weight=c, reduction=red), p, t, w,
  //     grads=(0, 1))
  check_torch(bce(Reduction::None, true), {p, t},
              {0.11157177565710485, 0.21072103131565256, 0.25541281188299536, 2.7771725817877564},
              {});
  check_torch(
      bce(Reduction::Mean, true), {p, t}, {0.8387195501608773},
      {{0.15624999999999997, -0.5555555555555556, -0.20833333333333334, -14.646464646464644},
       {0.17328679513998632, -1.0986122886681098, -0.050683138513520534, 2.297559925067295}});
  check_torch(bce(Reduction::Sum, true), {p, t}, {3.354878200643509}, {});
  // run(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), [0.0, 1.0, 0.0, 1.0],
  //     [1.0, 0.0, 0.0, 1.0]): the logs are clamped at -100, and the gradient's denominator
  // x (1 - x) at 1e-12 (PyTorch's, a float32 constant, gives -1000000003995.8029: within 4e-9).
  check_torch(bce(Reduction::None, false),
              {tensor({0.0, 1.0, 0.0, 1.0}), tensor({1.0, 0.0, 0.0, 1.0})},
              {100.0, 100.0, 0.0, 0.0}, {});
  Tensor edge = tensor({0.0, 1.0}).requires_grad_();
  F::binary_cross_entropy(edge, tensor({1.0, 0.0}), nn::BCELossOptions().reduction(Reduction::Sum))
      .backward();
  check_close(edge.grad(), {-1000000003995.8029, 1000000003995.8029}, 1e-8);
}

TEST_CASE("binary_cross_entropy_with_logits matches PyTorch, with pos_weight and weight") {
  // x = [[2.0, -1.0], [0.5, -30.0], [40.0, 0.0]], t = [[1.0, 0.0], [0.3, 1.0], [0.0, 0.5]],
  // pw = [3.0, 0.5], w = [[1.0], [2.0], [0.5]]
  const Tensor x = tensor({{2.0, -1.0}, {0.5, -30.0}, {40.0, 0.0}});
  const Tensor t = tensor({{1.0, 0.0}, {0.3, 1.0}, {0.0, 0.5}});
  auto bce = [](Reduction r, bool weighted) {
    return [r, weighted](const std::vector<Tensor>& in) {
      auto options = nn::BCEWithLogitsLossOptions().reduction(r);
      if (weighted) options.pos_weight(tensor({3.0, 0.5})).weight(tensor({{1.0}, {2.0}, {0.5}}));
      return F::binary_cross_entropy_with_logits(in[0], in[1], options);
    };
  };
  // run(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=red), x, t,
  //     grads=(0, 1))
  check_torch(bce(Reduction::None, false), {x, t},
              {0.1269280110429726, 0.31326168751822286, 0.8240769841801067, 30.000000000000092,
               40.0, 0.6931471805599453},
              {{-0.11920292202211769, 0.2689414213699951, 0.3224593312018546, -0.9999999999999064,
                1.0, 0.0},
               {-2.0, 1.0, -0.5, 30.0, -40.0, 0.0}});
  check_torch(bce(Reduction::Mean, false), {x, t}, {11.992902310550223}, {});
  check_torch(bce(Reduction::Sum, false), {x, t}, {71.95741386330134}, {});
  // run(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, weight=d, pos_weight=c,
  //     reduction=red), x, t, pw, w, grads=(0, 1))
  check_torch(bce(Reduction::None, true), {x, t},
              {0.38078403312891784, 0.3132616875182228, 2.2170463493763415, 30.000000000000092,
               20.0, 0.25993019270997947},
              {{-0.35760876606635295, 0.2689414213699951, 0.19186985984593474, -0.9999999999999064,
                0.5, 0.0625},
               {-1.746143977914055, 0.34336915624088854, 0.8963079367204267, 29.999999999999904,
                -20.0, -0.17328679513998632}});
  check_torch(bce(Reduction::Mean, true), {x, t}, {8.861837043788926}, {});
  check_torch(bce(Reduction::Sum, true), {x, t}, {53.17102226273356}, {});
}

TEST_CASE(
    "binary cross entropy of logits: huge logits stay finite and agree with the probability form") {
  // Where sigmoid rounds to 0 or 1, the logit form still gives the exact loss |x| and gradient.
  Tensor x = tensor({1000.0, -1000.0}).requires_grad_();
  const Tensor loss = F::binary_cross_entropy_with_logits(
      x, tensor({0.0, 1.0}), nn::BCEWithLogitsLossOptions().reduction(Reduction::None));
  check_close(loss, {1000.0, 1000.0}, 1e-15);
  loss.sum().backward();
  check_close(x.grad(), {1.0, -1.0}, 1e-15);
  // In a moderate range both forms are the same function.
  const Tensor z = test::leaf({3, 4}, 8);
  const Tensor target = test::leaf_in({3, 4}, 0.0, 1.0, 9);
  CHECK(allclose(F::binary_cross_entropy_with_logits(z, target),
                 F::binary_cross_entropy(z.sigmoid(), target), 1e-12));
}

TEST_CASE("binary_cross_entropy_with_logits' gradient far from 0 is sigmoid(x) - t, as PyTorch") {
  // x = torch.tensor([-15., -17., -20., -30., -50., 17.], requires_grad=True)
  // F.binary_cross_entropy_with_logits(x, torch.full((6,), t), reduction='sum').backward()
  // for t = 0 and 1, and with t = 0.25, pos_weight=torch.tensor([3.]).
  const auto gradient = [](double t, const Tensor& pos_weight) {
    const Tensor x = tensor({-15.0f, -17.0f, -20.0f, -30.0f, -50.0f, 17.0f}).requires_grad_();
    F::binary_cross_entropy_with_logits(
        x, full({6}, t),
        nn::BCEWithLogitsLossOptions().reduction(Reduction::Sum).pos_weight(pos_weight))
        .backward();
    return x.grad();
  };
  // Through the composition, (1 - t) - sigmoid(-x) was 0 in float32 from x = -17 down.
  check_close(gradient(0.0, Tensor()),
              {3.0590223332183086e-07, 4.139937814784389e-08, 2.06115369216775e-09,
               9.357623589846195e-14, 1.9287498933537385e-22, 1.0},
              1e-6);
  check_close(gradient(1.0, Tensor()), {-0.9999997019767761, -0.9999999403953552, -1, -1, -1, 0},
              1e-7);
  check_close(gradient(0.25, tensor({3.0f})),
              {-0.7499995231628418, -0.7499999403953552, -0.75, -0.75, -0.75, 0.75}, 1e-7);
}

TEST_CASE("binary cross entropy: gradients agree with finite differences") {
  const Tensor p = test::leaf_in({3, 2}, 0.1, 0.9, 10);
  const Tensor t = test::leaf_in({3, 2}, 0.0, 1.0, 11);
  const Tensor w = test::leaf_in({2}, 0.5, 2.0, 12);
  check_gradients(
      [](const auto& in) {
        return F::binary_cross_entropy(in[0], in[1], nn::BCELossOptions().weight(in[2]));
      },
      {p, t, w});
  const Tensor x = test::strided_leaf({3, 2}, 13, -3, 3);
  check_gradients(
      [](const auto& in) {
        return F::binary_cross_entropy_with_logits(
            in[0], in[1], nn::BCEWithLogitsLossOptions().pos_weight(in[2]).weight(in[2]));
      },
      {x, t, w});
}

TEST_CASE("binary cross entropy errors name the loss, the shapes and the range") {
  const Tensor p = full({2, 2}, 0.5);
  check_error({"binary_cross_entropy", "between 0 and 1"},
              [&] { F::binary_cross_entropy(p * 3, p); });
  check_error({"binary_cross_entropy", "float32[2]", "float32[2, 2]"},
              [&] { F::binary_cross_entropy(p, zeros({2})); });
  check_error({"binary_cross_entropy", "dtype", "float64[2, 2]"},
              [&] { F::binary_cross_entropy(p, p.to(kFloat64)); });
  check_error({"binary_cross_entropy", "weight", "float32[3]"},
              [&] { F::binary_cross_entropy(p, p, nn::BCELossOptions().weight(ones({3}))); });
  check_error({"binary_cross_entropy_with_logits", "pos_weight", "float32[3]"}, [&] {
    F::binary_cross_entropy_with_logits(p, p, nn::BCEWithLogitsLossOptions().pos_weight(ones({3})));
  });
}

// ---- Gaussian negative log-likelihood -----------------------------------------------------------

TEST_CASE("gaussian_nll_loss matches PyTorch: reductions, full, var shapes, eps") {
  // mu = [[0.5, -1.0], [2.0, 0.3], [0.0, 1.0]], y = [[1.0, -0.5], [1.0, 0.0], [0.2, 3.0]],
  // v = [[0.5, 2.0], [1.5, 0.1], [1.0, 0.3]]
  const Tensor mu = tensor({{0.5, -1.0}, {2.0, 0.3}, {0.0, 1.0}});
  const Tensor y = tensor({{1.0, -0.5}, {1.0, 0.0}, {0.2, 3.0}});
  const Tensor v = tensor({{0.5, 2.0}, {1.5, 0.1}, {1.0, 0.3}});
  using Options = nn::GaussianNLLLossOptions;
  auto gnll = [&y](Options options) {
    return [&y, options](const std::vector<Tensor>& in) {
      return F::gaussian_nll_loss(in[0], y, in[1], options);
    };
  };
  // run(lambda a, b, c: F.gaussian_nll_loss(a, b, c, reduction=red), mu, y, v, grads=(0, 2))
  const std::vector<double> mu_grad{-1.0, -0.25, 0.6666666666666666, 3.0, -0.2, -6.666666666666667};
  const std::vector<double> var_grad{
      0.5, 0.21875, 0.1111111111111111, 0.5000000000000009, 0.48, -20.555555555555557};
  check_torch(gnll(Options().reduction(Reduction::None)), {mu, v},
              {-0.09657359027997264, 0.40907359027997264, 0.5360658873874156, -0.7012925464970228,
               0.020000000000000004, 6.064680264503699},
              {mu_grad, var_grad});
  check_torch(gnll(Options()), {mu, v}, {1.0386589342323485}, {});
  check_torch(gnll(Options().reduction(Reduction::Sum)), {mu, v}, {6.231953605394091},
              {mu_grad, var_grad});
  // run(lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=True, reduction="none"), mu, y, v, ...)
  check_torch(gnll(Options().full(true).reduction(Reduction::None)), {mu, v},
              {0.8223649429247, 1.3280121234846454, 1.4550044205920882, 0.2176459867076499,
               0.9389385332046727, 6.983618797708372},
              {mu_grad, var_grad});
  // One variance per row, as [3] or [3, 1]:
  // run(lambda a, b, c: F.gaussian_nll_loss(a, b, c, reduction="none"), mu, y, [0.5, 2.0, 1.0],
  //     grads=(0, 2))
  check_torch(gnll(Options().reduction(Reduction::None)), {mu, tensor({0.5, 2.0, 1.0})},
              {-0.09657359027997264, -0.09657359027997264, 0.5965735902799727, 0.36907359027997266,
               0.020000000000000004, 2.0},
              {{-1.0, -1.0, 0.5, 0.15, -0.2, -2.0}, {1.0, 0.36375, -1.02}});
  check_torch(gnll(Options().reduction(Reduction::Sum)), {mu, tensor({{0.5}, {2.0}, {1.0}})},
              {2.7925}, {{-1.0, -1.0, 0.5, 0.15, -0.2, -2.0}, {1.0, 0.36375, -1.02}});
  // Variances below eps are clamped, but the gradient passes the clamp unchanged:
  // run(lambda a, b, c: F.gaussian_nll_loss(a, b, c, eps=0.01, reduction="none"), mu, y,
  //     [[0.0, 2.0], [0.001, 0.1], [1.0, 0.3]], grads=(0, 2))
  check_torch(gnll(Options().eps(0.01).reduction(Reduction::None)),
              {mu, tensor({{0.0, 2.0}, {0.001, 0.1}, {1.0, 0.3}})},
              {10.197414907005955, 0.40907359027997264, 47.69741490700596, -0.7012925464970228,
               0.020000000000000004, 6.064680264503699},
              {{-50.0, -0.25, 100.0, 3.0, -0.2, -6.666666666666667},
               {-1200.0, 0.21875, -4950.0, 0.5000000000000009, 0.48, -20.555555555555557}});
}

TEST_CASE("gaussian_nll_loss: gradients agree with finite differences; errors") {
  const Tensor mu = test::strided_leaf({3, 2}, 14);
  const Tensor y = test::leaf({3, 2}, 15);
  check_gradients(
      [](const auto& in) {
        return F::gaussian_nll_loss(in[0], in[1], in[2], nn::GaussianNLLLossOptions().full(true));
      },
      {mu, y, test::leaf_in({3, 2}, 0.5, 2.0, 16)});
  check_gradients([](const auto& in) { return F::gaussian_nll_loss(in[0], in[1], in[2]); },
                  {mu, y, test::leaf_in({3}, 0.5, 2.0, 17)});
  const Tensor x = zeros({3, 2});
  check_error({"gaussian_nll_loss", "var float32[2]", "[3, 2]"},
              [&] { F::gaussian_nll_loss(x, x, ones({2})); });
  check_error({"gaussian_nll_loss", "negative"}, [&] {
    F::gaussian_nll_loss(x, x, -ones({3, 2}));
  });
  check_error({"gaussian_nll_loss", "float32[3]", "float32[3, 2]"}, [&] {
    F::gaussian_nll_loss(x, zeros({3}), ones({3, 2}));
  });
}

// ---- KL divergence ------------------------------------------------------------------------------

TEST_CASE("kl_div matches PyTorch for each reduction, with and without log_target") {
  // lq = [[-1.2, -0.8, -1.4], [-0.1, -3.0, -2.6]], tp = [[0.2, 0.5, 0.3], [0.0, 0.9, 0.1]],
  // lt = [[-1.6, -0.7, -1.2], [-2.3, -0.1, -2.3]]
  const Tensor lq = tensor({{-1.2, -0.8, -1.4}, {-0.1, -3.0, -2.6}});
  const Tensor tp = tensor({{0.2, 0.5, 0.3}, {0.0, 0.9, 0.1}});
  const Tensor lt = tensor({{-1.6, -0.7, -1.2}, {-2.3, -0.1, -2.3}});
  using nn::KLDivReduction;
  auto kl = [](KLDivReduction r, bool log_target) {
    return [r, log_target](const std::vector<Tensor>& in) {
      return F::kl_div(in[0], in[1], nn::KLDivLossOptions().reduction(r).log_target(log_target));
    };
  };
  // run(lambda a, b: F.kl_div(a, b, reduction=red), lq, tp, grads=(0, 1)). PyTorch's gradient
  // in the target is NaN where the target is 0; only the input's is compared there.
  check_torch(kl(KLDivReduction::None, false), {lq, tp},
              {-0.0818875824868201, 0.05342640972002738, 0.05880815870221917, 0.0,
               2.6051755359079567, 0.029741490700595452},
              {{-0.2, -0.5, -0.3, 0.0, -0.9, -0.1}});
  check_torch(kl(KLDivReduction::Mean, false), {lq, tp}, {0.44421066875732973}, {});
  check_torch(kl(KLDivReduction::Sum, false), {lq, tp}, {2.6652640125439784}, {});
  check_torch(kl(KLDivReduction::BatchMean, false), {lq, tp}, {1.3326320062719892},
              {{-0.1, -0.25, -0.15, 0.0, -0.45, -0.05}});
  Tensor target = tensor({{0.2, 0.5, 0.3}, {0.1, 0.9, 0.1}}).requires_grad_();
  F::kl_div(lq, target, nn::KLDivLossOptions().reduction(KLDivReduction::Sum)).backward();
  // d/dt t (log t - x) = log t + 1 - x.
  check_close(target.grad(),
              {std::log(0.2) + 2.2, std::log(0.5) + 1.8, std::log(0.3) + 2.4, std::log(0.1) + 1.1,
               std::log(0.9) + 4.0, std::log(0.1) + 3.6},
              1e-14);
  // run(lambda a, b: F.kl_div(a, b, reduction=red, log_target=True), lq, lt, grads=(0, 1))
  check_torch(kl(KLDivReduction::None, true), {lq, lt},
              {-0.08075860719786218, 0.049658530379140996, 0.06023884238244041, -0.2205694561901682,
               2.6240285123042826, 0.03007765311684115},
              {{-0.20189651799465538, -0.4965853037914095, -0.30119421191220214,
                -0.10025884372280375, -0.9048374180359595, -0.10025884372280375},
               {0.1211379107967932, 0.5462438341705506, 0.36143305429464256, -0.12031061246736446,
                3.528865930340242, 0.1303364968396449}});
  check_torch(kl(KLDivReduction::Mean, true), {lq, lt}, {0.4104459124657791}, {});
  check_torch(kl(KLDivReduction::Sum, true), {lq, lt}, {2.4626754747946746}, {});
  check_torch(kl(KLDivReduction::BatchMean, true), {lq, lt}, {1.2313377373973373}, {});
}

TEST_CASE("kl_div: gradients agree with finite differences") {
  const Tensor input = test::strided_leaf({2, 3}, 18);
  check_gradients(
      [](const auto& in) {
        return F::kl_div(in[0], in[1],
                         nn::KLDivLossOptions().reduction(nn::KLDivReduction::BatchMean));
      },
      {input, test::leaf_in({2, 3}, 0.1, 1.0, 19)});
  check_gradients(
      [](const auto& in) {
        return F::kl_div(in[0], in[1], nn::KLDivLossOptions().log_target(true));
      },
      {input, test::leaf({2, 3}, 20)});
}

// ---- Loss modules -------------------------------------------------------------------------------

TEST_CASE("loss modules call their function, print like PyTorch and convert their weights") {
  nn::CrossEntropyLoss ce(nn::CrossEntropyLossOptions().weight(class_weight().to(kFloat32)));
  CHECK(allclose(
      ce(logits(), classes()),
      F::cross_entropy(logits(), classes(), nn::CrossEntropyLossOptions().weight(class_weight())),
      1e-6));
  // The class weight is a buffer, converted by Module::to (the options see the same tensor).
  REQUIRE(ce->named_buffers().contains("weight"));
  ce->to(kFloat64);
  CHECK(ce->options.weight().dtype() == kFloat64);
  std::ostringstream printed;
  printed << *ce;
  CHECK(printed.str() == "CrossEntropyLoss()");

  const Tensor x = regression_x(), y = regression_y();
  CHECK(allclose(nn::MSELoss()(x, y), F::mse_loss(x, y)));
  CHECK(allclose(nn::L1Loss(nn::L1LossOptions().reduction(Reduction::Sum))(x, y),
                 F::l1_loss(x, y, Reduction::Sum)));
  CHECK(allclose(nn::HuberLoss(nn::HuberLossOptions().delta(0.5))(x, y),
                 F::huber_loss(x, y, nn::HuberLossOptions().delta(0.5))));
  CHECK(allclose(nn::SmoothL1Loss()(x, y), F::smooth_l1_loss(x, y)));
  CHECK(allclose(nn::GaussianNLLLoss()(x, y, ones({2, 3}, kFloat64)),
                 F::gaussian_nll_loss(x, y, ones({2, 3}, kFloat64))));
  CHECK(allclose(nn::KLDivLoss()(x, y.abs()), F::kl_div(x, y.abs())));
  CHECK(allclose(nn::NLLLoss()(logits(), classes()), F::nll_loss(logits(), classes())));
  const Tensor p = regression_x().sigmoid(), t = regression_y().abs();
  CHECK(allclose(nn::BCELoss()(p, t), F::binary_cross_entropy(p, t)));
  nn::BCEWithLogitsLoss with_logits(
      nn::BCEWithLogitsLossOptions().pos_weight(tensor({1.0, 2.0, 3.0})));
  CHECK(with_logits->named_buffers().keys() == std::vector<std::string>{"pos_weight"});
  CHECK(allclose(with_logits(x, t),
                 F::binary_cross_entropy_with_logits(
                     x, t, nn::BCEWithLogitsLossOptions().pos_weight(tensor({1.0, 2.0, 3.0})))));
}
