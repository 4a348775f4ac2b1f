#pragma once
// Pooling: core ops with autograd, on tensors laid out [N, C, H, W] (2-d) or [N, C, L] (1-d), as in
// PyTorch. A missing batch dim ([C, H, W]) is accepted and kept missing. Sizes are Size2, as for
// the convolutions (conv.h).

#include <optional>

#include "bg/core/api.h"
#include "bg/core/conv.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

/// Max pooling; the stride defaults to the kernel size. Padding is -infinity and never wins; NaN
/// counts as the largest value. The gradient goes to the position of each window's maximum (the
/// first one in row-major order on ties). Unlike PyTorch, which returns -infinity there, a window
/// that dilation leaves entirely in the padding is an error.
Tensor max_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, Size2 dilation = 1, bool ceil_mode = false);
Tensor max_pool1d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride = std::nullopt,
                  int64_t padding = 0, int64_t dilation = 1, bool ceil_mode = false);
/// Average pooling; padding counts as zeros in the average unless count_include_pad is false.
/// As in PyTorch, a window that ceil_mode lets overhang the padded input is divided by the part
/// inside the padded input (count_include_pad) or inside the input.
Tensor avg_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, bool ceil_mode = false, bool count_include_pad = true);
Tensor avg_pool1d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride = std::nullopt,
                  int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true);
/// Average pooling to a fixed output size: output row i averages the input rows
/// [floor(i H / OH), ceil((i + 1) H / OH)), and the columns likewise (PyTorch's windows).
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size);

}  // namespace bg

BG_API_END
