#pragma once
// The CUDA backend: a kernel for every primitive of the backend interface (bg/core/backend.h).
// Each kernel family has its own file; host code that only calls the CUDA runtime or cuBLAS
// (copies between devices, matmul) is plain C++.
//
// Every method first makes the output's device current (use_device) and queues its work on that
// device's stream (Note [One stream per device]); nothing waits for the GPU except copies to the
// host.

#include "bg/core/backend.h"

namespace bg::cuda {

class CudaBackend final : public Backend {
 public:
  Allocator& allocator(Device device) override;
  void fill(const Tensor& out, const Scalar& value) override;
  void copy(const Tensor& dst, const Tensor& src) override;
  void unary(UnaryOp op, const Tensor& out, const Tensor& in, const UnaryParams& params) override;
  void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) override;
  void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) override;
  void reduce(ReduceOp op, const Tensor& out, const Tensor& in,
              const std::vector<int64_t>& dims) override;
  void arg_reduce(ArgReduceOp op, const Tensor& out, const Tensor& in, int64_t dim) override;
  void matmul(const Tensor& out, const Tensor& a, const Tensor& b) override;
  void index_select(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) override;
  void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
  void gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) override;
  void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
  void random(RandomOp op, const Tensor& out, uint64_t seed, uint64_t offset, double a,
              double b) override;
  void softmax(const Tensor& out, const Tensor& in, int64_t dim, bool log) override;

  // Sliding windows: convolution and pooling (window.cu).
  void im2col(const Tensor& columns, const Tensor& input, const Window2d& window) override;
  void col2im(const Tensor& out, const Tensor& columns, const Window2d& window) override;
  void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                  const Window2d& window) override;

  // Fused Gaussian variational ops (gaussian.cu).
  void gaussian_sample(const Tensor& out, const Tensor& mu, const Tensor& rho,
                       const Tensor& eps) override;
  void gaussian_sample_backward(const Tensor& grad_rho, const Tensor& grad, const Tensor& rho,
                                const Tensor& eps) override;
  void gaussian_kl(const Tensor& out, const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
                   const Tensor& prior_sigma) override;
  void gaussian_kl_backward(const Tensor& grad_mu, const Tensor& grad_rho, const Tensor& grad,
                            const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
                            const Tensor& prior_sigma) override;

  // Fused optimizer updates (optimizer_update.cu).
  void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                  const fused::SgdHyper& hyper) override;
  void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                   const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                   const fused::AdamHyper& hyper) override;
  void rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                      const Tensor& momentum_buffer, const Tensor& grad_avg,
                      const fused::RmspropHyper& hyper) override;
  void adagrad_update(const Tensor& param, const Tensor& grad, const Tensor& sum,
                      const fused::AdagradHyper& hyper) override;
};

// ---- Helpers the kernel files share (backend.cpp) -----------------------------------------------

/// A new contiguous tensor on `device` (no autograd).
Tensor empty_on(const Shape& sizes, Dtype dtype, Device device);

/// t itself when contiguous, else a contiguous copy on its device.
Tensor contiguous_on_device(const Tensor& t);

/// A strided copy with dtype conversion between tensors on the same GPU (copy_fill.cu).
void copy_on_device(const Tensor& dst, const Tensor& src);

}  // namespace bg::cuda
