#pragma once
// Recurrent layers with PyTorch's options, shapes, parameter names and initialization: RNN (tanh
// or ReLU), LSTM and GRU over whole sequences, and their one-step cells.
//
//   nn::LSTM lstm(nn::LSTMOptions(4, 8).num_layers(2).batch_first(true).bidirectional(true));
//   auto [output, state] = lstm(x);                          // x [batch, seq_len, 4]
//   auto [h_n, c_n] = state;                                 // [2 * 2, batch, 8] each
//   lstm(x, std::make_tuple(h0, c0));                        // with an initial state
//   nn::GRU gru(4, 8);
//   auto [out, h_n] = gru(x, h0);                            // x [seq_len, batch, 4]
//
// Shapes, as in PyTorch (L = seq_len, N = batch, D = 2 if bidirectional else 1):
//   input   [L, N, input_size], [N, L, input_size] with batch_first, or [L, input_size] unbatched
//   output  [L, N, D * hidden_size] (batch_first: [N, L, ...]; unbatched: [L, ...])
//   h0, h_n, c0, c_n  [D * num_layers, N, hidden_size] (unbatched: [D * num_layers, hidden_size]);
//           entry layer * D + direction, whatever batch_first says
// Parameters, per layer k and direction ("" forward, "_reverse" backward): weight_ih_l{k}
// [G * hidden, input of the layer], weight_hh_l{k} [G * hidden, hidden], bias_ih_l{k} and
// bias_hh_l{k} [G * hidden], with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: r, z, n), in
// PyTorch's registration order, so safetensors files move between the two unchanged. Every
// parameter starts from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
//
// Each layer and direction projects the whole sequence with one matrix product, then runs one
// recurrence op (bg/core/recurrent.h); with dropout > 0, training mode drops elements of each
// layer's output but the last.

#include <optional>
#include <tuple>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

/// The nonlinearities of RNN and RNNCell: `nn::RNNOptions(4, 8).nonlinearity(nn::kReLU)`.
inline constexpr RnnNonlinearity kTanh = RnnNonlinearity::Tanh;
inline constexpr RnnNonlinearity kReLU = RnnNonlinearity::Relu;

struct RNNOptions {
  RNNOptions(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// The number of features of each step of the input.
  BG_ARG(int64_t, input_size);
  /// The number of features of the hidden state.
  BG_ARG(int64_t, hidden_size);
  /// Recurrent layers stacked, each taking the previous one's output.
  BG_ARG(int64_t, num_layers) = 1;
  /// tanh (the default) or ReLU.
  BG_ARG(RnnNonlinearity, nonlinearity) = kTanh;
  /// Use the biases b_ih and b_hh.
  BG_ARG(bool, bias) = true;
  /// Input and output are [batch, seq_len, features] instead of [seq_len, batch, features].
  BG_ARG(bool, batch_first) = false;
  /// The probability of dropping an element of each layer's output but the last (training only).
  BG_ARG(double, dropout) = 0.0;
  /// A second recurrence per layer runs the sequence backwards; outputs are concatenated.
  BG_ARG(bool, bidirectional) = false;
};

/// The options of LSTM and GRU: those of RNN without the nonlinearity.
struct LSTMOptions {
  LSTMOptions(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  BG_ARG(int64_t, input_size);
  BG_ARG(int64_t, hidden_size);
  BG_ARG(int64_t, num_layers) = 1;
  BG_ARG(bool, bias) = true;
  BG_ARG(bool, batch_first) = false;
  BG_ARG(double, dropout) = 0.0;
  BG_ARG(bool, bidirectional) = false;
};
using GRUOptions = LSTMOptions;

namespace detail {

/// What RNN, LSTM and GRU share: the parameters of every layer and direction, and the loop over
/// them. Not used directly.
class RecurrentLayersImpl : public Module {
 public:
  /// Draws every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
  void reset_parameters();
  /// The parameters of each layer and direction, in PyTorch's order: {weight_ih, weight_hh,
  /// bias_ih, bias_hh} (without the biases when bias is off) for layer 0, layer 0 reverse, ...
  std::vector<std::vector<Tensor>> all_weights() const;
  void pretty_print(std::ostream& out) const override;

 protected:
  /// The cell type, with the nonlinearity of an Elman RNN.
  enum class Cell { RnnTanh, RnnRelu, Lstm, Gru };
  struct Config {
    Cell cell;
    int64_t input_size, hidden_size, num_layers;
    bool bias, batch_first;
    double dropout;
    bool bidirectional;
  };
  RecurrentLayersImpl(const char* name, const Config& config);

  /// Output, h_n and (LSTM) c_n for `input` and the initial states (undefined: zeros).
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& input, const Tensor& h0, const Tensor& c0);

 private:
  struct Layer {
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // biases undefined without bias
  };
  int64_t directions() const { return config_.bidirectional ? 2 : 1; }
  // The state of every layer and direction [D * num_layers, N, H] (zeros when undefined).
  Tensor initial_state(const char* name, const Tensor& state, const Tensor& input,
                       bool batched) const;
  // One layer and direction over x [L, N, features]: (output [L, N, H], h_n, c_n).
  std::tuple<Tensor, Tensor, Tensor> run_direction(const Layer& layer, const Tensor& x,
                                                   const Tensor& h0, const Tensor& c0,
                                                   bool reverse) const;
  Config config_;
  std::vector<Layer> layers_;  // index layer * directions() + direction
};

}  // namespace detail

/// An Elman RNN: h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), per layer.
class RNNImpl : public detail::RecurrentLayersImpl {
 public:
  RNNImpl(int64_t input_size, int64_t hidden_size) : RNNImpl(RNNOptions(input_size, hidden_size)) {}
  explicit RNNImpl(const RNNOptions& options);
  /// (output, h_n) for `input` and the initial state hx (zeros when undefined).
  std::tuple<Tensor, Tensor> forward(const Tensor& input, Tensor hx = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor())
  RNNOptions options;
};
BG_MODULE(RNN);

/// Long short-term memory (Hochreiter & Schmidhuber, 1997), per layer:
///   i, f, o = sigmoid(x W_i^T + h W_h^T + b), g = tanh(...)   (gate blocks i, f, g, o)
///   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t).
class LSTMImpl : public detail::RecurrentLayersImpl {
 public:
  LSTMImpl(int64_t input_size, int64_t hidden_size)
      : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}
  explicit LSTMImpl(const LSTMOptions& options);
  /// (output, (h_n, c_n)) for `input` and the initial state (h0, c0) (zeros when not given).
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(
      const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx = std::nullopt);
  BG_FORWARD_DEFAULT_ARGS(std::optional<std::tuple<Tensor, Tensor>>())
  LSTMOptions options;
};
BG_MODULE(LSTM);

/// Gated recurrent unit (Cho et al., 2014), per layer (gate blocks r, z, n):
///   r, z = sigmoid(x W_i^T + b_i + h W_h^T + b_h),  n = tanh(x W_in^T + b_in + r (h W_hn^T +
///   b_hn)),  h_t = (1 - z) n + z h_{t-1}.
class GRUImpl : public detail::RecurrentLayersImpl {
 public:
  GRUImpl(int64_t input_size, int64_t hidden_size) : GRUImpl(GRUOptions(input_size, hidden_size)) {}
  explicit GRUImpl(const GRUOptions& options);
  /// (output, h_n) for `input` and the initial state hx (zeros when undefined).
  std::tuple<Tensor, Tensor> forward(const Tensor& input, Tensor hx = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor())
  GRUOptions options;
};
BG_MODULE(GRU);

// ---- Cells: one step ----------------------------------------------------------------------------

struct RNNCellOptions {
  RNNCellOptions(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  BG_ARG(int64_t, input_size);
  BG_ARG(int64_t, hidden_size);
  BG_ARG(bool, bias) = true;
  BG_ARG(RnnNonlinearity, nonlinearity) = kTanh;
};

/// The options of LSTMCell and GRUCell: those of RNNCell without the nonlinearity.
struct LSTMCellOptions {
  LSTMCellOptions(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  BG_ARG(int64_t, input_size);
  BG_ARG(int64_t, hidden_size);
  BG_ARG(bool, bias) = true;
};
using GRUCellOptions = LSTMCellOptions;

namespace detail {

/// What the cells share: weight_ih [G * hidden, input], weight_hh [G * hidden, hidden], bias_ih
/// and bias_hh [G * hidden], drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
class RecurrentCellImpl : public Module {
 public:
  void reset_parameters();
  void pretty_print(std::ostream& out) const override;

  Tensor weight_ih, weight_hh;
  Tensor bias_ih, bias_hh;  ///< undefined without bias

 protected:
  RecurrentCellImpl(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size,
                    bool bias, const char* nonlinearity);
  /// input as a batch [N, input_size] (unbatched [input_size] gets N = 1) and whether it was one.
  std::pair<Tensor, bool> batched_input(const Tensor& input) const;
  /// `state` [N, hidden_size] for a batch of N (zeros when undefined); checks its shape.
  Tensor batched_state(const Tensor& state, const Tensor& input, bool batched) const;
  int64_t input_size_, hidden_size_;
  const char* nonlinearity_;  // printed when not null
};

}  // namespace detail

/// One step of an Elman RNN: h' = nonlinearity(x W_ih^T + b_ih + h W_hh^T + b_hh).
class RNNCellImpl : public detail::RecurrentCellImpl {
 public:
  RNNCellImpl(int64_t input_size, int64_t hidden_size)
      : RNNCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  explicit RNNCellImpl(const RNNCellOptions& options);
  /// h' for input [N, input_size] (or [input_size]) and hx [N, hidden_size] (zeros if undefined).
  Tensor forward(const Tensor& input, Tensor hx = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor())
  RNNCellOptions options;
};
BG_MODULE(RNNCell);

/// One LSTM step: (h', c') for input [N, input_size] and the state (h, c) [N, hidden_size].
class LSTMCellImpl : public detail::RecurrentCellImpl {
 public:
  LSTMCellImpl(int64_t input_size, int64_t hidden_size)
      : LSTMCellImpl(LSTMCellOptions(input_size, hidden_size)) {}
  explicit LSTMCellImpl(const LSTMCellOptions& options);
  /// (h', c'); the state is zeros when not given.
  std::tuple<Tensor, Tensor> forward(const Tensor& input,
                                     std::optional<std::tuple<Tensor, Tensor>> hx = std::nullopt);
  BG_FORWARD_DEFAULT_ARGS(std::optional<std::tuple<Tensor, Tensor>>())
  LSTMCellOptions options;
};
BG_MODULE(LSTMCell);

/// One GRU step: h' for input [N, input_size] (or [input_size]) and hx [N, hidden_size].
class GRUCellImpl : public detail::RecurrentCellImpl {
 public:
  GRUCellImpl(int64_t input_size, int64_t hidden_size)
      : GRUCellImpl(GRUCellOptions(input_size, hidden_size)) {}
  explicit GRUCellImpl(const GRUCellOptions& options);
  /// h'; hx is zeros when undefined.
  Tensor forward(const Tensor& input, Tensor hx = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor())
  GRUCellOptions options;
};
BG_MODULE(GRUCell);

}  // namespace bg::nn

BG_API_END
