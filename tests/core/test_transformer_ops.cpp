// The ops of transformer.h (layer_norm, multi_head_attention) and softmax's fused backward: values
// against the formulas written as Tensor ops, float64 gradchecks and gradgradchecks (non-contiguous
// and broadcast operands), the fused kernels against the composition a backend without them runs,
// dropout masks, errors.

#include <bg/core.h>

#include <cmath>
#include <limits>
#include <vector>

#include "test_util.h"

using namespace bg;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Layer norm written out: (x - mean) / sqrt(var + eps) * w + b over the last dim.
Tensor layer_norm_formula(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  const Tensor mean = x.mean({-1}, true);
  Tensor out = (x - mean) / (x.var({-1}, 0, true) + eps).sqrt();
  if (w.defined()) out = out * w;
  if (b.defined()) out = out + b;
  return out;
}

// Multi-head attention written out, head by head: q [L, N, E], k, v [S, N, E], bias broadcastable
// to [N, H, L, S], mask (dropout, [N * H, L, S]) or undefined.
Tensor attention_formula(const Tensor& q, const Tensor& k, const Tensor& v, int64_t H,
                         const Tensor& bias, const Tensor& mask, double scale) {
  const int64_t L = q.size(0), N = q.size(1), E = q.size(2), D = E / H, S = k.size(0);
  std::vector<Tensor> sequences;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<Tensor> heads;
    for (int64_t h = 0; h < H; ++h) {
      const Tensor qh = q.select(1, n).narrow(1, h * D, D), kh = k.select(1, n).narrow(1, h * D, D),
                   vh = v.select(1, n).narrow(1, h * D, D);
      Tensor scores = qh.matmul(kh.t()) * scale;
      if (bias.defined()) scores = scores + bias.expand({N, H, L, S}).select(0, n).select(0, h);
      Tensor weights = scores.softmax(-1);
      if (mask.defined()) weights = weights * mask[n * H + h];
      heads.push_back(weights.matmul(vh));
    }
    sequences.push_back(cat(heads, 1));
  }
  return stack(sequences, 1);
}

// sum(t * a fixed ramp): a scalar whose gradient reaches every element differently.
Tensor weighted(const Tensor& t) {
  return (t * (arange(t.numel(), t.options()) * 0.37).cos().reshape(t.sizes())).sum();
}

void check_same(const std::vector<Tensor>& a, const std::vector<Tensor>& b, double rtol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("result ", i);
    test::check_close(a[i], test::values(b[i]), rtol, rtol);
  }
}

}  // namespace

TEST_CASE("layer_norm matches the formula, with and without weight and bias") {
  const Tensor x = test::leaf({3, 4, 6}, 1), w = test::leaf({6}, 2), b = test::leaf({6}, 3);
  for (bool affine : {true, false}) {
    const Tensor weight = affine ? w : Tensor(), bias = affine ? b : Tensor();
    test::check_close(layer_norm(x, weight, bias, 1e-5),
                      test::values(layer_norm_formula(x, weight, bias, 1e-5)), 1e-12, 1e-12);
  }
  test::check_close(layer_norm(x, w, Tensor(), 0.1),
                    test::values(layer_norm_formula(x, w, Tensor(), 0.1)), 1e-12, 1e-12);
  // A constant row normalizes to 0 (its variance is 0; eps keeps it finite).
  test::check_close(layer_norm(full({2, 5}, 3.0, kFloat64), Tensor(), b.narrow(0, 0, 5), 1e-5),
                    test::values(b.narrow(0, 0, 5).expand({2, 5})), 1e-12);
}

TEST_CASE("layer_norm: gradcheck and gradgradcheck, non-contiguous input") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5); },
      {test::strided_leaf({4, 5}, 4), test::leaf({5}, 5), test::leaf({5}, 6)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return layer_norm(in[0], Tensor(), in[1], 1e-3); },
      {test::leaf({2, 3, 4}, 7), test::leaf({4}, 8)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return layer_norm(in[0], Tensor(), Tensor(), 1e-5); },
      {test::leaf({3, 7}, 9)});
}

TEST_CASE(
    "multi_head_attention matches the per-head formula: packed, shared and separate "
    "projections") {
  const int64_t L = 4, S = 5, N = 2, H = 2, E = 6;
  const double scale = 0.4;
  const Tensor qkv = test::leaf({L, N, 3 * E}, 1);
  const Tensor bias = test::leaf({N, 1, L, S}, 2).detach();
  const Tensor self_bias = test::leaf({N, 1, L, L}, 2).detach();
  test::check_close(
      multi_head_attention({qkv}, H, self_bias, 0.0, scale),
      test::values(attention_formula(qkv.narrow(2, 0, E), qkv.narrow(2, E, E),
                                     qkv.narrow(2, 2 * E, E), H, self_bias, Tensor(), scale)),
      1e-12, 1e-12);
  const Tensor q = test::leaf({L, N, E}, 3), kv = test::leaf({S, N, 2 * E}, 4);
  test::check_close(multi_head_attention({q, kv}, H, bias, 0.0, scale),
                    test::values(attention_formula(q, kv.narrow(2, 0, E), kv.narrow(2, E, E), H,
                                                   bias, Tensor(), scale)),
                    1e-12, 1e-12);
  const Tensor k = test::strided_leaf({S, N, E}, 5), v = test::leaf({S, N, E}, 6);
  const Tensor causal = full({L, S}, -kInf, kFloat64).triu(1);
  test::check_close(multi_head_attention({q, k, v}, H, causal, 0.0, scale),
                    test::values(attention_formula(q, k, v, H, causal, Tensor(), scale)), 1e-12,
                    1e-12);
  // A query whose scores are all -inf gets NaN, as in PyTorch: here every query of sequence 1.
  const Tensor blocked =
      cat({zeros({1, 1, 1, S}, kFloat64), full({1, 1, 1, S}, -kInf, kFloat64)}, 0);
  const Tensor out = multi_head_attention({q, kv}, H, blocked, 0.0, scale);
  CHECK(isnan(out.select(1, 1)).sum().item<int64_t>() == L * E);
  CHECK(isnan(out.select(1, 0)).sum().item<int64_t>() == 0);
}

TEST_CASE("multi_head_attention: gradcheck and gradgradcheck of the projections and the bias") {
  const int64_t L = 3, S = 4, N = 2, H = 2, E = 4;
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return multi_head_attention({in[0]}, 2, in[1], 0.0, 0.7);
      },
      {test::strided_leaf({L, N, 3 * E}, 1), test::leaf({N, 1, 1, L}, 2)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return multi_head_attention({in[0], in[1]}, 2, in[2], 0.0, 0.5);
      },
      {test::leaf({L, N, E}, 3), test::leaf({S, N, 2 * E}, 4), test::leaf({L, S}, 5)});
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        return multi_head_attention({in[0], in[1], in[2]}, H, Tensor(), 0.0, 1.0);
      },
      {test::leaf({L, N, E}, 6), test::strided_leaf({S, N, E}, 7), test::leaf({S, N, E}, 8)});
}

TEST_CASE("multi_head_attention's dropout is dropout_mask applied to the weights") {
  const int64_t L = 5, N = 3, H = 2, E = 8;
  const Tensor qkv = test::leaf({L, N, 3 * E}, 1);
  manual_seed(11);
  const Tensor out = multi_head_attention({qkv}, H, Tensor(), 0.3, 0.5);
  manual_seed(11);
  const Tensor mask = dropout_mask({N * H, L, L}, 0.3, kFloat64);
  const Tensor expected = attention_formula(qkv.narrow(2, 0, E), qkv.narrow(2, E, E),
                                            qkv.narrow(2, 2 * E, E), H, Tensor(), mask, 0.5);
  test::check_close(out, test::values(expected), 1e-12, 1e-12);
  // The gradient goes through the same mask.
  const std::vector<Tensor> grads = autograd::grad({weighted(out)}, {qkv});
  const std::vector<Tensor> expected_grads = autograd::grad({weighted(expected)}, {qkv});
  test::check_close(grads[0], test::values(expected_grads[0]), 1e-12, 1e-12);
  // p = 1 drops every weight.
  CHECK(equal(multi_head_attention({qkv}, H, Tensor(), 1.0, 0.5), zeros({L, N, E}, kFloat64)));
}

TEST_CASE("the fused layer norm and softmax-backward kernels agree with the composition") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const double rtol = dtype == kFloat32 ? 2e-5 : 1e-12;
    const Tensor x = test::leaf({70, 33}, 1).to(dtype).detach().requires_grad_();
    const Tensor w = test::leaf({33}, 2).to(dtype).detach().requires_grad_();
    const Tensor b = test::leaf({33}, 3).to(dtype).detach().requires_grad_();
    const Tensor qkv = test::leaf({6, 2, 24}, 4).to(dtype).detach().requires_grad_();
    const Tensor bias = test::leaf({2, 1, 6, 6}, 5).to(dtype).detach().requires_grad_();
    auto run = [&] {
      std::vector<Tensor> results;
      const Tensor normalized = layer_norm(x, w, b, 1e-5);
      const Tensor bare = layer_norm(x.narrow(0, 0, 10), Tensor(), Tensor(), 1e-5);
      const Tensor attended = multi_head_attention({qkv}, 4, bias, 0.0, 0.5);
      const Tensor soft = x.softmax(-1);
      results = {normalized, bare, attended, soft};
      const std::vector<Tensor> grads = autograd::grad(
          {weighted(normalized) + weighted(bare) + weighted(attended) + weighted(soft)},
          {x, w, b, qkv, bias});
      results.insert(results.end(), grads.begin(), grads.end());
      return results;
    };
    check_same(run(), test::with_primitives_only(run), rtol);
  }
}

TEST_CASE("layer_norm and multi_head_attention errors name the op and the shapes") {
  const Tensor x = zeros({3, 4});
  test::check_error({"layer_norm", "expected weight [4]", "float32[5]"},
                    [&] { layer_norm(x, zeros({5}), Tensor(), 1e-5); });
  test::check_error({"layer_norm", "expected bias [4]", "float64[4]"},
                    [&] { layer_norm(x, Tensor(), zeros({4}, kFloat64), 1e-5); });
  test::check_error({"layer_norm", "float32 or float64", "int64"}, [&] {
    layer_norm(zeros({3, 4}, kInt64), Tensor(), Tensor(), 1e-5);
  });
  const Tensor qkv = zeros({3, 2, 12});
  test::check_error({"multi_head_attention", "E divisible by num_heads 5", "float32[3, 2, 12]"},
                    [&] { multi_head_attention({qkv}, 5, Tensor(), 0.0, 1.0); });
  test::check_error({"multi_head_attention", "float32[3, 2, 4]", "float32[5, 2, 4]"}, [&] {
    multi_head_attention({zeros({3, 2, 4}), zeros({5, 2, 4})}, 2, Tensor(), 0.0, 1.0);
  });
  test::check_error({"multi_head_attention", "{qkv}, {q, kv} or {q, k, v}", "4 tensors"}, [&] {
    multi_head_attention({qkv, qkv, qkv, qkv}, 2, Tensor(), 0.0, 1.0);
  });
  test::check_error(
      {"multi_head_attention", "broadcastable to the scores [2, 2, 3, 3]", "float32[3, 4]"}, [&] {
        multi_head_attention({qkv}, 2, zeros({3, 4}), 0.0, 1.0);
      });
  test::check_error({"multi_head_attention", "dropout probability", "[0, 1]"},
                    [&] { multi_head_attention({qkv}, 2, Tensor(), -0.5, 1.0); });
}
