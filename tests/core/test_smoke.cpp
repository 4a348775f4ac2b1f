#include "test_util.h"

using namespace bg;

TEST_CASE("strided_leaf gives non-contiguous leaves") {
  const Tensor a = test::strided_leaf({3, 4});
  CHECK_FALSE(a.is_contiguous());
  CHECK(a.is_leaf());
  CHECK(a.requires_grad());
  CHECK(a.sizes() == Shape{3, 4});
  const Tensor b = test::strided_leaf({5});
  CHECK_FALSE(b.is_contiguous());
  test::check_gradients([](const std::vector<Tensor>& in) { return (in[0] * in[1]).tanh(); },
                        {a, test::leaf({4})});
}
