// The CUDA runtime side of the backend: copies between devices, synchronizing reads, random
// numbers equal to the CPU's, errors, the caching allocator, and training a module on the GPU.

#include <bg/core/tensor_impl.h>
#include <bg/nn.h>

#include "cuda_test_util.h"

using namespace bg;
using test::check_matches;

namespace {

const Device kGpu = Device::cuda();

// One training step of a small MLP on `device` from the same initial weights; returns the
// parameters afterwards (on the CPU).
template <typename Optimizer, typename Options>
std::vector<Tensor> train_step(Device device, const Options& options) {
  manual_seed(3);
  nn::Sequential model(nn::Linear(6, 16), nn::Tanh(), nn::Linear(16, 3));
  model->to(kFloat64);
  model->to(device);
  Generator generator(5);
  const Tensor x = randn({8, 6}, kFloat64, &generator).to(device);
  const Tensor target = randint(0, 3, {8}, kInt64, &generator).to(device);
  Optimizer optimizer(model->parameters(), options);
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    nn::functional::cross_entropy(model(x), target).backward();
    optimizer.step();
  }
  std::vector<Tensor> out;
  for (const Tensor& p : model->parameters()) out.push_back(p.detach().cpu());
  return out;
}

template <typename Optimizer, typename Options>
void check_training(const std::string& name, const Options& options) {
  INFO("optimizer: ", name);
  const std::vector<Tensor> cpu = train_step<Optimizer>(Device::cpu(), options);
  const std::vector<Tensor> gpu = train_step<Optimizer>(kGpu, options);
  REQUIRE(cpu.size() == gpu.size());
  for (size_t i = 0; i < cpu.size(); ++i)
    test::check_close(gpu[i], test::values(cpu[i]), 1e-10, 1e-12);
}

}  // namespace

TEST_SUITE("cuda: runtime" * doctest::skip(test::kNoGpu)) {
  TEST_CASE("copies between the host and the GPU keep values, strides and dtypes") {
    const Tensor x = test::iota({3, 4, 5});
    const Tensor g = x.to(kGpu);
    CHECK(g.device() == kGpu);
    test::check_equal(g.cpu(), x);
    // Strided sources and destinations, with conversions, in both directions.
    test::check_equal(x.permute({2, 0, 1}).to(kGpu).cpu(), x.permute({2, 0, 1}).contiguous());
    test::check_equal(g.permute({2, 0, 1}).cpu(), x.permute({2, 0, 1}).contiguous());
    test::check_equal(g.to(kInt64).cpu(), x.to(kInt64));
    test::check_equal(g.to(kFloat32).to(kBool).cpu(), x.to(kBool));
    Tensor host = zeros({5, 3, 4}, kFloat32);
    host.permute({1, 2, 0}).copy_(g);  // a strided float32 host view from a float64 GPU tensor
    test::check_equal(host.permute({1, 2, 0}), x.to(kFloat32));
    Tensor device = zeros({4, 3}, TensorOptions(kInt64).device(kGpu));
    device.t().copy_(x.select(2, 1));  // host to a strided GPU view, converting
    test::check_equal(device.t().cpu(), x.select(2, 1).to(kInt64));
    device.copy_(tensor<int64_t>({7}));  // broadcast from a one-element host tensor
    CHECK(device.sum().item<int64_t>() == 84);
    // Floats that do not fit an int64 become INT64_MIN on both devices.
    const Tensor special = tensor<double>({NAN, INFINITY, 1e30, -2.5});
    test::check_equal(special.to(kGpu).to(kInt64).cpu(), special.to(kInt64));
  }

  TEST_CASE("item() and factories on the GPU") {
    const Tensor g = arange(10, TensorOptions(kFloat64).device(kGpu));
    CHECK(g.device() == kGpu);
    CHECK(g.sum().item<double>() == 45.0);
    CHECK(full({2, 2}, 3, TensorOptions(kInt64).device(kGpu)).sum().item<int64_t>() == 12);
    CHECK(zeros_like(g).device() == kGpu);
    CHECK(eye(3, std::nullopt, TensorOptions(kGpu)).sum().item<double>() == 3.0);
    cuda::synchronize();
  }

  TEST_CASE("random numbers: the CPU's for the same seed and offset") {
    for (Dtype dtype : {kFloat32, kFloat64}) {
      INFO("dtype: ", dtype);
      Generator cpu(42), gpu(42);
      // Odd sizes: a fill that ends inside a Philox block.
      const Tensor u = rand({1001}, dtype, &cpu),
                   gu = rand({1001}, TensorOptions(dtype).device(kGpu), &gpu);
      check_matches(gu, u, 0, 0);  // uniform draws: the same bits
      const Tensor n = randn({777}, dtype, &cpu),
                   gn = randn({777}, TensorOptions(dtype).device(kGpu), &gpu);
      check_matches(gn, n, dtype == kFloat32 ? 1e-5 : 1e-12, dtype == kFloat32 ? 1e-6 : 1e-14);
      CHECK(cpu.get_state() == gpu.get_state());  // the same counters were used
      Tensor host = empty({33}, dtype), device = empty({33}, TensorOptions(dtype).device(kGpu));
      host.uniform_(-3, 5, &cpu);
      device.uniform_(-3, 5, &gpu);
      check_matches(device, host, 0, 0);
    }
    Generator cpu(7), gpu(7);
    check_matches(randint(-5, 1000, {501}, TensorOptions(kInt64).device(kGpu), &gpu),
                  randint(-5, 1000, {501}, kInt64, &cpu), 0, 0);
    // The default generators are seeded together.
    manual_seed(11);
    const Tensor a = randn({64});
    const Tensor b = randn({64}, TensorOptions(kGpu));
    check_matches(b, a, 1e-5, 1e-6);
  }

  TEST_CASE("mixing devices in one op throws an error naming both") {
    const Tensor x = ones({3}), g = ones({3}, TensorOptions(kGpu));
    test::check_error({"add", "cpu", "cuda:0"}, [&] { (void)(x + g); });
    test::check_error({"mm", "cpu", "cuda:0"}, [&] {
      (void)mm(x.reshape({1, 3}), g.reshape({3, 1}));
    });
    test::check_error({"index_select", "cpu", "cuda:0"},
                      [&] { (void)index_select(g, 0, tensor<int64_t>({0})); });
  }

  TEST_CASE("CUDA errors become bg::Error naming the op") {
    test::check_error({"cuda:99", "not available"},
                      [] { (void)zeros({2}, TensorOptions(Device::cuda(99))); });
    // 4 PiB: cudaMalloc fails (and the failure does not poison the device for the tests after).
    test::check_error({"cuda allocate", "out of memory"},
                      [] { (void)empty({int64_t{1} << 50}, TensorOptions(kGpu)); });
    CHECK(ones({2}, TensorOptions(kGpu)).sum().item<double>() == 2.0);
  }

  TEST_CASE("the caching allocator hands freed blocks out again") {
    const void* first = nullptr;
    {
      const Tensor t = empty({1000, 1000}, TensorOptions(kGpu));
      first = t.impl()->data();
    }
    const Tensor again = empty({1000, 1000}, TensorOptions(kGpu));
    CHECK(again.impl()->data() == first);
  }

  TEST_CASE("fused optimizer updates have the CPU's bits") {
    Generator generator(9);
    const Tensor p = randn({257}, kFloat32, &generator), grad = randn({257}, kFloat32, &generator);
    // State values that keep every step finite (RMSprop's centered variance stays positive).
    const Tensor state = rand({257}, kFloat32, &generator) + 0.5;
    const Tensor state2 = rand({257}, kFloat32, &generator) * 0.1;
    NoGradGuard no_grad;
    auto run = [&](Device device, auto step) {
      const Tensor param = p.clone().to(device), s1 = state.clone().to(device),
                   s2 = state2.clone().to(device), s3 = state.clone().to(device);
      step(param, grad.to(device), s1, s2, s3);
      return std::vector<Tensor>{param.cpu(), s1.cpu(), s2.cpu(), s3.cpu()};
    };
    auto check_step = [&](const std::string& name, auto step) {
      INFO("update: ", name);
      const auto cpu = run(Device::cpu(), step), gpu = run(kGpu, step);
      for (size_t i = 0; i < cpu.size(); ++i) test::check_equal(gpu[i], cpu[i]);
    };
    check_step("sgd", [](const Tensor& w, const Tensor& g, const Tensor& buf, const Tensor&,
                         const Tensor&) {
      fused::sgd_step(
          w, g, buf,
          {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01, .nesterov = false});
    });
    check_step("adam", [](const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v,
                          const Tensor& vmax) {
      fused::adam_step(w, g, m, v, vmax,
                       {.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true, .step = 3});
    });
    check_step("adamw", [](const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v,
                           const Tensor&) {
      fused::adam_step(
          w, g, m, v, {},
          {.lr = 1e-2, .weight_decay = 0.1, .decoupled_weight_decay = true, .step = 2});
    });
    check_step("rmsprop", [](const Tensor& w, const Tensor& g, const Tensor& sq, const Tensor& avg,
                             const Tensor& buf) {
      fused::rmsprop_step(w, g, sq, buf, avg,
                          {.lr = 1e-2, .weight_decay = 0.1, .momentum = 0.5, .centered = true});
    });
    check_step("adagrad", [](const Tensor& w, const Tensor& g, const Tensor& sum, const Tensor&,
                             const Tensor&) {
      fused::adagrad_step(w, g, sum, {.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.1, .step = 4});
    });
  }

  TEST_CASE("module->to(kCUDA) trains like the CPU") {
    check_training<optim::SGD>("SGD", optim::SGDOptions(0.1).momentum(0.9));
    check_training<optim::Adam>("Adam", optim::AdamOptions(1e-2));
    check_training<optim::RMSprop>("RMSprop", optim::RMSpropOptions(1e-2));
    check_training<optim::Adagrad>("Adagrad", optim::AdagradOptions(0.1));
  }

}  // TEST_SUITE
