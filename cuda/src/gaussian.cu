// Fused Gaussian variational kernels (fused_gaussian.h), with the CPU's formulas
// (cpu/gaussian.cpp): softplus with beta 1 and threshold 20, as bg::softplus computes it.
// The KL sum accumulates in float64: one partial sum per block, in a fixed order, then the
// partials added by one block, so the result is the same in every run.

#include <array>

#include "block_reduce.cuh"
#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

template <typename T>
__device__ T softplus(T x) {
  if (x > T(20)) return x;
  return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
}

template <typename T>
__device__ T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

template <typename T>
struct Sample {  // mu + softplus(rho) * eps
  __device__ T operator()(T mu, T rho, T eps) const { return mu + softplus(rho) * eps; }
};

template <typename T>
struct SampleBackward {  // grad * eps * sigmoid(rho)
  __device__ T operator()(T grad, T rho, T eps) const { return grad * eps * sigmoid(rho); }
};

// KL(N(mu, sigma^2) || N(pm, ps^2)) of one element, sigma = softplus(rho).
template <typename T>
__device__ T kl_term(T mu, T rho, T pm, T ps) {
  const T sigma = softplus(rho), d = mu - pm;
  return log(ps / sigma) + (sigma * sigma + d * d) / (ps * ps * T(2)) - T(0.5);
}

constexpr int kKlBlocks = 1024;

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};

template <typename T>
__global__ void kl_partials(double* partial, Strided<4> g, int64_t n) {
  __shared__ double scratch[kThreads];
  double sum = 0;
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads) {
    char* p[4];
    g.locate(i, p);
    sum += static_cast<double>(
        kl_term(*reinterpret_cast<const T*>(p[0]), *reinterpret_cast<const T*>(p[1]),
                *reinterpret_cast<const T*>(p[2]), *reinterpret_cast<const T*>(p[3])));
  }
  sum = block_reduce(sum, scratch, Add{});
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

template <typename T>
__global__ void kl_total(T* out, const double* partial, int count) {
  __shared__ double scratch[kThreads];
  double sum = 0;
  for (int i = threadIdx.x; i < count; i += kThreads) sum += partial[i];
  sum = block_reduce(sum, scratch, Add{});
  if (threadIdx.x == 0) *out = static_cast<T>(sum);
}

// d/dmu = g (mu - pm) / ps^2;  d/drho = g (sigma / ps^2 - 1 / sigma) sigmoid(rho), with the
// upstream gradient g read from the GPU (a 0-d tensor).
template <typename T>
struct KlBackward {
  const T* upstream;
  __device__ void operator()(T& grad_mu, T& grad_rho, T& mu, T& rho, T& pm, T& ps) const {
    const T g = *upstream, sigma = softplus(rho);
    grad_mu = g * (mu - pm) / (ps * ps);
    grad_rho = g * (sigma / (ps * ps) - T(1) / sigma) * sigmoid(rho);
  }
};

// The sample's gradient and the KL's in one pass: grad_mu = grad + KlBackward's, grad_rho =
// SampleBackward's + KlBackward's.
template <typename T>
struct SampleKlBackward {
  const T* upstream;
  __device__ void operator()(T& grad_mu, T& grad_rho, T& grad, T& mu, T& rho, T& eps, T& pm,
                             T& ps) const {
    const T g = *upstream, sigma = softplus(rho), sig = sigmoid(rho);
    grad_mu = grad + g * (mu - pm) / (ps * ps);
    grad_rho = grad * eps * sig + g * (sigma / (ps * ps) - T(1) / sigma) * sig;
  }
};

}  // namespace

void CudaBackend::gaussian_sample(const Tensor& out, const Tensor& mu, const Tensor& rho,
                                  const Tensor& eps) {
  use_device(out.device(), "gaussian_sample");
  dispatch_floating(out.dtype(), "gaussian_sample", [&](auto tag) {
    using T = decltype(tag);
    map<T, T, T, T>("gaussian_sample", out, {&mu, &rho, &eps}, Sample<T>{});
  });
}

void CudaBackend::gaussian_sample_backward(const Tensor& grad_rho, const Tensor& grad,
                                           const Tensor& rho, const Tensor& eps) {
  use_device(grad_rho.device(), "gaussian_sample");
  dispatch_floating(grad_rho.dtype(), "gaussian_sample", [&](auto tag) {
    using T = decltype(tag);
    map<T, T, T, T>("gaussian_sample", grad_rho, {&grad, &rho, &eps}, SampleBackward<T>{});
  });
}

void CudaBackend::gaussian_kl(const Tensor& out, const Tensor& mu, const Tensor& rho,
                              const Tensor& prior_mu, const Tensor& prior_sigma) {
  use_device(out.device(), "gaussian_kl");
  const int64_t n = mu.numel();
  const int blocks = static_cast<int>(
      std::min<int64_t>(kKlBlocks, std::max<int64_t>(1, (n + kThreads - 1) / kThreads)));
  const Tensor partial = empty_on({blocks}, kFloat64, out.device());
  auto* partial_data = static_cast<double*>(partial.impl()->data());
  dispatch_floating(mu.dtype(), "gaussian_kl", [&](auto tag) {
    using T = decltype(tag);
    kl_partials<T><<<blocks, kThreads, 0, current_stream()>>>(
        partial_data, Strided<4>({&mu, &rho, &prior_mu, &prior_sigma}), n);
    check_launch("gaussian_kl");
    kl_total<T><<<1, kThreads, 0, current_stream()>>>(static_cast<T*>(out.impl()->data()),
                                                      partial_data, blocks);
    check_launch("gaussian_kl");
  });
}

void CudaBackend::gaussian_kl_backward(const Tensor& grad_mu, const Tensor& grad_rho,
                                       const Tensor& grad, const Tensor& mu, const Tensor& rho,
                                       const Tensor& prior_mu, const Tensor& prior_sigma) {
  use_device(grad_mu.device(), "gaussian_kl");
  dispatch_floating(mu.dtype(), "gaussian_kl", [&](auto tag) {
    using T = decltype(tag);
    update<T, 6>("gaussian_kl", {&grad_mu, &grad_rho, &mu, &rho, &prior_mu, &prior_sigma},
                 KlBackward<T>{static_cast<const T*>(grad.impl()->data())});
  });
}

void CudaBackend::gaussian_sample_kl_backward(const Tensor& grad_mu, const Tensor& grad_rho,
                                              const Tensor& grad, const Tensor& kl_grad,
                                              const Tensor& mu, const Tensor& rho,
                                              const Tensor& eps, const Tensor& prior_mu,
                                              const Tensor& prior_sigma) {
  use_device(grad_mu.device(), "gaussian_sample_kl");
  dispatch_floating(mu.dtype(), "gaussian_sample_kl", [&](auto tag) {
    using T = decltype(tag);
    update<T, 8>("gaussian_sample_kl",
                 {&grad_mu, &grad_rho, &grad, &mu, &rho, &eps, &prior_mu, &prior_sigma},
                 SampleKlBackward<T>{static_cast<const T*>(kl_grad.impl()->data())});
  });
}

}  // namespace bg::cuda
