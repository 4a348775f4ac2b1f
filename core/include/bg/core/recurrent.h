#pragma once
// The recurrences of RNN, LSTM and GRU layers: one layer, one direction, a whole sequence, as one
// differentiable op each (nn::RNN, nn::LSTM, nn::GRU and their cells are built on them).
//
// A layer first projects the whole input sequence with one matrix product (input_gates = x W_ih^T
// + biases, [T, B, G * H] for T steps of a batch of B and G gate blocks of the hidden size H); the
// recurrence then runs the steps: one small product h_{t-1} W_hh^T and the gate math per step,
// all of it in one autograd node. Its backward runs the steps in reverse, one small product and
// the gate math's derivative per step, and computes the gradient of W_hh in one product over all
// steps at the end.
//
// The gate math of an LSTM or GRU step is one fused kernel each way where the backend has them
// (RecurrentKernels in backend.h), else the same formulas as Tensor ops. Under create_graph the
// backward pass is written in Tensor ops (recomputing the steps from the saved inputs), so it can
// be differentiated again.
//
// Operands share one floating dtype and device. With `reverse`, the steps run from t = T-1 down to
// 0 (the second direction of a bidirectional layer); output[t] is still the state after step t,
// and the final state is the one after step 0.

#include <tuple>

#include "bg/core/api.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

/// The LSTM recurrence (gates i, f, g, o in PyTorch's order). input_gates [T, B, 4H] holds
/// x_t W_ih^T + b_ih + b_hh; weight_hh is [4H, H]; h0 and c0 are [B, H]. Per step:
///   a = input_gates[t] + h W_hh^T,  i, f, o = sigmoid(a_i, a_f, a_o),  g = tanh(a_g),
///   c = f c + i g,  h = o tanh(c).
/// Returns (output [T, B, H] = h after each step, h_n [B, H], c_n [B, H]).
std::tuple<Tensor, Tensor, Tensor> lstm_recurrence(const Tensor& input_gates,
                                                   const Tensor& weight_hh, const Tensor& h0,
                                                   const Tensor& c0, bool reverse = false);

/// The GRU recurrence (gates r, z, n in PyTorch's order). input_gates [T, B, 3H] holds
/// x_t W_ih^T + b_ih; weight_hh is [3H, H]; bias_hh [3H] may be undefined; h0 is [B, H]. Per step:
///   g = h W_hh^T + b_hh,  r = sigmoid(x_r + g_r),  z = sigmoid(x_z + g_z),
///   n = tanh(x_n + r g_n),  h = n + z (h - n)   (= (1 - z) n + z h).
/// Returns (output [T, B, H], h_n [B, H]).
std::tuple<Tensor, Tensor> gru_recurrence(const Tensor& input_gates, const Tensor& weight_hh,
                                          const Tensor& bias_hh, const Tensor& h0,
                                          bool reverse = false);

/// The nonlinearity of an Elman RNN.
enum class RnnNonlinearity { Tanh, Relu };

/// The Elman RNN recurrence. input_projection [T, B, H] holds x_t W_ih^T + b_ih + b_hh;
/// weight_hh is [H, H]; h0 is [B, H]. Per step: h = nonlinearity(input_projection[t] + h W_hh^T).
/// Returns (output [T, B, H], h_n [B, H]).
std::tuple<Tensor, Tensor> rnn_recurrence(const Tensor& input_projection, const Tensor& weight_hh,
                                          const Tensor& h0, RnnNonlinearity nonlinearity,
                                          bool reverse = false);

}  // namespace bg

BG_API_END
