#pragma once
// The CPU backend: Eigen for the math, oneTBB for the threads. Each kernel family has its own file.

#include "bg/core/backend.h"

namespace bg::cpu {

class CpuBackend final : public Backend {
 public:
  Allocator& allocator(Device) override { return cpu_allocator(); }
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

  // Sliding windows: convolution and pooling (cpu/window.cpp).
  void im2col(const Tensor& columns, const Tensor& input, const Window2d& window) override;
  void col2im(const Tensor& out, const Tensor& columns, const Window2d& window) override;
  void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                  const Window2d& window) override;

  // Fused Gaussian variational ops (cpu/gaussian.cpp).
  void gaussian_sample(const Tensor& out, const Tensor& mu, const Tensor& rho,
                       const Tensor& eps) override;
  void gaussian_sample_backward(const Tensor& grad_rho, const Tensor& grad, const Tensor& rho,
                                const Tensor& eps) override;
  void gaussian_kl(const Tensor& out, const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
                   const Tensor& prior_sigma) override;
  void gaussian_kl_backward(const Tensor& grad_mu, const Tensor& grad_rho, const Tensor& grad,
                            const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
                            const Tensor& prior_sigma) override;

  // Fused optimizer updates (cpu/optimizer_update.cpp).
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

}  // namespace bg::cpu
