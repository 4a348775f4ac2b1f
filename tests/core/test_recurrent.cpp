// The recurrences of recurrent.h: values against the step formulas written out here, the fused
// cell kernels against the Tensor-op composition (a backend with the primitives only), float64
// gradient checks (first and second order, forward and reverse, non-contiguous operands), errors.

#include <tuple>

#include "test_util.h"

using namespace bg;

namespace {

// The recurrences step by step, from their documented formulas (recurrent.h), as recorded Tensor
// ops: an independent reference for values and gradients.
std::tuple<Tensor, Tensor, Tensor> lstm_reference(const Tensor& x, const Tensor& w,
                                                  const Tensor& h0, const Tensor& c0,
                                                  bool reverse) {
  const int64_t T = x.size(0), H = w.size(1);
  std::vector<Tensor> outputs(static_cast<size_t>(T));
  Tensor h = h0, c = c0;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    const Tensor a = x[t] + h.matmul(w.t());
    const Tensor i = a.narrow(1, 0, H).sigmoid(), f = a.narrow(1, H, H).sigmoid();
    const Tensor g = a.narrow(1, 2 * H, H).tanh(), o = a.narrow(1, 3 * H, H).sigmoid();
    c = f * c + i * g;
    h = o * c.tanh();
    outputs[static_cast<size_t>(t)] = h;
  }
  return {stack(outputs), h, c};
}

std::tuple<Tensor, Tensor> gru_reference(const Tensor& x, const Tensor& w, const Tensor& b,
                                         const Tensor& h0, bool reverse) {
  const int64_t T = x.size(0), H = w.size(1);
  std::vector<Tensor> outputs(static_cast<size_t>(T));
  Tensor h = h0;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    const Tensor g = h.matmul(w.t()) + b;
    const Tensor r = (x[t].narrow(1, 0, H) + g.narrow(1, 0, H)).sigmoid();
    const Tensor z = (x[t].narrow(1, H, H) + g.narrow(1, H, H)).sigmoid();
    const Tensor n = (x[t].narrow(1, 2 * H, H) + r * g.narrow(1, 2 * H, H)).tanh();
    h = (1.0 - z) * n + z * h;
    outputs[static_cast<size_t>(t)] = h;
  }
  return {stack(outputs), h};
}

std::tuple<Tensor, Tensor> rnn_reference(const Tensor& x, const Tensor& w, const Tensor& h0,
                                         RnnNonlinearity nonlinearity, bool reverse) {
  const int64_t T = x.size(0);
  std::vector<Tensor> outputs(static_cast<size_t>(T));
  Tensor h = h0;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    const Tensor pre = x[t] + h.matmul(w.t());
    h = nonlinearity == RnnNonlinearity::Tanh ? pre.tanh() : pre.relu();
    outputs[static_cast<size_t>(t)] = h;
  }
  return {stack(outputs), h};
}

// A float64 leaf from N(0, 1/4): weights small enough that the gates do not saturate.
Tensor scaled_leaf(const Shape& sizes, uint64_t seed) {
  return (test::leaf(sizes, seed) * 0.5).detach().requires_grad_();
}

// A loss that reads every result with its own weights, so every gradient path matters.
Tensor weighted(const std::vector<Tensor>& results) {
  Tensor loss = zeros({}, results.front().dtype());
  for (size_t i = 0; i < results.size(); ++i) {
    loss =
        loss + (results[i] * (test::iota(results[i].sizes()) * 0.1 + static_cast<double>(i))).sum();
  }
  return loss;
}

void check_same_values(const std::vector<Tensor>& got, const std::vector<Tensor>& expected,
                       double rtol) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("result ", i);
    REQUIRE(got[i].sizes() == expected[i].sizes());
    test::check_close(got[i], test::values(expected[i]), rtol, rtol);
  }
}

}  // namespace

TEST_CASE("lstm_recurrence matches the step formulas, forward and reverse") {
  const int64_t T = 4, B = 3, H = 5;
  for (bool reverse : {false, true}) {
    INFO("reverse ", reverse);
    const Tensor x = test::leaf({T, B, 4 * H}, 1), w = scaled_leaf({4 * H, H}, 2);
    const Tensor h0 = test::leaf({B, H}, 3), c0 = test::leaf({B, H}, 4);
    auto [out, h_n, c_n] = lstm_recurrence(x, w, h0, c0, reverse);
    auto [ref_out, ref_h, ref_c] = lstm_reference(x, w, h0, c0, reverse);
    check_same_values({out, h_n, c_n}, {ref_out, ref_h, ref_c}, 1e-12);
    // The gradients of every input, through every result.
    const std::vector<Tensor> inputs{x, w, h0, c0};
    check_same_values(autograd::grad({weighted({out, h_n, c_n})}, inputs),
                      autograd::grad({weighted({ref_out, ref_h, ref_c})}, inputs), 1e-10);
  }
}

TEST_CASE("gru_recurrence and rnn_recurrence match the step formulas") {
  const int64_t T = 3, B = 2, H = 4;
  for (bool reverse : {false, true}) {
    INFO("reverse ", reverse);
    const Tensor x = test::leaf({T, B, 3 * H}, 5), w = scaled_leaf({3 * H, H}, 6);
    const Tensor b = test::leaf({3 * H}, 7), h0 = test::leaf({B, H}, 8);
    auto [out, h_n] = gru_recurrence(x, w, b, h0, reverse);
    auto [ref_out, ref_h] = gru_reference(x, w, b, h0, reverse);
    check_same_values({out, h_n}, {ref_out, ref_h}, 1e-12);
    const std::vector<Tensor> inputs{x, w, b, h0};
    check_same_values(autograd::grad({weighted({out, h_n})}, inputs),
                      autograd::grad({weighted({ref_out, ref_h})}, inputs), 1e-10);
    // Without a bias the hidden gates are h W_hh^T alone.
    auto [no_bias, unused] = gru_recurrence(x, w, Tensor(), h0, reverse);
    check_same_values({no_bias},
                      {std::get<0>(gru_reference(x, w, zeros({3 * H}, kFloat64), h0, reverse))},
                      1e-12);
    for (RnnNonlinearity nonlinearity : {RnnNonlinearity::Tanh, RnnNonlinearity::Relu}) {
      const Tensor xr = test::leaf({T, B, H}, 9), wr = scaled_leaf({H, H}, 10);
      auto [rnn_out, rnn_h] = rnn_recurrence(xr, wr, h0, nonlinearity, reverse);
      auto [ref_rnn_out, ref_rnn_h] = rnn_reference(xr, wr, h0, nonlinearity, reverse);
      check_same_values({rnn_out, rnn_h}, {ref_rnn_out, ref_rnn_h}, 1e-12);
      const std::vector<Tensor> rnn_inputs{xr, wr, h0};
      check_same_values(autograd::grad({weighted({rnn_out, rnn_h})}, rnn_inputs),
                        autograd::grad({weighted({ref_rnn_out, ref_rnn_h})}, rnn_inputs), 1e-10);
    }
  }
}

TEST_CASE("the recurrences' gradients pass gradcheck and gradgradcheck") {
  const int64_t T = 3, B = 2, H = 2;
  for (bool reverse : {false, true}) {
    INFO("reverse ", reverse);
    // Non-contiguous operands: permuted views.
    test::check_gradients(
        [reverse](const std::vector<Tensor>& in) {
          auto [out, h_n, c_n] = lstm_recurrence(in[0], in[1], in[2], in[3], reverse);
          return weighted({out, h_n, c_n});
        },
        {test::strided_leaf({T, B, 4 * H}, 1), test::strided_leaf({4 * H, H}, 2),
         test::strided_leaf({B, H}, 3), test::leaf({B, H}, 4)});
    test::check_gradients(
        [reverse](const std::vector<Tensor>& in) {
          auto [out, h_n] = gru_recurrence(in[0], in[1], in[2], in[3], reverse);
          return weighted({out, h_n});
        },
        {test::strided_leaf({T, B, 3 * H}, 5), test::leaf({3 * H, H}, 6),
         test::strided_leaf({3 * H}, 7), test::leaf({B, H}, 8)});
    test::check_gradients(
        [reverse](const std::vector<Tensor>& in) {
          auto [out, h_n] = rnn_recurrence(in[0], in[1], in[2], RnnNonlinearity::Tanh, reverse);
          return weighted({out, h_n});
        },
        {test::strided_leaf({T, B, H}, 9), test::strided_leaf({H, H}, 10), test::leaf({B, H}, 11)});
  }
  // ReLU: first order (its second derivative is 0 almost everywhere); inputs away from the kink.
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        auto [out, h_n] = rnn_recurrence(in[0], in[1], in[2], RnnNonlinearity::Relu);
        return weighted({out, h_n});
      },
      {test::leaf_in({T, B, H}, 0.5, 1.0, 12), test::leaf_in({H, H}, 0.1, 0.3, 13),
       test::leaf_in({B, H}, 0.1, 1.0, 14)},
      false);
}

TEST_CASE("the fused cell kernels agree with the Tensor-op composition") {
  const int64_t T = 5, B = 3, H = 7;
  for (Dtype dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const double rtol = dtype == kFloat32 ? 1e-5 : 1e-12;
    const Tensor x = test::leaf({T, B, 4 * H}, 1).to(dtype).detach().requires_grad_();
    const Tensor w = (test::leaf({4 * H, H}, 2) * 0.3).to(dtype).detach().requires_grad_();
    const Tensor h0 = test::leaf({B, H}, 3).to(dtype).detach().requires_grad_();
    const Tensor c0 = test::leaf({B, H}, 4).to(dtype).detach().requires_grad_();
    const Tensor b = test::leaf({4 * H}, 5).to(dtype).detach().requires_grad_();
    auto lstm_and_gru = [&] {
      std::vector<Tensor> results;
      for (bool reverse : {false, true}) {
        auto [out, h_n, c_n] = lstm_recurrence(x, w, h0, c0, reverse);
        auto [gru_out, gru_h] = gru_recurrence(x.narrow(2, 0, 3 * H), w.narrow(0, 0, 3 * H),
                                               b.narrow(0, 0, 3 * H), h0, reverse);
        const std::vector<Tensor> step{out, h_n, c_n, gru_out, gru_h};
        results.insert(results.end(), step.begin(), step.end());
        const std::vector<Tensor> grads = autograd::grad({weighted(step)}, {x, w, h0, c0, b});
        results.insert(results.end(), grads.begin(), grads.end());
      }
      return results;
    };
    check_same_values(lstm_and_gru(), test::with_primitives_only(lstm_and_gru), rtol);
  }
}

TEST_CASE("recurrence errors name the op and the operands") {
  const Tensor x = zeros({3, 2, 8}), w = zeros({8, 2}), h = zeros({2, 2});
  test::check_error({"lstm_recurrence", "weight_hh", "4 * hidden_size", "float32[6, 2]"}, [&] {
    lstm_recurrence(x, zeros({6, 2}), h, h);
  });
  test::check_error({"lstm_recurrence", "[T, B, 8]", "float32[3, 2, 6]"}, [&] {
    lstm_recurrence(zeros({3, 2, 6}), w, h, h);
  });
  test::check_error({"lstm_recurrence", "T > 0", "float32[0, 2, 8]"}, [&] {
    lstm_recurrence(zeros({0, 2, 8}), w, h, h);
  });
  test::check_error({"lstm_recurrence", "initial state [2, 2]", "float32[3, 2]"}, [&] {
    lstm_recurrence(x, w, h, zeros({3, 2}));
  });
  test::check_error({"lstm_recurrence", "one dtype", "float64"}, [&] {
    lstm_recurrence(x, zeros({8, 2}, kFloat64), h, h);
  });
  test::check_error({"gru_recurrence", "bias_hh [6]", "float32[8]"}, [&] {
    gru_recurrence(zeros({3, 2, 6}), zeros({6, 2}), zeros({8}), h);
  });
  test::check_error({"rnn_recurrence", "float32 or float64", "int64"}, [&] {
    rnn_recurrence(zeros({3, 2, 2}, kInt64), w, h, RnnNonlinearity::Tanh);
  });
  test::check_error({"rnn_recurrence", "initial state", "undefined"}, [&] {
    rnn_recurrence(zeros({3, 2, 2}), zeros({2, 2}), Tensor(), RnnNonlinearity::Tanh);
  });
}
