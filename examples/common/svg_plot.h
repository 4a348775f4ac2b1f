#pragma once
// A small SVG plotter for the examples: lines, shaded bands and points on one pair of axes.
// The file opens in any browser; no plotting library needed.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace examples {

class SvgPlot {
 public:
  SvgPlot(std::string title, double x_min, double x_max, double y_min, double y_max)
      : title_(std::move(title)), x_min_(x_min), x_max_(x_max), y_min_(y_min), y_max_(y_max) {}

  /// The names written under the x axis and beside the y axis (default "x" and none).
  void axis_labels(std::string x_label, std::string y_label) {
    x_label_ = std::move(x_label);
    y_label_ = std::move(y_label);
  }

  /// The area between `lower` and `upper` over `x` (e.g. mean +- 2 std).
  void band(const std::vector<double>& x, const std::vector<double>& lower,
            const std::vector<double>& upper, const std::string& color, const std::string& label) {
    std::ostringstream path;
    for (size_t i = 0; i < x.size(); ++i)
      path << (i ? " L" : "M") << px(x[i]) << "," << py(upper[i]);
    for (size_t i = x.size(); i-- > 0;) path << " L" << px(x[i]) << "," << py(lower[i]);
    body_ << "<path d=\"" << path.str() << " Z\" fill=\"" << color << "\" stroke=\"none\"/>\n";
    legend_.push_back({label, color, "band"});
  }

  void line(const std::vector<double>& x, const std::vector<double>& y, const std::string& color,
            const std::string& label) {
    std::ostringstream points;
    for (size_t i = 0; i < x.size(); ++i) points << px(x[i]) << "," << py(y[i]) << " ";
    body_ << "<polyline points=\"" << points.str() << "\" fill=\"none\" stroke=\"" << color
          << "\" stroke-width=\"2\"/>\n";
    legend_.push_back({label, color, "line"});
  }

  void points(const std::vector<double>& x, const std::vector<double>& y, const std::string& color,
              const std::string& label) {
    for (size_t i = 0; i < x.size(); ++i) {
      body_ << "<circle cx=\"" << px(x[i]) << "\" cy=\"" << py(y[i]) << "\" r=\"2.5\" fill=\""
            << color << "\"/>\n";
    }
    legend_.push_back({label, color, "points"});
  }

  /// Writes the SVG file; returns false if it cannot be written.
  bool save(const std::string& path) const {
    std::ofstream out(path);
    if (!out) return false;
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
        << kHeight << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << kWidth / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
        << title_ << "</text>\n"
        << "<clipPath id=\"plot\"><rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\""
        << plot_width() << "\" height=\"" << plot_height() << "\"/></clipPath>\n"
        << "<g clip-path=\"url(#plot)\">\n"
        << body_.str() << "</g>\n"
        << axes() << legend() << "</svg>\n";
    return static_cast<bool>(out);
  }

 private:
  static constexpr int kWidth = 800, kHeight = 500, kLeft = 60, kRight = 20, kTop = 40,
                       kBottom = 50;
  struct Entry {
    std::string label, color, kind;
  };

  double plot_width() const { return kWidth - kLeft - kRight; }
  double plot_height() const { return kHeight - kTop - kBottom; }
  double px(double x) const { return kLeft + (x - x_min_) / (x_max_ - x_min_) * plot_width(); }
  double py(double y) const { return kTop + (y_max_ - y) / (y_max_ - y_min_) * plot_height(); }

  std::string axes() const {
    std::ostringstream out;
    out << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_width()
        << "\" height=\"" << plot_height() << "\" fill=\"none\" stroke=\"black\"/>\n";
    // Labelled ticks at multiples of a round step: about 5 to 10 along each axis.
    const double x_step = tick_step(x_max_ - x_min_), y_step = tick_step(y_max_ - y_min_);
    for (double x = std::ceil(x_min_ / x_step) * x_step; x <= x_max_; x += x_step) {
      out << "<line x1=\"" << px(x) << "\" y1=\"" << kTop + plot_height() << "\" x2=\"" << px(x)
          << "\" y2=\"" << kTop + plot_height() + 5 << "\" stroke=\"black\"/>"
          << "<text x=\"" << px(x) << "\" y=\"" << kTop + plot_height() + 18
          << "\" text-anchor=\"middle\">" << x << "</text>\n";
    }
    for (double y = std::ceil(y_min_ / y_step) * y_step; y <= y_max_; y += y_step) {
      out << "<line x1=\"" << kLeft - 5 << "\" y1=\"" << py(y) << "\" x2=\"" << kLeft << "\" y2=\""
          << py(y) << "\" stroke=\"black\"/>"
          << "<text x=\"" << kLeft - 8 << "\" y=\"" << py(y) + 4 << "\" text-anchor=\"end\">" << y
          << "</text>\n";
    }
    out << "<text x=\"" << kLeft + plot_width() / 2 << "\" y=\"" << kHeight - 12
        << "\" text-anchor=\"middle\">" << x_label_ << "</text>\n";
    if (!y_label_.empty()) {
      out << "<text transform=\"translate(16," << kTop + plot_height() / 2
          << ") rotate(-90)\" text-anchor=\"middle\">" << y_label_ << "</text>\n";
    }
    return out.str();
  }

  // 1, 2 or 5 times a power of ten, so that `range` holds 5 to 10 steps.
  static double tick_step(double range) {
    const double power = std::pow(10.0, std::floor(std::log10(range / 5.0)));
    for (double factor : {1.0, 2.0, 5.0}) {
      if (range / (factor * power) <= 10.0) return factor * power;
    }
    return 10.0 * power;
  }

  std::string legend() const {
    std::ostringstream out;
    double y = kTop + 18;
    for (const Entry& e : legend_) {
      const double x = kLeft + 12;
      if (e.kind == "band") {
        out << "<rect x=\"" << x << "\" y=\"" << y - 9 << "\" width=\"22\" height=\"12\" fill=\""
            << e.color << "\"/>";
      } else if (e.kind == "line") {
        out << "<line x1=\"" << x << "\" y1=\"" << y - 3 << "\" x2=\"" << x + 22 << "\" y2=\""
            << y - 3 << "\" stroke=\"" << e.color << "\" stroke-width=\"2\"/>";
      } else {
        out << "<circle cx=\"" << x + 11 << "\" cy=\"" << y - 3 << "\" r=\"3\" fill=\"" << e.color
            << "\"/>";
      }
      out << "<text x=\"" << x + 30 << "\" y=\"" << y + 1 << "\">" << e.label << "</text>\n";
      y += 18;
    }
    return out.str();
  }

  std::string title_;
  double x_min_, x_max_, y_min_, y_max_;
  std::string x_label_ = "x", y_label_;
  std::ostringstream body_;
  std::vector<Entry> legend_;
};

}  // namespace examples
