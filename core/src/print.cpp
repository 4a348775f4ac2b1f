// Printing tensors the way PyTorch does:
//   tensor([[ 1.0000, -2.5000],
//           [ 0.1250,  4.0000]], requires_grad=True)

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bg/core/autograd/node.h"
#include "bg/core/grad_mode.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"

namespace bg {

namespace {

// Beyond this many elements, each dim shows its first and last kEdge entries around "...".
constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdge = 3;

// How every element of one tensor is written, chosen from all its values (like PyTorch's
// _Formatter): integers as "3", integral floats as "3.", others with 4 decimals, or in scientific
// notation when the magnitudes span too much.
class Formatter {
 public:
  Formatter(const std::vector<double>& values, Dtype dtype) : dtype_(dtype) {
    if (!is_floating(dtype)) return;
    double lo = INFINITY, hi = 0;
    integral_ = true;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      integral_ = integral_ && v == std::nearbyint(v);
      const double a = std::fabs(v);
      if (a != 0) lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
    scientific_ = hi > 1e8 || (hi != 0 && (hi / lo > 1000 || lo < 1e-4));
    if (integral_) scientific_ = hi > 1e8;
  }

  std::string format(double v) const {
    char buffer[64];
    if (dtype_ == kBool) return v != 0 ? "True" : "False";
    if (!is_floating(dtype_)) {
      std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(v));
    } else if (std::isnan(v)) {
      return "nan";
    } else if (std::isinf(v)) {
      return v > 0 ? "inf" : "-inf";
    } else if (scientific_) {
      std::snprintf(buffer, sizeof buffer, "%.4e", v);
    } else if (integral_) {
      std::snprintf(buffer, sizeof buffer, "%.0f.", v);
    } else {
      std::snprintf(buffer, sizeof buffer, "%.4f", v);
    }
    return buffer;
  }

 private:
  Dtype dtype_;
  bool integral_ = false;
  bool scientific_ = false;
};

struct Printer {
  const std::vector<double>& values;
  const Shape& sizes;
  const Formatter& formatter;
  bool summarize;
  size_t width;

  std::string element(int64_t flat) const {
    std::string s = formatter.format(values[static_cast<size_t>(flat)]);
    return std::string(width > s.size() ? width - s.size() : 0, ' ') + s;
  }

  // The entries of `dim` that are shown (-1 marks the "..." gap).
  std::vector<int64_t> shown(int64_t dim) const {
    const int64_t n = sizes[dim];
    std::vector<int64_t> out;
    if (!summarize || n <= 2 * kEdge) {
      for (int64_t i = 0; i < n; ++i) out.push_back(i);
      return out;
    }
    for (int64_t i = 0; i < kEdge; ++i) out.push_back(i);
    out.push_back(-1);
    for (int64_t i = n - kEdge; i < n; ++i) out.push_back(i);
    return out;
  }

  // Writes dims [dim, end) of the block starting at element `base`; `indent` is the column of
  // the block's opening bracket.
  void block(std::string& out, int64_t dim, int64_t base, size_t indent) const {
    const auto ndim = static_cast<int64_t>(sizes.size());
    const int64_t stride = numel_of(Shape(sizes.begin() + dim + 1, sizes.end()));
    out += '[';
    bool first = true;
    for (int64_t i : shown(dim)) {
      if (!first) {
        if (dim == ndim - 1) {
          out += ", ";
        } else {
          out += ',';
          out += std::string(static_cast<size_t>(ndim - dim - 1), '\n');
          out += std::string(indent + 1, ' ');
        }
      }
      first = false;
      if (i < 0) {
        out += "...";
      } else if (dim == ndim - 1) {
        out += element(base + i * stride);
      } else {
        block(out, dim + 1, base + i * stride, indent + 1);
      }
    }
    out += ']';
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  std::vector<double> values;
  {
    NoGradGuard no_grad;
    const Tensor host = t.detach().cpu().to(kFloat64).contiguous();
    const double* p = host.data_ptr<double>();
    values.assign(p, p + host.numel());
  }
  const bool summarize = t.numel() > kSummarizeAbove;
  const Formatter formatter(values, t.dtype());
  Printer printer{values, t.sizes(), formatter, summarize, 0};
  for (double v : values) printer.width = std::max(printer.width, formatter.format(v).size());

  std::string body;
  if (t.numel() == 0) {
    body = "[]";
  } else if (t.dim() == 0) {
    body = formatter.format(values[0]);
  } else {
    printer.block(body, 0, 0, std::string("tensor(").size());
  }
  out << "tensor(" << body;
  if (t.numel() == 0 && t.dim() != 1) {
    out << ", size=(";
    for (int64_t d = 0; d < t.dim(); ++d) out << (d ? ", " : "") << t.size(d);
    out << (t.dim() == 1 ? ",)" : ")");
  }
  if (!t.device().is_cpu()) out << ", device='" << t.device() << "'";
  if (t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool) {
    out << ", dtype=" << t.dtype();
  }
  if (t.grad_fn()) {
    out << ", grad_fn=<" << t.grad_fn()->name() << ">";
  } else if (t.requires_grad()) {
    out << ", requires_grad=True";
  }
  return out << ")";
}

}  // namespace bg
