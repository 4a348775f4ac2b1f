#pragma once
// The CPU backend: Eigen for the math, oneTBB for the threads. Each kernel family has its own file.

#include "bg/core/backend.h"

namespace bg::cpu {

class CpuBackend final : public Backend {
 public:
  Allocator& allocator() override { return cpu_allocator(); }
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

  // Fused optimizer updates (cpu/optimizer_update.cpp).
};

}  // namespace bg::cpu
