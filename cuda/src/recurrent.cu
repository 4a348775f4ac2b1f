// Fused recurrent-cell kernels (recurrent_kernels.def), with the CPU's formulas
// (cpu/recurrent.cpp). One thread per hidden unit of a batch row: it reads that unit's gates from
// each gate block and writes its state, so a step is one launch each way. Operands are contiguous.

#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

template <typename T>
__device__ T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

template <typename T>
const T* in(const Tensor& t) {
  return static_cast<const T*>(t.impl()->data());
}
template <typename T>
T* out(const Tensor& t) {
  return static_cast<T*>(t.impl()->data());
}

// Element (b, j) of n = B * H, and the index of unit j of gate block k in a row of `blocks` blocks.
struct Unit {
  int64_t b, j, H;
  __device__ int64_t gate(int64_t blocks, int64_t k) const { return (b * blocks + k) * H + j; }
  __device__ int64_t state() const { return b * H + j; }
};

template <typename T>
__global__ void lstm_forward(T* h, T* c, T* gates, const T* x, const T* hg, const T* c_prev,
                             int64_t n, int64_t H) {
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < n;
       e += int64_t{gridDim.x} * kThreads) {
    const Unit u{e / H, e % H, H};
    T a[4];
    for (int k = 0; k < 4; ++k) a[k] = x[u.gate(4, k)] + hg[u.gate(4, k)];
    const T i = sigmoid(a[0]), f = sigmoid(a[1]), g = tanh(a[2]), o = sigmoid(a[3]);
    const T cell = f * c_prev[u.state()] + i * g;
    gates[u.gate(4, 0)] = i;
    gates[u.gate(4, 1)] = f;
    gates[u.gate(4, 2)] = g;
    gates[u.gate(4, 3)] = o;
    c[u.state()] = cell;
    h[u.state()] = o * tanh(cell);
  }
}

template <typename T>
__global__ void lstm_backward(T* grad_gates, T* grad_c_prev, const T* grad_h, const T* grad_c,
                              const T* gates, const T* c_prev, const T* c, int64_t n, int64_t H) {
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < n;
       e += int64_t{gridDim.x} * kThreads) {
    const Unit u{e / H, e % H, H};
    const T i = gates[u.gate(4, 0)], f = gates[u.gate(4, 1)], g = gates[u.gate(4, 2)],
            o = gates[u.gate(4, 3)];
    const T gh = grad_h[u.state()], tanh_c = tanh(c[u.state()]);
    const T dc = grad_c[u.state()] + gh * o * (T(1) - tanh_c * tanh_c);
    grad_gates[u.gate(4, 0)] = dc * g * i * (T(1) - i);
    grad_gates[u.gate(4, 1)] = dc * c_prev[u.state()] * f * (T(1) - f);
    grad_gates[u.gate(4, 2)] = dc * i * (T(1) - g * g);
    grad_gates[u.gate(4, 3)] = gh * tanh_c * o * (T(1) - o);
    grad_c_prev[u.state()] = dc * f;
  }
}

template <typename T>
__global__ void gru_forward(T* h, T* saved, const T* x, const T* hg, const T* h_prev, int64_t n,
                            int64_t H) {
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < n;
       e += int64_t{gridDim.x} * kThreads) {
    const Unit u{e / H, e % H, H};
    const T r = sigmoid(x[u.gate(3, 0)] + hg[u.gate(3, 0)]);
    const T z = sigmoid(x[u.gate(3, 1)] + hg[u.gate(3, 1)]);
    const T hn = hg[u.gate(3, 2)];
    const T new_gate = tanh(x[u.gate(3, 2)] + r * hn);
    saved[u.gate(4, 0)] = r;
    saved[u.gate(4, 1)] = z;
    saved[u.gate(4, 2)] = new_gate;
    saved[u.gate(4, 3)] = hn;
    h[u.state()] = new_gate + z * (h_prev[u.state()] - new_gate);
  }
}

template <typename T>
__global__ void gru_backward(T* grad_x, T* grad_hg, T* grad_h_prev, const T* grad_h, const T* saved,
                             const T* h_prev, int64_t n, int64_t H) {
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < n;
       e += int64_t{gridDim.x} * kThreads) {
    const Unit u{e / H, e % H, H};
    const T r = saved[u.gate(4, 0)], z = saved[u.gate(4, 1)], new_gate = saved[u.gate(4, 2)],
            hn = saved[u.gate(4, 3)];
    const T gh = grad_h[u.state()];
    const T dn = gh * (T(1) - z) * (T(1) - new_gate * new_gate);
    const T dr = dn * hn * r * (T(1) - r);
    const T dz = gh * (h_prev[u.state()] - new_gate) * z * (T(1) - z);
    grad_x[u.gate(3, 0)] = dr;
    grad_x[u.gate(3, 1)] = dz;
    grad_x[u.gate(3, 2)] = dn;
    grad_hg[u.gate(3, 0)] = dr;
    grad_hg[u.gate(3, 1)] = dz;
    grad_hg[u.gate(3, 2)] = dn * r;
    grad_h_prev[u.state()] = gh * z;
  }
}

}  // namespace

void CudaBackend::lstm_cell(const Tensor& h, const Tensor& c, const Tensor& gates,
                            const Tensor& input_gates, const Tensor& hidden_gates,
                            const Tensor& c_prev) {
  use_device(h.device(), "lstm_cell");
  const int64_t n = h.numel(), H = h.size(1);
  dispatch_floating(h.dtype(), "lstm_cell", [&](auto tag) {
    using T = decltype(tag);
    lstm_forward<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        out<T>(h), out<T>(c), out<T>(gates), in<T>(input_gates), in<T>(hidden_gates), in<T>(c_prev),
        n, H);
    check_launch("lstm_cell");
  });
}

void CudaBackend::lstm_cell_backward(const Tensor& grad_gates, const Tensor& grad_c_prev,
                                     const Tensor& grad_h, const Tensor& grad_c,
                                     const Tensor& gates, const Tensor& c_prev, const Tensor& c) {
  use_device(grad_h.device(), "lstm_cell_backward");
  const int64_t n = grad_h.numel(), H = grad_h.size(1);
  dispatch_floating(grad_h.dtype(), "lstm_cell_backward", [&](auto tag) {
    using T = decltype(tag);
    lstm_backward<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        out<T>(grad_gates), out<T>(grad_c_prev), in<T>(grad_h), in<T>(grad_c), in<T>(gates),
        in<T>(c_prev), in<T>(c), n, H);
    check_launch("lstm_cell_backward");
  });
}

void CudaBackend::gru_cell(const Tensor& h, const Tensor& saved, const Tensor& input_gates,
                           const Tensor& hidden_gates, const Tensor& h_prev) {
  use_device(h.device(), "gru_cell");
  const int64_t n = h.numel(), H = h.size(1);
  dispatch_floating(h.dtype(), "gru_cell", [&](auto tag) {
    using T = decltype(tag);
    gru_forward<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        out<T>(h), out<T>(saved), in<T>(input_gates), in<T>(hidden_gates), in<T>(h_prev), n, H);
    check_launch("gru_cell");
  });
}

void CudaBackend::gru_cell_backward(const Tensor& grad_input_gates, const Tensor& grad_hidden_gates,
                                    const Tensor& grad_h_prev, const Tensor& grad_h,
                                    const Tensor& saved, const Tensor& h_prev) {
  use_device(grad_h.device(), "gru_cell_backward");
  const int64_t n = grad_h.numel(), H = grad_h.size(1);
  dispatch_floating(grad_h.dtype(), "gru_cell_backward", [&](auto tag) {
    using T = decltype(tag);
    gru_backward<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        out<T>(grad_input_gates), out<T>(grad_hidden_gates), out<T>(grad_h_prev), in<T>(grad_h),
        in<T>(saved), in<T>(h_prev), n, H);
    check_launch("gru_cell_backward");
  });
}

}  // namespace bg::cuda
