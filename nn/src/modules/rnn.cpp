#include "bg/nn/modules/rnn.h"

#include <cmath>
#include <string>

#include "bg/nn/functional.h"
#include "bg/nn/init.h"
#include "python_repr.h"

namespace bg::nn {

namespace {

void check_sizes(const char* name, int64_t input_size, int64_t hidden_size) {
  BG_CHECK(input_size > 0 && hidden_size > 0, name,
           "input_size and hidden_size must be positive, got ", input_size, " and ", hidden_size);
}

// Every parameter of `module` from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), PyTorch's
// initialization of recurrent layers and cells.
void uniform_initialization(Module& module, int64_t hidden_size) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (Tensor& parameter : module.parameters()) init::uniform_(parameter, -bound, bound);
}

// b_ih + b_hh, which LSTM and RNN add to the input projection as one bias (undefined without).
Tensor combined_bias(const Tensor& bias_ih, const Tensor& bias_hh) {
  return bias_ih.defined() ? bias_ih + bias_hh : Tensor();
}

// x [L, N, features] projected by weight [G * H, features] and bias: [L, N, G * H], one product
// for the whole sequence.
Tensor project(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const Tensor rows = x.reshape({-1, x.size(2)});
  const Tensor projected = bias.defined() ? addmm(bias, rows, weight.t()) : rows.mm(weight.t());
  return projected.view({x.size(0), x.size(1), weight.size(0)});
}

const char* nonlinearity_name(RnnNonlinearity nonlinearity) {
  return nonlinearity == kTanh ? "tanh" : "relu";
}

}  // namespace

// ---- Stacked layers -----------------------------------------------------------------------------

namespace detail {

RecurrentLayersImpl::RecurrentLayersImpl(const char* name, const Config& config)
    : Module(name), config_(config) {
  check_sizes(name, config.input_size, config.hidden_size);
  BG_CHECK(config.num_layers > 0, name, "num_layers must be positive, got ", config.num_layers);
  BG_CHECK(config.dropout >= 0.0 && config.dropout <= 1.0, name,
           "the dropout probability must be in [0, 1], got ", config.dropout);
  const int64_t gates = config.cell == Cell::Lstm ? 4 : config.cell == Cell::Gru ? 3 : 1;
  const int64_t H = config.hidden_size;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    const int64_t layer_input = layer == 0 ? config.input_size : H * directions();
    for (int64_t direction = 0; direction < directions(); ++direction) {
      const std::string suffix = "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
      Layer parameters;
      parameters.weight_ih =
          register_parameter("weight_ih" + suffix, empty({gates * H, layer_input}));
      parameters.weight_hh = register_parameter("weight_hh" + suffix, empty({gates * H, H}));
      if (config.bias) {
        parameters.bias_ih = register_parameter("bias_ih" + suffix, empty({gates * H}));
        parameters.bias_hh = register_parameter("bias_hh" + suffix, empty({gates * H}));
      }
      layers_.push_back(parameters);
    }
  }
  reset_parameters();
}

void RecurrentLayersImpl::reset_parameters() { uniform_initialization(*this, config_.hidden_size); }

std::vector<std::vector<Tensor>> RecurrentLayersImpl::all_weights() const {
  std::vector<std::vector<Tensor>> weights;
  for (const Layer& layer : layers_) {
    weights.push_back({layer.weight_ih, layer.weight_hh});
    if (config_.bias) weights.back().insert(weights.back().end(), {layer.bias_ih, layer.bias_hh});
  }
  return weights;
}

void RecurrentLayersImpl::pretty_print(std::ostream& out) const {
  // PyTorch's repr: the sizes, then the options that differ from their defaults.
  out << type_name() << "(" << config_.input_size << ", " << config_.hidden_size;
  if (config_.num_layers != 1) out << ", num_layers=" << config_.num_layers;
  if (!config_.bias) out << ", bias=false";
  if (config_.batch_first) out << ", batch_first=true";
  if (config_.dropout != 0.0) out << ", dropout=" << python_float(config_.dropout);
  if (config_.bidirectional) out << ", bidirectional=true";
  out << ")";
}

Tensor RecurrentLayersImpl::initial_state(const char* name, const Tensor& state,
                                          const Tensor& input, bool batched) const {
  const int64_t count = directions() * config_.num_layers, H = config_.hidden_size;
  const int64_t batch = input.size(1);  // input is [L, N, features] here
  if (!state.defined()) return zeros({count, batch, H}, input.options());
  const Shape expected = batched ? Shape{count, batch, H} : Shape{count, H};
  BG_CHECK(state.sizes() == expected, type_name(), "expected the initial ", name, " ",
           shape_str(expected), ", got ", describe(state));
  BG_CHECK(state.dtype() == input.dtype() && state.device() == input.device(), type_name(),
           "the initial ", name, " ", describe(state), " does not match the input ",
           describe(input));
  return batched ? state : state.unsqueeze(1);
}

std::tuple<Tensor, Tensor, Tensor> RecurrentLayersImpl::run_direction(
    const Layer& layer, const Tensor& x, const Tensor& h0, const Tensor& c0, bool reverse) const {
  if (config_.cell == Cell::Lstm) {
    const Tensor gates = project(x, layer.weight_ih, combined_bias(layer.bias_ih, layer.bias_hh));
    return lstm_recurrence(gates, layer.weight_hh, h0, c0, reverse);
  }
  if (config_.cell == Cell::Gru) {
    const Tensor gates = project(x, layer.weight_ih, layer.bias_ih);
    auto [output, h_n] = gru_recurrence(gates, layer.weight_hh, layer.bias_hh, h0, reverse);
    return {output, h_n, Tensor()};
  }
  const Tensor projection =
      project(x, layer.weight_ih, combined_bias(layer.bias_ih, layer.bias_hh));
  const RnnNonlinearity nonlinearity = config_.cell == Cell::RnnTanh ? kTanh : kReLU;
  auto [output, h_n] = rnn_recurrence(projection, layer.weight_hh, h0, nonlinearity, reverse);
  return {output, h_n, Tensor()};
}

std::tuple<Tensor, Tensor, Tensor> RecurrentLayersImpl::run(const Tensor& input, const Tensor& h0,
                                                            const Tensor& c0) {
  const Tensor& weight = layers_.front().weight_ih;
  BG_CHECK(input.defined() && (input.dim() == 2 || input.dim() == 3) &&
               input.size(-1) == config_.input_size,
           type_name(), "expected an input [seq_len, batch, ", config_.input_size,
           "] ([batch, seq_len, ", config_.input_size, "] with batch_first, [seq_len, ",
           config_.input_size, "] unbatched), got ", describe(input));
  BG_CHECK(input.dtype() == weight.dtype() && input.device() == weight.device(), type_name(),
           "the input ", describe(input), " does not match the parameters ", describe(weight));
  // Time-major [L, N, features] inside.
  const bool batched = input.dim() == 3;
  Tensor x = !batched ? input.unsqueeze(1) : config_.batch_first ? input.transpose(0, 1) : input;
  BG_CHECK(x.size(0) > 0, type_name(), "the sequence is empty: ", describe(input));
  const bool lstm = config_.cell == Cell::Lstm;
  const Tensor h = initial_state("hidden state", h0, x, batched);
  const Tensor c = lstm ? initial_state("cell state", c0, x, batched) : Tensor();
  std::vector<Tensor> h_n, c_n;
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    std::vector<Tensor> outputs;
    for (int64_t direction = 0; direction < directions(); ++direction) {
      const int64_t index = layer * directions() + direction;
      auto [output, h_last, c_last] =
          run_direction(layers_[static_cast<size_t>(index)], x, h[index],
                        lstm ? c[index] : Tensor(), direction == 1);
      outputs.push_back(output);
      h_n.push_back(h_last);
      if (lstm) c_n.push_back(c_last);
    }
    x = outputs.size() == 1 ? outputs.front() : cat(outputs, 2);
    if (config_.dropout > 0.0 && is_training() && layer + 1 < config_.num_layers) {
      x = functional::dropout(x, config_.dropout, true);
    }
  }
  Tensor output = !batched ? x.squeeze(1) : config_.batch_first ? x.transpose(0, 1) : x;
  Tensor h_final = stack(h_n), c_final = lstm ? stack(c_n) : Tensor();
  if (!batched) {
    h_final = h_final.squeeze(1);
    if (lstm) c_final = c_final.squeeze(1);
  }
  return {output, h_final, c_final};
}

}  // namespace detail

RNNImpl::RNNImpl(const RNNOptions& options_)
    : RecurrentLayersImpl("RNN", {options_.nonlinearity() == kTanh ? Cell::RnnTanh : Cell::RnnRelu,
                                  options_.input_size(), options_.hidden_size(),
                                  options_.num_layers(), options_.bias(), options_.batch_first(),
                                  options_.dropout(), options_.bidirectional()}),
      options(options_) {}

std::tuple<Tensor, Tensor> RNNImpl::forward(const Tensor& input, Tensor hx) {
  const auto result = run(input, hx, Tensor());
  return {std::get<0>(result), std::get<1>(result)};
}

LSTMImpl::LSTMImpl(const LSTMOptions& options_)
    : RecurrentLayersImpl("LSTM", {Cell::Lstm, options_.input_size(), options_.hidden_size(),
                                   options_.num_layers(), options_.bias(), options_.batch_first(),
                                   options_.dropout(), options_.bidirectional()}),
      options(options_) {}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(
    const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx) {
  const auto [h0, c0] = hx.value_or(std::tuple<Tensor, Tensor>());
  BG_CHECK(h0.defined() == c0.defined(), "LSTM",
           "the initial state (h0, c0) needs both tensors or neither");
  auto [output, h_n, c_n] = run(input, h0, c0);
  return {output, {h_n, c_n}};
}

GRUImpl::GRUImpl(const GRUOptions& options_)
    : RecurrentLayersImpl("GRU", {Cell::Gru, options_.input_size(), options_.hidden_size(),
                                  options_.num_layers(), options_.bias(), options_.batch_first(),
                                  options_.dropout(), options_.bidirectional()}),
      options(options_) {}

std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, Tensor hx) {
  const auto result = run(input, hx, Tensor());
  return {std::get<0>(result), std::get<1>(result)};
}

// ---- Cells --------------------------------------------------------------------------------------

namespace detail {

RecurrentCellImpl::RecurrentCellImpl(const char* name, int64_t gates, int64_t input_size,
                                     int64_t hidden_size, bool bias, const char* nonlinearity)
    : Module(name),
      input_size_(input_size),
      hidden_size_(hidden_size),
      nonlinearity_(nonlinearity) {
  check_sizes(name, input_size, hidden_size);
  weight_ih = register_parameter("weight_ih", empty({gates * hidden_size, input_size}));
  weight_hh = register_parameter("weight_hh", empty({gates * hidden_size, hidden_size}));
  if (bias) {
    bias_ih = register_parameter("bias_ih", empty({gates * hidden_size}));
    bias_hh = register_parameter("bias_hh", empty({gates * hidden_size}));
  }
  reset_parameters();
}

void RecurrentCellImpl::reset_parameters() { uniform_initialization(*this, hidden_size_); }

void RecurrentCellImpl::pretty_print(std::ostream& out) const {
  out << type_name() << "(" << input_size_ << ", " << hidden_size_;
  if (!bias_ih.defined()) out << ", bias=false";
  if (nonlinearity_ != nullptr && std::string(nonlinearity_) != "tanh") {
    out << ", nonlinearity=" << nonlinearity_;
  }
  out << ")";
}

std::pair<Tensor, bool> RecurrentCellImpl::batched_input(const Tensor& input) const {
  BG_CHECK(
      input.defined() && (input.dim() == 1 || input.dim() == 2) && input.size(-1) == input_size_,
      type_name(), "expected an input [batch, ", input_size_, "] or [", input_size_, "], got ",
      describe(input));
  BG_CHECK(input.dtype() == weight_ih.dtype() && input.device() == weight_ih.device(), type_name(),
           "the input ", describe(input), " does not match the parameters ", describe(weight_ih));
  const bool batched = input.dim() == 2;
  return {batched ? input : input.unsqueeze(0), batched};
}

Tensor RecurrentCellImpl::batched_state(const Tensor& state, const Tensor& input,
                                        bool batched) const {
  if (!state.defined()) return zeros({input.size(0), hidden_size_}, input.options());
  const Shape expected = batched ? Shape{input.size(0), hidden_size_} : Shape{hidden_size_};
  BG_CHECK(state.sizes() == expected && state.dtype() == input.dtype() &&
               state.device() == input.device(),
           type_name(), "expected a state ", shape_str(expected),
           " of the input's dtype and device ", "for the input ", describe(input), ", got ",
           describe(state));
  return batched ? state : state.unsqueeze(0);
}

}  // namespace detail

RNNCellImpl::RNNCellImpl(const RNNCellOptions& options_)
    : RecurrentCellImpl("RNNCell", 1, options_.input_size(), options_.hidden_size(),
                        options_.bias(), nonlinearity_name(options_.nonlinearity())),
      options(options_) {}

Tensor RNNCellImpl::forward(const Tensor& input, Tensor hx) {
  const auto [x, batched] = batched_input(input);
  const Tensor h = batched_state(hx, x, batched);
  const Tensor projection = project(x.unsqueeze(0), weight_ih, combined_bias(bias_ih, bias_hh));
  const Tensor h_next =
      std::get<1>(rnn_recurrence(projection, weight_hh, h, options.nonlinearity()));
  return batched ? h_next : h_next.squeeze(0);
}

LSTMCellImpl::LSTMCellImpl(const LSTMCellOptions& options_)
    : RecurrentCellImpl("LSTMCell", 4, options_.input_size(), options_.hidden_size(),
                        options_.bias(), nullptr),
      options(options_) {}

std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& input,
                                                 std::optional<std::tuple<Tensor, Tensor>> hx) {
  const auto [x, batched] = batched_input(input);
  const auto [h0, c0] = hx.value_or(std::tuple<Tensor, Tensor>());
  BG_CHECK(h0.defined() == c0.defined(), "LSTMCell",
           "the state (h, c) needs both tensors or neither");
  const Tensor gates = project(x.unsqueeze(0), weight_ih, combined_bias(bias_ih, bias_hh));
  auto [output, h, c] = lstm_recurrence(gates, weight_hh, batched_state(h0, x, batched),
                                        batched_state(c0, x, batched));
  if (batched) return {h, c};
  return {h.squeeze(0), c.squeeze(0)};
}

GRUCellImpl::GRUCellImpl(const GRUCellOptions& options_)
    : RecurrentCellImpl("GRUCell", 3, options_.input_size(), options_.hidden_size(),
                        options_.bias(), nullptr),
      options(options_) {}

Tensor GRUCellImpl::forward(const Tensor& input, Tensor hx) {
  const auto [x, batched] = batched_input(input);
  const Tensor gates = project(x.unsqueeze(0), weight_ih, bias_ih);
  const Tensor h_next =
      std::get<1>(gru_recurrence(gates, weight_hh, bias_hh, batched_state(hx, x, batched)));
  return batched ? h_next : h_next.squeeze(0);
}

}  // namespace bg::nn
