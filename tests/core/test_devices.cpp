// Devices: an op whose operands live on different devices throws an error naming both, before any
// kernel runs; bg::cuda answers in every build.
//
// The "GPU" tensors here are fakes: their storage is host memory labelled cuda:0. No backend is
// asked to create them, and each check must fire before one is asked to read them, so these tests
// need no GPU (nor a CUDA build).

#include <memory>

#include <bg/core/tensor_impl.h>

#include "test_util.h"

using namespace bg;

namespace {

// A float64 tensor of `sizes` that claims to be on cuda:0 (its memory is host memory).
Tensor fake_cuda(const Shape& sizes, Dtype dtype = kFloat64) {
  const size_t nbytes = static_cast<size_t>(numel_of(sizes)) * element_size(dtype);
  auto storage = std::make_shared<Storage>(nbytes, Device::cuda(), cpu_allocator());
  return Tensor(
      std::make_shared<TensorImpl>(std::move(storage), sizes, contiguous_strides(sizes), 0, dtype));
}

void check_mixed(const std::string& op, const std::function<void()>& run) {
  INFO("op: ", op);
  test::check_error({op, "cpu", "cuda:0"}, run);
}

}  // namespace

TEST_CASE("ops refuse operands on different devices, naming both") {
  const Tensor x = zeros({2, 3}, kFloat64), gx = fake_cuda({2, 3});
  const Tensor index = zeros({2}, kInt64), gindex = fake_cuda({2}, kInt64);
  check_mixed("add", [&] { (void)(x + gx); });
  check_mixed("mul", [&] { (void)(gx * x); });
  check_mixed("maximum", [&] { (void)maximum(x, gx); });
  check_mixed("where", [&] { (void)where(x > 0, gx, x); });
  check_mixed("mm", [&] { (void)mm(x, fake_cuda({3, 2})); });
  check_mixed("matmul", [&] { (void)matmul(gx, zeros({3, 2}, kFloat64)); });
  check_mixed("addmm", [&] {
    (void)addmm(gx.select(0, 0).narrow(0, 0, 2), x, zeros({3, 2}, kFloat64));
  });
  check_mixed("addmm", [&] { (void)addmm(zeros({2}, kFloat64), x, fake_cuda({3, 2})); });
  check_mixed("baddbmm", [&] { (void)baddbmm(gx, x.unsqueeze(0), zeros({1, 3, 3}, kFloat64)); });
  check_mixed("index_select", [&] { (void)index_select(x, 0, gindex); });
  check_mixed("index_select", [&] { (void)index_select(gx, 0, index); });
  check_mixed("gather", [&] { (void)gather(x, 1, fake_cuda({2, 3}, kInt64)); });
  check_mixed("scatter_add", [&] { (void)scatter_add(x, 1, zeros({2, 3}, kInt64), gx); });
  check_mixed("index_add", [&] { (void)index_add(x, 0, index, gx); });
  check_mixed("cat", [&] { (void)cat({x, gx}); });
  check_mixed("masked_select", [&] { (void)masked_select(x, fake_cuda({2, 3}, kBool)); });
  check_mixed("conv2d", [&] {
    (void)conv2d(zeros({1, 1, 4, 4}, kFloat64), fake_cuda({1, 1, 3, 3}));
  });
  check_mixed("allclose", [&] { (void)allclose(x, gx); });
  check_mixed("add_", [&] {
    Tensor y = zeros({2, 3}, kFloat64);
    y.add_(gx);
  });
  check_mixed("gaussian_sample", [&] { (void)fused::gaussian_sample(x, gx, x); });
  check_mixed("gaussian_kl",
              [&] { (void)fused::gaussian_kl(x, x, fake_cuda({}), ones({}, kFloat64)); });
  check_mixed("sgd_step", [&] {
    NoGradGuard no_grad;
    fused::sgd_step(zeros({2, 3}, kFloat64), gx, {}, fused::SgdHyper{0.1});
  });
}

TEST_CASE("bg::cuda answers in every build") {
  // A build with the CUDA backend registers it in every program that links bg::core.
  CHECK(cuda::is_built() == static_cast<bool>(BG_TEST_CUDA_BUILT));
  if (cuda::is_available()) {
    CHECK(cuda::device_count() > 0);
  } else {
    CHECK(cuda::device_count() == 0);
    // A clear error, whether the build has no CUDA backend or the machine has no GPU.
    test::check_error({"cuda", "available"}, [] { (void)zeros({2}, TensorOptions(kCUDA)); });
  }
  cuda::synchronize();  // nothing queued: returns at once
}
