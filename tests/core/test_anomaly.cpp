// Anomaly detection (autograd::DetectAnomalyGuard): the first backward node to return a NaN or an
// infinity is named, with the forward op that created it.

#include <cmath>

#include "test_util.h"

using namespace bg;

TEST_CASE("anomaly detection: off by default, NaN and inf gradients pass quietly, as in PyTorch") {
  CHECK_FALSE(autograd::AnomalyMode::is_enabled());
  const Tensor x = tensor({0.0, 4.0}).requires_grad_();
  x.sqrt().sum().backward();  // d sqrt(x)/dx = 1 / (2 sqrt(x)): inf at 0
  CHECK(std::isinf(test::values(x.grad())[0]));
}

TEST_CASE("anomaly detection names the node, the input and the forward op that made the node") {
  const Tensor x = tensor({0.0, 4.0}).requires_grad_();
  const Tensor w = tensor({1.0, 2.0}).requires_grad_();
  autograd::DetectAnomalyGuard guard;
  CHECK(autograd::AnomalyMode::is_enabled());
  const Tensor y = (x.sqrt() * w).sum();
  test::check_error({"backward", "SqrtBackward", "NaN or infinite", "its input 0", "float64[2]",
                     "created by the forward op", "called from"},
                    [&] { y.backward(); });
  // A backward pass without anomalies runs as usual. (The failed one had reached w already.)
  w.set_grad(Tensor());
  const Tensor z = (x * w).sum();
  z.backward();
  test::check_close(w.grad(), {0.0, 4.0}, 0.0);
}

TEST_CASE("anomaly detection checks nodes made before it was on, and only while it is on") {
  const Tensor x = tensor({-1.0, 1.0}).requires_grad_();
  const Tensor made_before = x.pow(0.5).sum();  // 0.5 x^-0.5 at -1: NaN
  {
    autograd::DetectAnomalyGuard guard;
    test::check_error({"PowBackward", "NaN or infinite", "created before anomaly detection was on"},
                      [&] { made_before.backward(); });
    // A NaN value with a finite gradient is no anomaly of the backward pass: d log(x) = 1 / x.
    x.log().sum().backward();
    test::check_close(x.grad(), {-1.0, 1.0}, 0.0);
  }
  CHECK_FALSE(autograd::AnomalyMode::is_enabled());
  // Guards nest, each restoring what it found.
  {
    autograd::DetectAnomalyGuard outer;
    {
      autograd::DetectAnomalyGuard inner(false);
      CHECK_FALSE(autograd::AnomalyMode::is_enabled());
    }
    CHECK(autograd::AnomalyMode::is_enabled());
  }
  CHECK_FALSE(autograd::AnomalyMode::is_enabled());
}
