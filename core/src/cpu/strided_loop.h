#pragma once
// StridedLoop: walks N same-shaped strided operands (operand 0 is the output) in row-major order.
//
// Dims are first merged where every operand is laid out contiguously across them, so a contiguous
// tensor of any shape becomes one long run, and an [N, M] matrix plus a broadcast [M] row becomes
// N runs of M. The body is called once per run of the innermost merged dim with the operands'
// addresses and byte strides, so kernels can specialise the common inner cases (all contiguous, one
// operand broadcast) and leave the rest to a plain strided loop.

#include <algorithm>
#include <array>
#include <cstdint>

#include "bg/core/tensor_impl.h"

namespace bg::cpu::BG_CPU_ISA {

template <int N>
class StridedLoop {
 public:
  explicit StridedLoop(const std::array<const Tensor*, N>& operands) {
    const Shape& sizes = operands[0]->sizes();
    numel_ = operands[0]->numel();
    for (int k = 0; k < N; ++k) data_[k] = static_cast<char*>(operands[k]->impl()->data());
    // Innermost dim first; dims of size 1 carry nothing.
    ndim_ = 0;
    for (size_t i = sizes.size(); i-- > 0;) {
      if (sizes[i] == 1) continue;
      std::array<int64_t, N> strides;
      for (int k = 0; k < N; ++k) {
        strides[k] =
            operands[k]->strides()[i] * static_cast<int64_t>(element_size(operands[k]->dtype()));
      }
      bool mergeable = ndim_ > 0;
      for (int k = 0; k < N && mergeable; ++k) {
        mergeable = strides[k] == strides_[k][ndim_ - 1] * sizes_[ndim_ - 1];
      }
      if (mergeable) {
        sizes_[ndim_ - 1] *= sizes[i];
      } else {
        sizes_[ndim_] = sizes[i];
        for (int k = 0; k < N; ++k) strides_[k][ndim_] = strides[k];
        ++ndim_;
      }
    }
    if (ndim_ == 0) {  // a single element
      ndim_ = 1;
      sizes_[0] = 1;
      for (int k = 0; k < N; ++k) strides_[k][0] = 0;
    }
  }

  int64_t numel() const { return numel_; }

  /// Calls body(char* const* ptrs, int64_t n, const int64_t* byte_strides) for each run of the
  /// innermost dim inside the row-major element range [begin, end).
  template <typename Body>
  void run(int64_t begin, int64_t end, const Body& body) const {
    if (begin >= end) return;
    std::array<int64_t, kMaxDims> index;
    std::array<char*, N> ptrs = data_;
    int64_t rest = begin;
    for (int d = 0; d < ndim_; ++d) {
      index[d] = rest % sizes_[d];
      rest /= sizes_[d];
      for (int k = 0; k < N; ++k) ptrs[k] += index[d] * strides_[k][d];
    }
    std::array<int64_t, N> inner;
    for (int k = 0; k < N; ++k) inner[k] = strides_[k][0];
    for (int64_t pos = begin; pos < end;) {
      const int64_t n = std::min(sizes_[0] - index[0], end - pos);
      body(ptrs.data(), n, inner.data());
      pos += n;
      index[0] += n;
      for (int k = 0; k < N; ++k) ptrs[k] += n * strides_[k][0];
      // Carry into outer dims.
      for (int d = 0; d + 1 < ndim_ && index[d] == sizes_[d]; ++d) {
        index[d] = 0;
        ++index[d + 1];
        for (int k = 0; k < N; ++k) ptrs[k] += strides_[k][d + 1] - sizes_[d] * strides_[k][d];
      }
    }
  }

 private:
  int ndim_;
  int64_t numel_;
  std::array<int64_t, kMaxDims> sizes_;
  std::array<std::array<int64_t, kMaxDims>, N> strides_;
  std::array<char*, N> data_;
};

/// Whether every operand of a run has the element stride of its own dtype (all contiguous).
template <typename... Ts>
bool all_unit(const int64_t* strides) {
  int k = 0;
  return ((strides[k++] == static_cast<int64_t>(sizeof(Ts))) && ...);
}

/// Elements per block of for_blocks and for_each_contiguous_block: a block of every operand stays
/// in L1, and temporaries of a block stay small (in cache, and below the size where malloc maps
/// fresh pages for every block).
inline constexpr int64_t kVectorBlock = 1024;

/// Calls fn(begin, length) over [0, n) in blocks of kVectorBlock elements.
template <typename Fn>
void for_blocks(int64_t n, const Fn& fn) {
  for (int64_t i = 0; i < n; i += kVectorBlock) fn(i, std::min(kVectorBlock, n - i));
}

/// Runs an elementwise kernel on a run of N operands of type T (what StridedLoop::run passes: their
/// addresses p, its length n, their byte strides s), as calls block(T* const* data, int64_t length)
/// on at most kVectorBlock elements in which every operand is contiguous. An input whose run is not
/// (broadcast, strided) is first copied into a buffer; the first `Outputs` operands are written in
/// place, or into a buffer copied out afterwards. So the kernel is one loop over contiguous arrays,
/// which the compiler vectorizes, for every layout: every layout gives the same bits. An input
/// broadcast along the run (stride 0, such as a 0-d prior) is one value: its buffer is filled once
/// per run, not copied element by element in every block.
template <typename T, int Outputs, int N, typename Block>
void for_each_contiguous_block(char* const* p, int64_t n, const int64_t* s, const Block& block) {
  constexpr auto step = static_cast<int64_t>(sizeof(T));
  T buffer[N][kVectorBlock];
  for (int k = Outputs; k < N; ++k) {
    if (s[k] == 0)
      std::fill_n(buffer[k], std::min(n, kVectorBlock), *reinterpret_cast<const T*>(p[k]));
  }
  for_blocks(n, [&](int64_t begin, int64_t length) {
    std::array<T*, N> data;
    for (int k = 0; k < N; ++k) {
      char* start = p[k] + begin * s[k];
      data[k] = s[k] == step ? reinterpret_cast<T*>(start) : buffer[k];
      if (k < Outputs || s[k] == step || s[k] == 0) continue;
      for (int64_t i = 0; i < length; ++i)
        buffer[k][i] = *reinterpret_cast<const T*>(start + i * s[k]);
    }
    block(data.data(), length);
    for (int k = 0; k < Outputs; ++k) {
      if (s[k] == step) continue;
      for (int64_t i = 0; i < length; ++i) {
        *reinterpret_cast<T*>(p[k] + (begin + i) * s[k]) = buffer[k][i];
      }
    }
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
