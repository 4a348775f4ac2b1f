// Fused recurrent-cell kernels on the CPU (recurrent_kernels.def): the gate math of one LSTM or
// GRU step, one row of the batch at a time, with Eigen's vectorized logistic and tanh (the
// functions the Sigmoid and Tanh unary kernels use, so both paths compute the same activations).
// Rows are split across threads in fixed chunks (Note [Deterministic chunks]).

#include <Eigen/Core>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

template <typename T>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <typename T>
T* data(const Tensor& t) {
  return static_cast<T*>(t.impl()->data());
}

// Calls fn(row) for each of the `rows` rows, `row_elements` elements each, across threads.
template <typename Fn>
void for_rows(int64_t rows, int64_t row_elements, const Fn& fn) {
  const int64_t grain =
      std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row_elements, 1));
  parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) fn(row);
  });
}

template <typename T>
void lstm_forward(const Tensor& h, const Tensor& c, const Tensor& gates, const Tensor& input_gates,
                  const Tensor& hidden_gates, const Tensor& c_prev) {
  const int64_t H = h.size(1);
  for_rows(h.size(0), 4 * H, [&](int64_t b) {
    Row<T> a(data<T>(gates) + b * 4 * H, 4 * H);
    a = ConstRow<T>(data<T>(input_gates) + b * 4 * H, 4 * H) +
        ConstRow<T>(data<T>(hidden_gates) + b * 4 * H, 4 * H);
    a.head(2 * H) = a.head(2 * H).logistic();          // i, f
    a.segment(2 * H, H) = a.segment(2 * H, H).tanh();  // g
    a.tail(H) = a.tail(H).logistic();                  // o
    Row<T> cell(data<T>(c) + b * H, H);
    cell =
        a.segment(H, H) * ConstRow<T>(data<T>(c_prev) + b * H, H) + a.head(H) * a.segment(2 * H, H);
    Row<T>(data<T>(h) + b * H, H) = a.tail(H) * cell.tanh();
  });
}

template <typename T>
void lstm_backward(const Tensor& grad_gates, const Tensor& grad_c_prev, const Tensor& grad_h,
                   const Tensor& grad_c, const Tensor& gates, const Tensor& c_prev,
                   const Tensor& c) {
  const int64_t H = grad_h.size(1);
  for_rows(grad_h.size(0), 4 * H, [&](int64_t b) {
    const ConstRow<T> q(data<T>(gates) + b * 4 * H, 4 * H);
    const auto i = q.head(H), f = q.segment(H, H), g = q.segment(2 * H, H), o = q.tail(H);
    const ConstRow<T> gh(data<T>(grad_h) + b * H, H);
    const Eigen::Array<T, Eigen::Dynamic, 1> tanh_c = ConstRow<T>(data<T>(c) + b * H, H).tanh();
    // The gradient reaching c: from h = o tanh(c), and from the steps after.
    const Eigen::Array<T, Eigen::Dynamic, 1> dc =
        ConstRow<T>(data<T>(grad_c) + b * H, H) + gh * o * (T(1) - tanh_c * tanh_c);
    Row<T> da(data<T>(grad_gates) + b * 4 * H, 4 * H);
    da.head(H) = dc * g * i * (T(1) - i);
    da.segment(H, H) = dc * ConstRow<T>(data<T>(c_prev) + b * H, H) * f * (T(1) - f);
    da.segment(2 * H, H) = dc * i * (T(1) - g * g);
    da.tail(H) = gh * tanh_c * o * (T(1) - o);
    Row<T>(data<T>(grad_c_prev) + b * H, H) = dc * f;
  });
}

template <typename T>
void gru_forward(const Tensor& h, const Tensor& saved, const Tensor& input_gates,
                 const Tensor& hidden_gates, const Tensor& h_prev) {
  const int64_t H = h.size(1);
  for_rows(h.size(0), 4 * H, [&](int64_t b) {
    const ConstRow<T> x(data<T>(input_gates) + b * 3 * H, 3 * H);
    const ConstRow<T> hg(data<T>(hidden_gates) + b * 3 * H, 3 * H);
    Row<T> s(data<T>(saved) + b * 4 * H, 4 * H);  // r, z, n, h_n
    s.head(2 * H) = (x.head(2 * H) + hg.head(2 * H)).logistic();
    s.tail(H) = hg.tail(H);
    s.segment(2 * H, H) = (x.tail(H) + s.head(H) * hg.tail(H)).tanh();
    const auto z = s.segment(H, H), n = s.segment(2 * H, H);
    Row<T>(data<T>(h) + b * H, H) = n + z * (ConstRow<T>(data<T>(h_prev) + b * H, H) - n);
  });
}

template <typename T>
void gru_backward(const Tensor& grad_input_gates, const Tensor& grad_hidden_gates,
                  const Tensor& grad_h_prev, const Tensor& grad_h, const Tensor& saved,
                  const Tensor& h_prev) {
  const int64_t H = grad_h.size(1);
  for_rows(grad_h.size(0), 4 * H, [&](int64_t b) {
    const ConstRow<T> s(data<T>(saved) + b * 4 * H, 4 * H);
    const auto r = s.head(H), z = s.segment(H, H), n = s.segment(2 * H, H), hn = s.tail(H);
    const ConstRow<T> gh(data<T>(grad_h) + b * H, H);
    // The gradient of n's pre-activation x_n + r h_n.
    const Eigen::Array<T, Eigen::Dynamic, 1> dn = gh * (T(1) - z) * (T(1) - n * n);
    Row<T> dx(data<T>(grad_input_gates) + b * 3 * H, 3 * H);
    Row<T> dh(data<T>(grad_hidden_gates) + b * 3 * H, 3 * H);
    dx.head(H) = dn * hn * r * (T(1) - r);
    dx.segment(H, H) = gh * (ConstRow<T>(data<T>(h_prev) + b * H, H) - n) * z * (T(1) - z);
    dx.tail(H) = dn;
    dh.head(2 * H) = dx.head(2 * H);
    dh.tail(H) = dn * r;
    Row<T>(data<T>(grad_h_prev) + b * H, H) = gh * z;
  });
}

}  // namespace

void CpuBackend::lstm_cell(const Tensor& h, const Tensor& c, const Tensor& gates,
                           const Tensor& input_gates, const Tensor& hidden_gates,
                           const Tensor& c_prev) {
  dispatch_floating(h.dtype(), "lstm_cell", [&](auto tag) {
    lstm_forward<decltype(tag)>(h, c, gates, input_gates, hidden_gates, c_prev);
  });
}

void CpuBackend::lstm_cell_backward(const Tensor& grad_gates, const Tensor& grad_c_prev,
                                    const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                                    const Tensor& c_prev, const Tensor& c) {
  dispatch_floating(grad_h.dtype(), "lstm_cell_backward", [&](auto tag) {
    lstm_backward<decltype(tag)>(grad_gates, grad_c_prev, grad_h, grad_c, gates, c_prev, c);
  });
}

void CpuBackend::gru_cell(const Tensor& h, const Tensor& saved, const Tensor& input_gates,
                          const Tensor& hidden_gates, const Tensor& h_prev) {
  dispatch_floating(h.dtype(), "gru_cell", [&](auto tag) {
    gru_forward<decltype(tag)>(h, saved, input_gates, hidden_gates, h_prev);
  });
}

void CpuBackend::gru_cell_backward(const Tensor& grad_input_gates, const Tensor& grad_hidden_gates,
                                   const Tensor& grad_h_prev, const Tensor& grad_h,
                                   const Tensor& saved, const Tensor& h_prev) {
  dispatch_floating(grad_h.dtype(), "gru_cell_backward", [&](auto tag) {
    gru_backward<decltype(tag)>(grad_input_gates, grad_hidden_gates, grad_h_prev, grad_h, saved,
                                h_prev);
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
