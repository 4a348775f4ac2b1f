// Parity: every op, forward and backward, on the CPU and on the GPU, with the results compared.
// Inputs are float64 (tight tolerances: the devices' libm differ only in the last bits) unless a
// case is about another dtype; views (transposes, slices, broadcasts) reach the kernels as strided
// operands.
//
// Every primitive of bg::Backend has a CUDA kernel (cuda/src): no op falls back to the CPU, so
// these cases exercise the GPU kernels throughout.

#include <cmath>

#include "cuda_test_util.h"

using namespace bg;
using test::check_parity;
using test::leaf;
using test::leaf_in;
using V = std::vector<Tensor>;

TEST_SUITE("cuda: op parity" * doctest::skip(test::kNoGpu)) {
  TEST_CASE("binary ops, with broadcasting and strided operands") {
    const Tensor a = leaf({4, 5}, 1), b = leaf({5}, 2), c = leaf_in({5, 4}, 0.5, 2.0, 3);
    check_parity("add", [](const V& x) { return x[0] + x[1]; }, {a, b});
    check_parity("sub", [](const V& x) { return x[0] - x[1].t(); }, {a, c});
    check_parity("mul", [](const V& x) { return x[0] * x[1] * 3.0; }, {a, b});
    check_parity("div", [](const V& x) { return x[0] / x[1].t(); }, {a, c});
    check_parity("pow", [](const V& x) { return pow(x[1], x[0].t()); }, {a, c});
    check_parity("maximum", [](const V& x) { return maximum(x[0], x[1]); }, {a, b});
    check_parity("minimum", [](const V& x) { return minimum(x[0], x[1].t()); }, {a, c});
    check_parity("where", [](const V& x) { return where(x[0] > 0, x[0], x[1]); }, {a, b});
    const Tensor i = arange(12).reshape({3, 4}), j = tensor<int64_t>({3, -2, 7, 0});
    for (auto [name, fn] : std::vector<std::pair<std::string, test::Function>>{
             {"int add", [](const V& x) { return x[0] + x[1]; }},
             {"int mul", [](const V& x) { return x[0] * x[1]; }},
             {"int pow", [](const V& x) { return pow(x[0], clamp(x[1], 0, 2)); }},
             {"eq", [](const V& x) { return x[0] == x[1]; }},
             {"lt", [](const V& x) { return x[0] < x[1]; }},
             {"ge", [](const V& x) { return x[0] >= x[1]; }},
             {"logical_and", [](const V& x) { return logical_and(x[0] > 2, x[1] > 0); }},
             {"logical_or", [](const V& x) { return logical_or(x[0] > 2, x[1] > 0); }},
             {"logical_not", [](const V& x) { return logical_not(x[0] > x[1]); }},
             {"int div", [](const V& x) { return x[0] / (x[1].abs() + 1); }}}) {
      check_parity(name, fn, {i, j}, 0, 0);
    }
  }

  TEST_CASE("unary ops") {
    const Tensor x = leaf({3, 7}, 4), positive = leaf_in({3, 7}, 0.1, 3.0, 5);
    const std::vector<std::pair<std::string, test::Function>> on_reals = {
        {"neg", [](const V& v) { return -v[0]; }},
        {"abs", [](const V& v) { return v[0].abs(); }},
        {"sign", [](const V& v) { return v[0].sign() * v[0]; }},
        {"exp", [](const V& v) { return v[0].exp(); }},
        {"expm1", [](const V& v) { return v[0].expm1(); }},
        {"sin", [](const V& v) { return v[0].t().sin(); }},
        {"cos", [](const V& v) { return v[0].cos(); }},
        {"tanh", [](const V& v) { return v[0].tanh(); }},
        {"sigmoid", [](const V& v) { return v[0].sigmoid(); }},
        {"erf", [](const V& v) { return erf(v[0]); }},
        {"relu", [](const V& v) { return relu(v[0]); }},
        {"gelu", [](const V& v) { return gelu(v[0]); }},
        {"silu", [](const V& v) { return silu(v[0]); }},
        {"softplus", [](const V& v) { return softplus(v[0] * 10, 2.0, 5.0); }},
        {"leaky_relu", [](const V& v) { return leaky_relu(v[0], 0.2); }},
        {"elu", [](const V& v) { return elu(v[0], 0.7); }},
        {"pow 2", [](const V& v) { return v[0].pow(2); }},
        {"pow 3", [](const V& v) { return v[0].pow(3.0); }},
        {"clamp", [](const V& v) { return clamp(v[0], -0.5, 0.5); }},
        {"clamp_min", [](const V& v) { return clamp_min(v[0], 0.1); }},
    };
    for (const auto& [name, fn] : on_reals) check_parity(name, fn, {x}, 1e-13, 1e-14);
    const std::vector<std::pair<std::string, test::Function>> on_positive = {
        {"log", [](const V& v) { return v[0].log(); }},
        {"log1p", [](const V& v) { return v[0].log1p(); }},
        {"sqrt", [](const V& v) { return v[0].sqrt(); }},
        {"rsqrt", [](const V& v) { return v[0].rsqrt(); }},
        {"pow 0.5", [](const V& v) { return v[0].pow(0.5); }},
    };
    for (const auto& [name, fn] : on_positive) check_parity(name, fn, {positive}, 1e-13, 1e-14);
    // float32: the two libm's agree to a few ulps.
    check_parity(
        "float32 exp and tanh", [](const V& v) { return v[0].exp() + v[0].tanh(); },
        {x.detach().to(kFloat32).requires_grad_()}, 1e-6, 1e-6);
    check_parity(
        "int64 neg, abs, clamp", [](const V& v) { return clamp(-v[0].abs(), -5, 3); },
        {arange(-6, 6)}, 0, 0);
    // NaN and infinities pass through as on the CPU.
    const Tensor special = tensor<double>({NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.0});
    check_parity("relu of specials", [](const V& v) { return relu(v[0]); }, {special});
    check_parity("clamp of specials", [](const V& v) { return clamp(v[0], -1, 1); }, {special});
    check_parity("maximum of specials", [](const V& v) { return maximum(v[0], zeros_like(v[0])); },
                 {special});
  }

  TEST_CASE("reductions") {
    const Tensor x = leaf({4, 6, 5}, 6);
    for (const auto& dims : std::vector<Dims>{{}, {0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}}) {
      INFO("dims: ", dims.size());
      check_parity("sum", [&](const V& v) { return sum(v[0], dims); }, {x});
      check_parity("sum keepdim", [&](const V& v) { return sum(v[0].transpose(0, 2), dims, true); },
                   {x});
      check_parity("mean", [&](const V& v) { return mean(v[0], dims); }, {x});
      check_parity("prod", [&](const V& v) { return prod(v[0], dims); }, {x});
      check_parity("max", [&](const V& v) { return max(v[0], dims); }, {x});
      check_parity("min", [&](const V& v) { return min(v[0].permute({1, 2, 0}), dims); }, {x});
    }
    check_parity("var", [](const V& v) { return var(v[0], {1}); }, {x});
    check_parity("logsumexp", [](const V& v) { return logsumexp(v[0], {2}); }, {x});
    check_parity("norm", [](const V& v) { return norm(v[0]); }, {x});
    check_parity(
        "argmax", [](const V& v) { return argmax(v[0], 2); }, {x}, 0, 0);
    check_parity(
        "argmin", [](const V& v) { return argmin(v[0], 0); }, {x}, 0, 0);
    check_parity(
        "argmax of all", [](const V& v) { return argmax(v[0]); }, {x}, 0, 0);
    // Long reductions take the two-pass path; float32 sums accumulate in float64 on both devices.
    Generator generator(3);
    const Tensor long_rows = rand({3, 300000}, kFloat32, &generator);
    check_parity(
        "long float32 sums", [](const V& v) { return v[0].sum({1}); }, {long_rows}, 1e-6, 0);
    check_parity(
        "long column sums", [](const V& v) { return v[0].t().sum({1}); }, {long_rows}, 1e-6, 0);
    check_parity(
        "long max", [](const V& v) { return v[0].max(); }, {long_rows}, 0, 0);
    check_parity(
        "int64 sum", [](const V& v) { return v[0].sum({0}); }, {arange(20).reshape({4, 5})}, 0, 0);
    check_parity(
        "bool sum", [](const V& v) { return (v[0] > 0).sum(); }, {leaf({100}, 9)}, 0, 0);
    // NaN propagates through max and wins argmax, as on the CPU.
    const Tensor with_nan = tensor<double>({{1, NAN, 3}, {NAN, 0, 5}});
    check_parity("max with NaN", [](const V& v) { return max(v[0], {1}); }, {with_nan});
    check_parity(
        "argmax with NaN", [](const V& v) { return argmax(v[0], 1); }, {with_nan}, 0, 0);
    check_parity(
        "argmax ties", [](const V& v) { return argmax(v[0], 0); }, {zeros({300, 2})}, 0, 0);
  }

  TEST_CASE("matrix products") {
    const Tensor a = leaf({5, 7}, 10), b = leaf({7, 3}, 11), batch = leaf({4, 5, 7}, 12);
    check_parity("mm", [](const V& v) { return mm(v[0], v[1]); }, {a, b});
    check_parity("mm transposed", [](const V& v) { return mm(v[1].t(), v[0].t()); }, {a, b});
    check_parity("bmm", [](const V& v) { return bmm(v[0], v[0].transpose(1, 2)); }, {batch});
    check_parity("matmul broadcast", [](const V& v) { return matmul(v[0], v[1]); }, {batch, b});
    check_parity("matmul vector", [](const V& v) { return matmul(v[0], v[1].select(1, 0)); },
                 {a, b});
    check_parity("mm strided",
                 [](const V& v) { return mm(v[0].slice(1, 0, 7, 2), v[1].slice(0, 0, 7, 2)); },
                 {a, b});
    check_parity(
        "float32 mm", [](const V& v) { return mm(v[0], v[1]); },
        {a.detach().to(kFloat32).requires_grad_(), b.detach().to(kFloat32).requires_grad_()}, 1e-5,
        1e-6);
    check_parity("empty inner dim", [](const V& v) { return mm(v[0], v[1]); },
                 {zeros({3, 0}), zeros({0, 2})});
  }

  TEST_CASE("indexing") {
    const Tensor x = leaf({5, 4}, 13);
    const Tensor index = tensor<int64_t>({4, 0, 4, 2});
    const Tensor index2 = tensor<int64_t>({{1, 3}, {0, 0}, {2, 1}, {3, 3}, {0, 1}});
    check_parity("index_select", [&](const V& v) { return index_select(v[0], 0, index); }, {x});
    check_parity("index_select dim 1", [&](const V& v) { return index_select(v[0].t(), 1, index); },
                 {x});
    check_parity("gather", [&](const V& v) { return gather(v[0], 1, index2); }, {x});
    check_parity("scatter_add", [&](const V& v) { return scatter_add(v[0], 1, index2, v[1]); },
                 {x, leaf({5, 2}, 14)});
    check_parity("index_add", [&](const V& v) { return index_add(v[0], 0, index, v[1]); },
                 {x, leaf({4, 4}, 15)});
    check_parity("masked_select", [](const V& v) { return masked_select(v[0], v[0] > 0); }, {x});
    check_parity("cat", [](const V& v) { return cat({v[0], v[0] * 2}, 1); }, {x});
    check_parity("embedding-like", [&](const V& v) { return v[0].index_select(0, index).sum({1}); },
                 {x});
    check_parity(
        "int64 gather", [&](const V& v) { return gather(v[0], 1, index2); },
        {arange(20).reshape({5, 4})}, 0, 0);
  }

  TEST_CASE("softmax and log_softmax") {
    const Tensor x = leaf({3, 4, 5}, 16);
    for (int64_t dim : {0, 1, 2}) {
      check_parity("softmax", [=](const V& v) { return softmax(v[0], dim); }, {x});
      check_parity("log_softmax",
                   [=](const V& v) { return log_softmax(v[0].transpose(0, 2), dim); }, {x});
    }
    check_parity("long softmax rows", [](const V& v) { return log_softmax(v[0], 1); },
                 {leaf({2, 5000}, 17)});
    const Tensor masked = tensor<double>({{-INFINITY, 0}, {1, -INFINITY}});
    check_parity("masked softmax", [](const V& v) { return softmax(v[0], 1); }, {masked});
    // A fully masked row is NaN on both devices, as in PyTorch.
    const Tensor all_masked = tensor<double>({{-INFINITY, -INFINITY}, {1, -INFINITY}});
    check_parity("fully masked softmax", [](const V& v) { return softmax(v[0], 1); }, {all_masked});
  }

  TEST_CASE("masking, triangles and scaled products") {
    const Tensor x = leaf({2, 3, 4}, 31), mask = leaf({3, 4}, 32).detach() > 0;
    check_parity("masked_fill",
                 [&](const V& v) { return v[0].masked_fill(mask.to(v[0].device()), 0.5); }, {x});
    check_parity("tril", [](const V& v) { return v[0].tril(1); }, {x});
    check_parity("triu", [](const V& v) { return v[0].transpose(1, 2).triu(-1); }, {x});
    check_parity("addmm", [](const V& v) { return addmm(v[0], v[1], v[2].t(), 0.5, 2); },
                 {leaf({4}, 33), leaf({3, 5}, 34), leaf({4, 5}, 35)});
    check_parity("baddbmm", [](const V& v) { return baddbmm(v[0], v[1], v[2], 1, 0.25); },
                 {leaf({3, 3}, 36), leaf({2, 3, 4}, 37), leaf({2, 4, 3}, 38)});
    // beta = alpha = 1: the input is the matmul primitive's bias (the epilogue on the CPU).
    check_parity("addmm with a bias", [](const V& v) { return addmm(v[0], v[1], v[2].t()); },
                 {leaf({4}, 94), leaf({3, 5}, 95), leaf({4, 5}, 96)});
    check_parity("addmm with a column bias", [](const V& v) { return addmm(v[0], v[1], v[2]); },
                 {leaf({3, 1}, 97), leaf({3, 5}, 98), leaf({5, 4}, 99)});
    check_parity("baddbmm with a bias", [](const V& v) { return baddbmm(v[0], v[1], v[2]); },
                 {leaf({2, 1, 3}, 100), leaf({2, 3, 4}, 101), leaf({2, 4, 3}, 102)});
  }

  TEST_CASE("recurrences: the fused LSTM and GRU cell kernels and the RNN loop") {
    const int64_t T = 4, B = 3, H = 5;
    const Tensor x = leaf({T, B, 4 * H}, 39), w = leaf({4 * H, H}, 40), h0 = leaf({B, H}, 41),
                 c0 = leaf({B, H}, 42), b = leaf({3 * H}, 43);
    for (bool reverse : {false, true}) {
      check_parity("lstm_recurrence",
                   [=](const V& v) {
                     auto [out, h_n, c_n] = lstm_recurrence(v[0], v[1], v[2], v[3], reverse);
                     return cat({out.flatten(), h_n.flatten(), c_n.flatten() * 2});
                   },
                   {x, w, h0, c0});
      check_parity("gru_recurrence",
                   [=](const V& v) {
                     auto [out, h_n] = gru_recurrence(
                         v[0].narrow(2, 0, 3 * H), v[1].narrow(0, 0, 3 * H), v[2], v[3], reverse);
                     return cat({out.flatten(), h_n.flatten() * 2});
                   },
                   {x, w, b, h0});
      check_parity("rnn_recurrence",
                   [=](const V& v) {
                     auto [out, h_n] = rnn_recurrence(v[0].narrow(2, 0, H), v[1].narrow(0, 0, H),
                                                      v[2], RnnNonlinearity::Tanh, reverse);
                     return cat({out.flatten(), h_n.flatten() * 2});
                   },
                   {x, w, h0});
    }
  }

  TEST_CASE("layer norm, multi-head attention and dropout masks (compositions on the GPU)") {
    check_parity("layer_norm", [](const V& v) { return layer_norm(v[0], v[1], v[2], 1e-5); },
                 {leaf({5, 7}, 50), leaf({7}, 51), leaf({7}, 52)});
    check_parity("layer_norm without affine",
                 [](const V& v) { return layer_norm(v[0].transpose(0, 1), {}, {}, 1e-3); },
                 {leaf({7, 5}, 53)});
    check_parity("multi_head_attention {q, kv} with a bias",
                 [](const V& v) {
                   return multi_head_attention({v[0], v[1]}, 2, v[2], 0.0, 0.5);
                 },
                 {leaf({3, 2, 4}, 54), leaf({5, 2, 8}, 55), leaf({2, 1, 3, 5}, 56)});
    check_parity("multi_head_attention {qkv}",
                 [](const V& v) { return multi_head_attention({v[0]}, 2, {}, 0.0, 0.7); },
                 {leaf({4, 3, 12}, 57)});
    // The same seed draws the same mask on either device (one Philox layout).
    for (Dtype dtype : {kFloat32, kFloat64}) {
      Generator on_cpu(9), on_gpu(9);
      const Tensor cpu = dropout_mask({1001}, 0.3, dtype, &on_cpu);
      const Tensor gpu =
          dropout_mask({1001}, 0.3, TensorOptions(dtype).device(Device::cuda()), &on_gpu);
      test::check_matches(gpu, cpu, 0, 0);
    }
  }

  TEST_CASE("convolution and pooling") {
    const Tensor input = leaf({2, 3, 9, 8}, 18), weight = leaf({4, 3, 3, 3}, 19),
                 bias = leaf({4}, 20);
    check_parity("conv2d", [](const V& v) { return conv2d(v[0], v[1], v[2]); },
                 {input, weight, bias});
    check_parity("conv2d strided, padded, dilated",
                 [](const V& v) { return conv2d(v[0], v[1], v[2], 2, 1, 2); },
                 {input, weight, bias});
    check_parity("conv2d groups", [](const V& v) { return conv2d(v[0], v[1], {}, 1, 1, 1, 2); },
                 {leaf({2, 4, 6, 6}, 21), leaf({4, 2, 3, 3}, 22)});
    check_parity("conv_transpose2d",
                 [](const V& v) { return conv_transpose2d(v[0], v[1], {}, 2, 1); },
                 {leaf({2, 4, 5, 5}, 23), leaf({4, 3, 3, 3}, 24)});
    check_parity("max_pool2d", [](const V& v) { return max_pool2d(v[0], 2); }, {input});
    check_parity("max_pool2d padded, strided", [](const V& v) { return max_pool2d(v[0], 3, 2, 1); },
                 {input});
    check_parity("max_pool2d of a view",
                 [](const V& v) { return max_pool2d(v[0].transpose(2, 3), 2); }, {input});
    check_parity("avg_pool2d", [](const V& v) { return avg_pool2d(v[0], 3, 2, 1); }, {input});
    check_parity(
        "float32 conv2d", [](const V& v) { return conv2d(v[0], v[1], v[2], 1, 1); },
        {input.detach().to(kFloat32).requires_grad_(),
         weight.detach().to(kFloat32).requires_grad_(),
         bias.detach().to(kFloat32).requires_grad_()},
        1e-5, 1e-5);
  }

  TEST_CASE("fused Gaussian sample and KL") {
    const Tensor mu = leaf({6, 5}, 25), rho = leaf({6, 5}, 26), eps = leaf({6, 5}, 27);
    const Tensor eps_fixed = eps.detach();
    check_parity("gaussian_sample",
                 [&](const V& v) { return fused::gaussian_sample(v[0], v[1], v[2]); },
                 {mu, rho, eps_fixed});
    check_parity("gaussian_kl, scalar prior",
                 [](const V& v) { return fused::gaussian_kl(v[0], v[1], v[2], v[3]); },
                 {mu, rho, zeros({}, kFloat64), full({}, 0.5, kFloat64)});
    check_parity(
        "gaussian_kl, tensor prior",
        [](const V& v) { return fused::gaussian_kl(v[0], v[1].t(), v[2], v[3]); },
        {mu, leaf({5, 6}, 28), leaf({5}, 29).detach(), leaf_in({6, 5}, 0.5, 2, 30).detach()});
    // The KL's backward joined to the sample's (one kernel for both gradients).
    check_parity("gaussian_sample and its KL, joined",
                 [](const V& v) {
                   const Tensor w = fused::gaussian_sample(v[0], v[1], v[2]);
                   return w * 2 + fused::gaussian_kl(v[0], v[1], v[3], v[4], w);
                 },
                 {mu, rho, eps_fixed, zeros({}, kFloat64), full({}, 0.5, kFloat64)});
    Generator generator(4);
    const Tensor big = rand({100000}, kFloat32, &generator);
    check_parity(
        "gaussian_kl, long float32",
        [](const V& v) { return fused::gaussian_kl(v[0], v[0] - 1, v[1], v[2]); },
        {big, zeros({}), ones({})}, 1e-6, 0);
  }

}  // TEST_SUITE
