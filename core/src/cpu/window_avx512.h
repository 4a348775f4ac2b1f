#pragma once
// The AVX-512 paths of the CPU's sliding-window kernels; window.cpp has the portable loops and
// calls these where the CPU has AVX-512 (BG_WINDOW_SIMD).
//
// Image rows in small CNNs are short (8 to 32 elements) and many, so these loops move whole
// vectors and mask the ragged edges (and the padding) instead of walking elements:
//   - im2col copies a window row with one masked load and store per vector;
//   - col2im accumulates, in a register, everything that lands on a segment of an image row, then
//     stores it once. (Adding tap after tap through memory would read back, shifted by one
//     element, what the previous tap just stored: a store-forwarding stall each time.);
//   - max pooling reads 2-wide windows at stride 2 (the usual 2 x 2 pooling) with plain loads
//     split into even and odd elements, 16 windows at a time, and other windows with masked
//     gathers, 8 at a time.
// Masked lanes are never read, so their addresses may lie outside the image. The results are the
// portable loops' bits.

#include "cpu/window_plan.h"

#if defined(__AVX512F__) && defined(__AVX512VL__)
#define BG_WINDOW_SIMD 1

namespace bg::cpu::BG_CPU_ISA::avx512 {

/// CpuBackend::im2col for inputs whose rows have unit stride (window.stride_w == 1 and
/// input.stride(3) == 1).
void im2col(const Tensor& columns, const Tensor& input, const Window2d& window, const Taps& taps);
/// CpuBackend::col2im for window.stride_w == 1, from columns whose rows have unit stride.
void col2im(const Tensor& out, const Tensor& columns, const Window2d& window, const Taps& taps);
/// CpuBackend::max_pool2d for a contiguous input.
void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                const Window2d& window);

}  // namespace bg::cpu::BG_CPU_ISA::avx512

#endif
