// The recurrences of recurrent.h: argument checks, the step loops, and one autograd node per
// recurrence.
//
// The loops write into buffers for the whole sequence (the outputs, the cell states, what the gate
// math's derivative needs), calling the backend's GEMM directly once per step, and the fused cell
// kernels where the backend has them (RecurrentKernels). Their backward formulas run the steps in
// reverse the same way. Three things are written in Tensor ops here, once per cell type:
//   - the gate math of one step and its derivative (*_step_ops): what a backend without fused
//     cell kernels runs, and what create_graph differentiates;
//   - the backward pass under create_graph (*_backward_recorded): the steps recomputed from the
//     saved inputs with recorded ops, then the derivative formulas as recorded ops, so that the
//     gradients can be differentiated again.

#include "bg/core/recurrent.h"

#include <vector>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

namespace {

// T steps of a batch of B with hidden size H; with `reverse` the steps run from T-1 down to 0.
struct Steps {
  int64_t T, B, H;
  bool reverse;
  /// The time index of the step-th step.
  int64_t time(int64_t step) const { return reverse ? T - 1 - step : step; }
};

// ---- Checks -------------------------------------------------------------------------------------

// Checks the operands of a recurrence with `gates` gate blocks; returns its geometry.
Steps check_recurrence(const char* op, const Tensor& input_gates, const Tensor& weight_hh,
                       int64_t gates, std::initializer_list<const Tensor*> states, bool reverse) {
  detail::check_defined(op, input_gates, "input_gates");
  detail::check_defined(op, weight_hh, "weight_hh");
  detail::check_floating(op, input_gates);
  BG_CHECK(weight_hh.dim() == 2 && weight_hh.size(0) == gates * weight_hh.size(1), op,
           "expected weight_hh [", gates, " * hidden_size, hidden_size], got ",
           describe(weight_hh));
  const int64_t H = weight_hh.size(1);
  BG_CHECK(input_gates.dim() == 3 && input_gates.size(0) > 0 && input_gates.size(2) == gates * H,
           op, "expected input_gates [T, B, ", gates * H, "] with T > 0 for weight_hh ",
           describe(weight_hh), ", got ", describe(input_gates));
  const int64_t B = input_gates.size(1);
  detail::check_same_device(op, input_gates, weight_hh);
  BG_CHECK(weight_hh.dtype() == input_gates.dtype(), op, "expected operands of one dtype, got ",
           describe(input_gates), " and ", describe(weight_hh));
  const Shape state_sizes{B, H};
  for (const Tensor* state : states) {
    detail::check_defined(op, *state, "initial state");
    detail::check_same_device(op, input_gates, *state);
    BG_CHECK(state->dtype() == input_gates.dtype() && state->sizes() == state_sizes, op,
             "expected an initial state [", B, ", ", H, "] of ", dtype_name(input_gates.dtype()),
             " for input_gates ", describe(input_gates), ", got ", describe(*state));
  }
  return {input_gates.size(0), B, H, reverse};
}

// ---- Direct kernel calls into buffers -----------------------------------------------------------

// A 2-d tensor seen as a batch of one, without autograd.
Tensor as_batch(const Tensor& m) {
  return detail::alias(m, {1, m.size(0), m.size(1)}, {0, m.stride(0), m.stride(1)},
                       m.storage_offset());
}

// out = a @ b for 2-d a [M, K] and b [K, N] (any strides) into contiguous out [M, N]: the
// backend's GEMM without the allocation and the checks of an op, once per step.
void matmul_into(const Tensor& out, const Tensor& a, const Tensor& b) {
  detail::backend_of(out).matmul(as_batch(out), as_batch(a), as_batch(b), Tensor(),
                                 MatmulActivation::None);
}

// out = a + b for operands of out's sizes and dtype (b may be broadcast); out may be a or b.
void add_into(const Tensor& out, const Tensor& a, const Tensor& b) {
  detail::backend_of(out).binary(BinaryOp::Add, out, a, detail::broadcast_to(b, out.sizes()));
}

// W_hh^T [H, G * H] as a contiguous matrix: the GEMM of every step then reads (and packs) rows of
// the weight instead of gathering columns from it, and the copy is made once per recurrence.
Tensor transposed_copy(const Tensor& weight_hh) { return weight_hh.t().contiguous(); }

// The sum over the steps of grad_hidden[t]^T h_prev(t), where h_prev is h0 for the first step and
// the previous step's output after it: the gradient of W_hh as one product over the T - 1 later
// steps and one for the first.
Tensor weight_gradient(const Tensor& grad_hidden, const Tensor& output, const Tensor& h0,
                       const Steps& s) {
  Tensor grad = grad_hidden[s.time(0)].t().mm(h0);
  if (s.T > 1) {
    // Forward, steps t = 1..T-1 read output[t - 1]; reverse, steps t = 0..T-2 read output[t + 1].
    const Tensor later = grad_hidden.narrow(0, s.reverse ? 0 : 1, s.T - 1);
    const Tensor previous = output.narrow(0, s.reverse ? 1 : 0, s.T - 1);
    grad = grad + later.reshape({-1, grad_hidden.size(2)}).t().mm(previous.reshape({-1, s.H}));
  }
  return grad;
}

// ---- LSTM ---------------------------------------------------------------------------------------

struct LstmStep {
  Tensor h, c, gates;  // gates: i, f, g, o after their activations
};

LstmStep lstm_step_ops(const Tensor& input_gates, const Tensor& hidden_gates,
                       const Tensor& c_prev) {
  const std::vector<Tensor> a = (input_gates + hidden_gates).chunk(4, 1);
  const Tensor i = a[0].sigmoid(), f = a[1].sigmoid(), g = a[2].tanh(), o = a[3].sigmoid();
  const Tensor c = f * c_prev + i * g;
  return {o * c.tanh(), c, cat({i, f, g, o}, 1)};
}

// The gradients of the step's pre-activations [B, 4H] and of c_prev.
std::pair<Tensor, Tensor> lstm_step_backward_ops(const Tensor& grad_h, const Tensor& grad_c,
                                                 const Tensor& gates, const Tensor& c_prev,
                                                 const Tensor& c) {
  const std::vector<Tensor> q = gates.chunk(4, 1);
  const Tensor &i = q[0], &f = q[1], &g = q[2], &o = q[3];
  const Tensor tanh_c = c.tanh();
  const Tensor dc = grad_c + grad_h * o * (1.0 - tanh_c * tanh_c);
  return {cat({dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g),
               grad_h * tanh_c * o * (1.0 - o)},
              1),
          dc * f};
}

// What the forward loop leaves: `packed` [T + 1, B, H] holds the outputs and then c_n (one tensor,
// so that one node produces all three results); `cells` [T, B, H] the cell state after each step;
// `gates` [T, B, 4H] each step's activated gates.
struct LstmForward {
  Tensor packed, cells, gates;
};

LstmForward lstm_forward(const Tensor& input_gates, const Tensor& weight_hh, const Tensor& h0,
                         const Tensor& c0, const Steps& s) {
  NoGradGuard no_grad;
  const TensorOptions options = input_gates.options();
  LstmForward f{empty({s.T + 1, s.B, s.H}, options), empty({s.T, s.B, s.H}, options),
                empty({s.T, s.B, 4 * s.H}, options)};
  const Tensor hidden_gates = empty({s.B, 4 * s.H}, options);
  const Tensor w_t = transposed_copy(weight_hh);
  RecurrentKernels* kernels = detail::backend_of(input_gates).recurrent_kernels();
  Tensor h = h0, c = c0;
  for (int64_t step = 0; step < s.T; ++step) {
    const int64_t t = s.time(step);
    matmul_into(hidden_gates, h, w_t);
    Tensor h_t = f.packed[t], c_t = f.cells[t], gates_t = f.gates[t];
    if (kernels != nullptr) {
      kernels->lstm_cell(h_t, c_t, gates_t, input_gates[t], hidden_gates, c);
    } else {
      const LstmStep r = lstm_step_ops(input_gates[t], hidden_gates, c);
      h_t.copy_(r.h);
      c_t.copy_(r.c);
      gates_t.copy_(r.gates);
    }
    h = h_t;
    c = c_t;
  }
  f.packed[s.T].copy_(c);
  return f;
}

// The backward pass under create_graph, in recorded Tensor ops.
Grads lstm_backward_recorded(const Tensor& input_gates, const Tensor& weight_hh, const Tensor& h0,
                             const Tensor& c0, const Steps& s, const Tensor& grad) {
  std::vector<LstmStep> steps(static_cast<size_t>(s.T));
  Tensor h = h0, c = c0;
  for (int64_t step = 0; step < s.T; ++step) {
    const auto t = static_cast<size_t>(s.time(step));
    steps[t] = lstm_step_ops(input_gates[static_cast<int64_t>(t)], h.mm(weight_hh.t()), c);
    h = steps[t].h;
    c = steps[t].c;
  }
  std::vector<Tensor> grad_gates(static_cast<size_t>(s.T)), outputs(static_cast<size_t>(s.T));
  Tensor grad_h = zeros({s.B, s.H}, h0.options()), grad_c = grad[s.T];
  for (int64_t step = s.T - 1; step >= 0; --step) {
    const int64_t t = s.time(step);
    const LstmStep& r = steps[static_cast<size_t>(t)];
    const Tensor c_prev = step == 0 ? c0 : steps[static_cast<size_t>(s.time(step - 1))].c;
    auto [gates_grad, c_prev_grad] =
        lstm_step_backward_ops(grad[t] + grad_h, grad_c, r.gates, c_prev, r.c);
    grad_h = gates_grad.mm(weight_hh);
    grad_c = c_prev_grad;
    grad_gates[static_cast<size_t>(t)] = gates_grad;
    outputs[static_cast<size_t>(t)] = r.h;
  }
  const Tensor all_gates = stack(grad_gates);
  return {all_gates, weight_gradient(all_gates, stack(outputs), h0, s), grad_h, grad_c};
}

Grads lstm_backward(const Context& ctx, const Tensor& grad_packed, const Steps& s) {
  const Tensor input_gates = ctx.saved(0), weight_hh = ctx.saved(1), h0 = ctx.saved(2),
               c0 = ctx.saved(3);
  if (GradMode::is_enabled()) {
    return lstm_backward_recorded(input_gates, weight_hh, h0, c0, s, grad_packed);
  }
  const Tensor cells = ctx.saved(4), gates = ctx.saved(5), packed = ctx.output();
  const Tensor grad = grad_packed.contiguous();
  const TensorOptions options = grad.options();
  const Tensor grad_gates = empty({s.T, s.B, 4 * s.H}, options);
  Tensor grad_h = zeros({s.B, s.H}, options), grad_c = grad[s.T].clone();
  Tensor grad_c_prev = empty({s.B, s.H}, options), grad_h_total = empty({s.B, s.H}, options);
  RecurrentKernels* kernels = detail::backend_of(grad).recurrent_kernels();
  for (int64_t step = s.T - 1; step >= 0; --step) {
    const int64_t t = s.time(step);
    add_into(grad_h_total, grad[t], grad_h);
    const Tensor c_prev = step == 0 ? c0 : cells[s.time(step - 1)];
    Tensor gates_grad = grad_gates[t];
    if (kernels != nullptr) {
      kernels->lstm_cell_backward(gates_grad, grad_c_prev, grad_h_total, grad_c, gates[t], c_prev,
                                  cells[t]);
    } else {
      auto [a, c] = lstm_step_backward_ops(grad_h_total, grad_c, gates[t], c_prev, cells[t]);
      gates_grad.copy_(a);
      grad_c_prev.copy_(c);
    }
    std::swap(grad_c, grad_c_prev);
    matmul_into(grad_h, gates_grad, weight_hh);
  }
  return {
      ctx.needs_grad(0) ? grad_gates : Tensor(),
      ctx.needs_grad(1) ? weight_gradient(grad_gates, packed.narrow(0, 0, s.T), h0, s) : Tensor(),
      grad_h, grad_c};
}

// ---- GRU ----------------------------------------------------------------------------------------

struct GruStep {
  Tensor h, saved;  // saved: r, z, n and the hidden gates' n block
};

GruStep gru_step_ops(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& h_prev) {
  const std::vector<Tensor> x = input_gates.chunk(3, 1), g = hidden_gates.chunk(3, 1);
  const Tensor r = (x[0] + g[0]).sigmoid(), z = (x[1] + g[1]).sigmoid();
  const Tensor n = (x[2] + r * g[2]).tanh();
  return {n + z * (h_prev - n), cat({r, z, n, g[2]}, 1)};
}

struct GruStepGrads {
  Tensor input_gates, hidden_gates, h_prev;  // h_prev: the part not through hidden_gates
};

GruStepGrads gru_step_backward_ops(const Tensor& grad_h, const Tensor& saved,
                                   const Tensor& h_prev) {
  const std::vector<Tensor> q = saved.chunk(4, 1);
  const Tensor &r = q[0], &z = q[1], &n = q[2], &hn = q[3];
  const Tensor dn = grad_h * (1.0 - z) * (1.0 - n * n);
  const Tensor dr = dn * hn * r * (1.0 - r), dz = grad_h * (h_prev - n) * z * (1.0 - z);
  return {cat({dr, dz, dn}, 1), cat({dr, dz, dn * r}, 1), grad_h * z};
}

// The outputs [T, B, H] and what each step saved [T, B, 4H].
struct GruForward {
  Tensor output, saved;
};

GruForward gru_forward(const Tensor& input_gates, const Tensor& weight_hh, const Tensor& bias_hh,
                       const Tensor& h0, const Steps& s) {
  NoGradGuard no_grad;
  const TensorOptions options = input_gates.options();
  GruForward f{empty({s.T, s.B, s.H}, options), empty({s.T, s.B, 4 * s.H}, options)};
  const Tensor hidden_gates = empty({s.B, 3 * s.H}, options);
  const Tensor w_t = transposed_copy(weight_hh);
  RecurrentKernels* kernels = detail::backend_of(input_gates).recurrent_kernels();
  Tensor h = h0;
  for (int64_t step = 0; step < s.T; ++step) {
    const int64_t t = s.time(step);
    matmul_into(hidden_gates, h, w_t);
    add_into(hidden_gates, hidden_gates, bias_hh);
    Tensor h_t = f.output[t], saved_t = f.saved[t];
    if (kernels != nullptr) {
      kernels->gru_cell(h_t, saved_t, input_gates[t], hidden_gates, h);
    } else {
      const GruStep r = gru_step_ops(input_gates[t], hidden_gates, h);
      h_t.copy_(r.h);
      saved_t.copy_(r.saved);
    }
    h = h_t;
  }
  return f;
}

Grads gru_backward_recorded(const Tensor& input_gates, const Tensor& weight_hh,
                            const Tensor& bias_hh, const Tensor& h0, const Steps& s,
                            const Tensor& grad) {
  std::vector<GruStep> steps(static_cast<size_t>(s.T));
  Tensor h = h0;
  for (int64_t step = 0; step < s.T; ++step) {
    const auto t = static_cast<size_t>(s.time(step));
    steps[t] = gru_step_ops(input_gates[static_cast<int64_t>(t)], h.mm(weight_hh.t()) + bias_hh, h);
    h = steps[t].h;
  }
  std::vector<Tensor> grad_input(static_cast<size_t>(s.T)), grad_hidden(static_cast<size_t>(s.T)),
      outputs(static_cast<size_t>(s.T));
  Tensor grad_h = zeros({s.B, s.H}, h0.options());
  for (int64_t step = s.T - 1; step >= 0; --step) {
    const auto t = static_cast<size_t>(s.time(step));
    const Tensor h_prev = step == 0 ? h0 : steps[static_cast<size_t>(s.time(step - 1))].h;
    const GruStepGrads g =
        gru_step_backward_ops(grad[static_cast<int64_t>(t)] + grad_h, steps[t].saved, h_prev);
    grad_h = g.hidden_gates.mm(weight_hh) + g.h_prev;
    grad_input[t] = g.input_gates;
    grad_hidden[t] = g.hidden_gates;
    outputs[t] = steps[t].h;
  }
  const Tensor all_hidden = stack(grad_hidden);
  return {stack(grad_input), weight_gradient(all_hidden, stack(outputs), h0, s),
          all_hidden.sum({0, 1}), grad_h};
}

Grads gru_backward(const Context& ctx, const Tensor& grad_output, const Steps& s) {
  const Tensor input_gates = ctx.saved(0), weight_hh = ctx.saved(1), bias_hh = ctx.saved(2),
               h0 = ctx.saved(3);
  if (GradMode::is_enabled()) {
    return gru_backward_recorded(input_gates, weight_hh, bias_hh, h0, s, grad_output);
  }
  const Tensor saved = ctx.saved(4), output = ctx.output();
  const Tensor grad = grad_output.contiguous();
  const TensorOptions options = grad.options();
  const Tensor grad_input = empty({s.T, s.B, 3 * s.H}, options);
  const Tensor grad_hidden = empty({s.T, s.B, 3 * s.H}, options);
  Tensor grad_h = zeros({s.B, s.H}, options), grad_h_total = empty({s.B, s.H}, options);
  Tensor grad_h_direct = empty({s.B, s.H}, options);
  RecurrentKernels* kernels = detail::backend_of(grad).recurrent_kernels();
  for (int64_t step = s.T - 1; step >= 0; --step) {
    const int64_t t = s.time(step);
    add_into(grad_h_total, grad[t], grad_h);
    const Tensor h_prev = step == 0 ? h0 : output[s.time(step - 1)];
    Tensor input_grad = grad_input[t], hidden_grad = grad_hidden[t];
    if (kernels != nullptr) {
      kernels->gru_cell_backward(input_grad, hidden_grad, grad_h_direct, grad_h_total, saved[t],
                                 h_prev);
    } else {
      const GruStepGrads g = gru_step_backward_ops(grad_h_total, saved[t], h_prev);
      input_grad.copy_(g.input_gates);
      hidden_grad.copy_(g.hidden_gates);
      grad_h_direct.copy_(g.h_prev);
    }
    matmul_into(grad_h, hidden_grad, weight_hh);
    add_into(grad_h, grad_h, grad_h_direct);
  }
  return {ctx.needs_grad(0) ? grad_input : Tensor(),
          ctx.needs_grad(1) ? weight_gradient(grad_hidden, output, h0, s) : Tensor(),
          ctx.needs_grad(2) ? grad_hidden.sum({0, 1}) : Tensor(), grad_h};
}

// ---- Elman RNN ----------------------------------------------------------------------------------

Tensor rnn_step_ops(const Tensor& input_projection, const Tensor& hidden_projection,
                    RnnNonlinearity nonlinearity) {
  const Tensor pre = input_projection + hidden_projection;
  return nonlinearity == RnnNonlinearity::Tanh ? pre.tanh() : pre.relu();
}

// The gradient of the step's pre-activation, from the step's output h.
Tensor rnn_step_backward_ops(const Tensor& grad_h, const Tensor& h, RnnNonlinearity nonlinearity) {
  if (nonlinearity == RnnNonlinearity::Tanh) return grad_h * (1.0 - h * h);
  return grad_h * (h > 0.0).to(h.dtype());
}

Tensor rnn_forward(const Tensor& input_projection, const Tensor& weight_hh, const Tensor& h0,
                   RnnNonlinearity nonlinearity, const Steps& s) {
  NoGradGuard no_grad;
  const TensorOptions options = input_projection.options();
  const Tensor output = empty({s.T, s.B, s.H}, options);
  const Tensor pre = empty({s.B, s.H}, options);
  const Tensor w_t = transposed_copy(weight_hh);
  const UnaryOp activation = nonlinearity == RnnNonlinearity::Tanh ? UnaryOp::Tanh : UnaryOp::Relu;
  Backend& backend = detail::backend_of(input_projection);
  Tensor h = h0;
  for (int64_t step = 0; step < s.T; ++step) {
    const int64_t t = s.time(step);
    matmul_into(pre, h, w_t);
    add_into(pre, pre, input_projection[t]);
    h = output[t];
    backend.unary(activation, h, pre, {});
  }
  return output;
}

Grads rnn_backward_recorded(const Tensor& input_projection, const Tensor& weight_hh,
                            const Tensor& h0, RnnNonlinearity nonlinearity, const Steps& s,
                            const Tensor& grad) {
  std::vector<Tensor> outputs(static_cast<size_t>(s.T)), grad_pre(static_cast<size_t>(s.T));
  Tensor h = h0;
  for (int64_t step = 0; step < s.T; ++step) {
    const int64_t t = s.time(step);
    h = rnn_step_ops(input_projection[t], h.mm(weight_hh.t()), nonlinearity);
    outputs[static_cast<size_t>(t)] = h;
  }
  Tensor grad_h = zeros({s.B, s.H}, h0.options());
  for (int64_t step = s.T - 1; step >= 0; --step) {
    const int64_t t = s.time(step);
    const Tensor pre_grad =
        rnn_step_backward_ops(grad[t] + grad_h, outputs[static_cast<size_t>(t)], nonlinearity);
    grad_h = pre_grad.mm(weight_hh);
    grad_pre[static_cast<size_t>(t)] = pre_grad;
  }
  const Tensor all_pre = stack(grad_pre);
  return {all_pre, weight_gradient(all_pre, stack(outputs), h0, s), grad_h};
}

Grads rnn_backward(const Context& ctx, const Tensor& grad_output, RnnNonlinearity nonlinearity,
                   const Steps& s) {
  const Tensor input_projection = ctx.saved(0), weight_hh = ctx.saved(1), h0 = ctx.saved(2);
  if (GradMode::is_enabled()) {
    return rnn_backward_recorded(input_projection, weight_hh, h0, nonlinearity, s, grad_output);
  }
  const Tensor output = ctx.output();
  const Tensor grad = grad_output.contiguous();
  const TensorOptions options = grad.options();
  const Tensor grad_pre = empty({s.T, s.B, s.H}, options);
  Tensor grad_h = zeros({s.B, s.H}, options), grad_h_total = empty({s.B, s.H}, options);
  for (int64_t step = s.T - 1; step >= 0; --step) {
    const int64_t t = s.time(step);
    add_into(grad_h_total, grad[t], grad_h);
    Tensor pre_grad = grad_pre[t];
    pre_grad.copy_(rnn_step_backward_ops(grad_h_total, output[t], nonlinearity));
    matmul_into(grad_h, pre_grad, weight_hh);
  }
  return {ctx.needs_grad(0) ? grad_pre : Tensor(),
          ctx.needs_grad(1) ? weight_gradient(grad_pre, output, h0, s) : Tensor(), grad_h};
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> lstm_recurrence(const Tensor& input_gates,
                                                   const Tensor& weight_hh, const Tensor& h0,
                                                   const Tensor& c0, bool reverse) {
  const Steps s =
      check_recurrence("lstm_recurrence", input_gates, weight_hh, 4, {&h0, &c0}, reverse);
  const Tensor x = input_gates.contiguous(), h = h0.contiguous(), c = c0.contiguous();
  const LstmForward f = lstm_forward(x, weight_hh, h, c, s);
  autograd::record(f.packed, "LstmRecurrenceBackward", {x, weight_hh, h, c},
                   {x, weight_hh, h, c, f.cells, f.gates}, true,
                   [s](const Context& ctx, const Tensor& g) { return lstm_backward(ctx, g, s); });
  return {f.packed.narrow(0, 0, s.T), f.packed[s.time(s.T - 1)], f.packed[s.T]};
}

std::tuple<Tensor, Tensor> gru_recurrence(const Tensor& input_gates, const Tensor& weight_hh,
                                          const Tensor& bias_hh, const Tensor& h0, bool reverse) {
  const Steps s = check_recurrence("gru_recurrence", input_gates, weight_hh, 3, {&h0}, reverse);
  if (bias_hh.defined()) {
    detail::check_same_device("gru_recurrence", input_gates, bias_hh);
    BG_CHECK(bias_hh.dtype() == input_gates.dtype() && bias_hh.sizes() == Shape{3 * s.H},
             "gru_recurrence", "expected bias_hh [", 3 * s.H, "] of ",
             dtype_name(input_gates.dtype()), ", got ", describe(bias_hh));
  }
  const Tensor x = input_gates.contiguous(), h = h0.contiguous();
  // Without a bias the hidden gates add zeros (which need no gradient).
  const Tensor bias = bias_hh.defined() ? bias_hh : zeros({3 * s.H}, x.options());
  const GruForward f = gru_forward(x, weight_hh, bias, h, s);
  autograd::record(f.output, "GruRecurrenceBackward", {x, weight_hh, bias, h},
                   {x, weight_hh, bias, h, f.saved}, true,
                   [s](const Context& ctx, const Tensor& g) { return gru_backward(ctx, g, s); });
  return {f.output, f.output[s.time(s.T - 1)]};
}

std::tuple<Tensor, Tensor> rnn_recurrence(const Tensor& input_projection, const Tensor& weight_hh,
                                          const Tensor& h0, RnnNonlinearity nonlinearity,
                                          bool reverse) {
  const Steps s =
      check_recurrence("rnn_recurrence", input_projection, weight_hh, 1, {&h0}, reverse);
  const Tensor x = input_projection.contiguous(), h = h0.contiguous();
  const Tensor output = rnn_forward(x, weight_hh, h, nonlinearity, s);
  autograd::record(output, "RnnRecurrenceBackward", {x, weight_hh, h}, {x, weight_hh, h}, true,
                   [s, nonlinearity](const Context& ctx, const Tensor& g) {
                     return rnn_backward(ctx, g, nonlinearity, s);
                   });
  return {output, output[s.time(s.T - 1)]};
}

}  // namespace bg
