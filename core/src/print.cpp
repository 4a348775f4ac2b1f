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
// Rows wrap, and suffixes move to a new line, past this many columns.
constexpr int64_t kLineWidth = 80;
constexpr size_t kPrefixWidth = 7;  // "tensor("

// How every element of one tensor is written, chosen from the values shown (like PyTorch's
// _Formatter): integers as "3", integral floats as "3.", others with 4 decimals, or in scientific
// notation when the magnitudes span too much. Every element is padded to one width, which (as in
// PyTorch) only the nonzero finite values set: nan, inf or -0.0000 may be wider than the others.
// T is int64_t for int64 tensors (a double cannot hold every int64), else double.
template <typename T>
class Formatter {
 public:
  Formatter(const std::vector<T>& values, Dtype dtype) : dtype_(dtype) {
    if (!is_floating(dtype)) {
      for (T v : values) width_ = std::max(width_, text(v).size());
      return;
    }
    double lo = INFINITY, hi = 0;
    for (T v : values) {
      if (!std::isfinite(v) || v == 0) continue;
      integral_ = integral_ && v == std::ceil(v);
      lo = std::min(lo, std::fabs(v));
      hi = std::max(hi, std::fabs(v));
    }
    if (hi == 0) return;  // no nonzero finite value: "0.", "nan", "inf" as they are
    scientific_ = hi / lo > 1000 || hi > 1e8 || (!integral_ && lo < 1e-4);
    for (T v : values) {
      if (std::isfinite(v) && v != 0) width_ = std::max(width_, text(v).size());
    }
  }

  size_t width() const { return width_; }

  std::string format(T v) const {
    const std::string s = text(v);
    return std::string(width_ > s.size() ? width_ - s.size() : 0, ' ') + s;
  }

 private:
  std::string text(T v) const {
    if constexpr (std::is_integral_v<T>) {
      return std::to_string(v);
    } else {
      char buffer[64];
      if (dtype_ == kBool) return v != 0 ? "True" : "False";
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      if (scientific_) {
        std::snprintf(buffer, sizeof buffer, "%.4e", v);
      } else if (integral_) {
        std::snprintf(buffer, sizeof buffer, "%.0f.", v);
      } else {
        std::snprintf(buffer, sizeof buffer, "%.4f", v);
      }
      return buffer;
    }
  }

  Dtype dtype_;
  bool integral_ = true;
  bool scientific_ = false;
  size_t width_ = 1;
};

template <typename T>
struct Printer {
  const std::vector<T>& values;
  const Shape& sizes;
  bool summarize;

  int64_t ndim() const { return static_cast<int64_t>(sizes.size()); }
  int64_t stride(int64_t dim) const {
    return numel_of(Shape(sizes.begin() + dim + 1, sizes.end()));
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

  // Appends the values shown of the block starting at element `base`: the formatter looks only at
  // those, as PyTorch's does.
  void collect(std::vector<T>& out, int64_t dim, int64_t base) const {
    for (int64_t i : shown(dim)) {
      if (i < 0) continue;
      if (dim == ndim() - 1) {
        out.push_back(values[static_cast<size_t>(base + i)]);
      } else {
        collect(out, dim + 1, base + i * stride(dim));
      }
    }
  }

  // Writes dims [dim, end) of the block starting at element `base`; `indent` is the column of
  // the block's opening bracket.
  void block(std::string& out, const Formatter<T>& formatter, int64_t dim, int64_t base,
             size_t indent) const {
    if (dim == ndim() - 1) return row(out, formatter, base, indent);
    out += '[';
    bool first = true;
    for (int64_t i : shown(dim)) {
      if (!first) {
        out += ',';
        out += std::string(static_cast<size_t>(ndim() - dim - 1), '\n');
        out += std::string(indent + 1, ' ');
      }
      first = false;
      if (i < 0) {
        out += "...";
      } else {
        block(out, formatter, dim + 1, base + i * stride(dim), indent + 1);
      }
    }
    out += ']';
  }

  // The last dim: as many elements per line as fit in kLineWidth (the gap " ..." counts as one),
  // continuation lines aligned after the bracket.
  void row(std::string& out, const Formatter<T>& formatter, int64_t base, size_t indent) const {
    const auto element_width = static_cast<int64_t>(formatter.width()) + 2;  // with ", "
    const int64_t per_line =
        std::max<int64_t>(1, (kLineWidth - static_cast<int64_t>(indent)) / element_width);
    out += '[';
    int64_t count = 0;
    for (int64_t i : shown(ndim() - 1)) {
      if (count > 0) out += count % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
      ++count;
      out += i < 0 ? " ..." : formatter.format(values[static_cast<size_t>(base + i)]);
    }
    out += ']';
  }
};

// Appends ", suffix" for each suffix, starting a new line where the last one would pass
// kLineWidth (PyTorch's _add_suffixes, which counts a line as two columns longer than it is).
void add_suffixes(std::string& text, const std::vector<std::string>& suffixes) {
  const size_t newline = text.rfind('\n');
  const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
  auto line = static_cast<int64_t>(text.size() - line_start) + 2;
  for (const std::string& suffix : suffixes) {
    const auto length = static_cast<int64_t>(suffix.size());
    if (line + length + 2 > kLineWidth) {
      text += ",\n" + std::string(kPrefixWidth, ' ') + suffix;
      line = static_cast<int64_t>(kPrefixWidth) + length;
    } else {
      text += ", " + suffix;
      line += length + 2;
    }
  }
}

// "tensor(" and the elements of `host`, a cpu tensor, read as T.
template <typename T>
std::string contents(const Tensor& host) {
  const Tensor flat = host.to(dtype_of<T>).contiguous();
  const T* data = flat.data_ptr<T>();
  const std::vector<T> values(data, data + flat.numel());
  const Printer<T> printer{values, host.sizes(), host.numel() > kSummarizeAbove};
  std::vector<T> shown_values;
  if (host.dim() == 0) {
    shown_values = values;
  } else if (host.numel() > 0) {
    printer.collect(shown_values, 0, 0);
  }
  const Formatter<T> formatter(shown_values, host.dtype());

  std::string text = "tensor(";
  if (host.numel() == 0) {
    text += "[]";
  } else if (host.dim() == 0) {
    text += formatter.format(values[0]);
  } else {
    printer.block(text, formatter, 0, 0, kPrefixWidth);
  }
  return text;
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  std::string text;
  {
    NoGradGuard no_grad;
    const Tensor host = t.detach().cpu();
    text = t.dtype() == kInt64 ? contents<int64_t>(host) : contents<double>(host);
  }

  std::vector<std::string> suffixes;
  if (!t.device().is_cpu()) suffixes.push_back("device='" + t.device().str() + "'");
  if (t.numel() == 0 && t.dim() != 1) {
    std::string size = "size=(";
    for (int64_t d = 0; d < t.dim(); ++d) size += (d ? ", " : "") + std::to_string(t.size(d));
    suffixes.push_back(size + ")");
  }
  // The elements show int64 and bool for what they are; an empty tensor shows nothing, so there
  // only the default dtype goes unsaid.
  if (t.numel() == 0 ? t.dtype() != kDefaultDtype : t.dtype() == kFloat64) {
    suffixes.push_back(detail::concat("dtype=", t.dtype()));
  }
  if (t.grad_fn()) {
    suffixes.push_back(detail::concat("grad_fn=<", t.grad_fn()->name(), ">"));
  } else if (t.requires_grad()) {
    suffixes.push_back("requires_grad=True");
  }
  add_suffixes(text, suffixes);
  return out << text << ")";
}

}  // namespace bg
