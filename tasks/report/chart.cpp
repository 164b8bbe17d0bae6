#include "tasks/report/chart.h"

#include "tasks/report/html.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace attune::report {
namespace {

// The plot area inside the SVG's viewBox; the SVG scales to the figure's width.
constexpr double kWidth = 560, kHeight = 280;
constexpr double kLeft = 72, kRight = 14, kTop = 14, kBottom = 46;
// A series with more points than this draws its line through all of them but marks
// only this many (evenly spaced), so a long run's report stays small.
constexpr size_t kMaxMarkers = 400;

struct Range {
  double lo, hi;
};

// Ticks at 1, 2 or 5 times a power of ten, about `wanted` of them over [lo, hi].
std::vector<double> nice_ticks(Range r, int wanted, double min_step = 0) {
  const double span = r.hi - r.lo;
  const double raw = std::max(min_step, span / std::max(1, wanted));
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (min_step >= 1 && m == 2.5) continue;  // whole steps
    step = m * power;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(r.lo / step - 1e-9) * step; t <= r.hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

// [lo, hi] widened to whole ticks, never empty; `step` gets the ticks' spacing.
Range padded(double lo, double hi, bool from_zero, double& step_out) {
  if (from_zero && lo > 0 && lo < 0.5 * hi) lo = 0;
  if (hi - lo <= 0) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const std::vector<double> t = nice_ticks({lo, hi}, 5);
  const double step = t.size() > 1 ? t[1] - t[0] : (hi - lo);
  step_out = step;
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step};
}

// Decimals that show every tick of spacing `step` exactly (0.25 needs 2, 5 needs 0).
int decimals_for(double step) {
  for (int d = 0; d < 12; ++d) {
    const double scaled = step * std::pow(10.0, d);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) return d;
  }
  return 12;
}

// Tick labels as short as the spacing allows: "0.25", "12k", "1.5e-4".
std::string tick_label(double v, double step, double largest) {
  if (v == 0) return "0";
  char buf[48];
  if (largest < 1e-3) {
    const int digits = std::max(0, static_cast<int>(std::floor(std::log10(largest)) - std::floor(std::log10(step))));
    std::snprintf(buf, sizeof buf, "%.*e", digits, v);
    std::string out = buf;
    const size_t e = out.find('e');  // 1.5e-04 -> 1.5e-4
    while (e != std::string::npos && e + 2 < out.size() && out[e + 2] == '0') out.erase(e + 2, 1);
    return out;
  }
  const char* suffix = "";
  double scale = 1;
  if (largest >= 1e6) {
    scale = 1e6, suffix = "M";
  } else if (largest >= 1e4) {
    scale = 1e3, suffix = "k";
  }
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals_for(step / scale), v / scale, suffix);
  return buf;
}

struct Frame {
  Range x, y;
  double y_step;
  double px(double v) const { return kLeft + (v - x.lo) / (x.hi - x.lo) * (kWidth - kLeft - kRight); }
  double py(double v) const { return kTop + (y.hi - v) / (y.hi - y.lo) * (kHeight - kTop - kBottom); }
};

std::string fmt(double v) { return number(v, 6); }

void open_figure(std::ostringstream& out, const std::string& id, const std::string& title) {
  out << "<figure class=\"chart\" id=\"chart-" << escape(id) << "\">\n<figcaption>" << escape(title)
      << "</figcaption>\n<svg viewBox=\"0 0 " << kWidth << " " << kHeight
      << "\" role=\"img\" preserveAspectRatio=\"xMidYMid meet\" aria-label=\"" << escape(title) << "\">\n";
}

// Grid lines, tick labels and axis titles; x_ticks empty: the caller labels x itself.
void axes(std::ostringstream& out, const Frame& f, const std::vector<double>& x_ticks, const std::string& x_label,
          const std::string& y_label) {
  out << "<g class=\"axes\">\n";
  // The same spacing padded() widened the range to, so the ends carry labels.
  std::vector<double> y_ticks;
  const double y_step = f.y_step;
  for (double t = f.y.lo; t <= f.y.hi + y_step * 1e-6; t += y_step) y_ticks.push_back(std::abs(t) < y_step * 1e-9 ? 0.0 : t);
  const double y_largest = std::max(std::abs(f.y.lo), std::abs(f.y.hi));
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  const double x_largest = std::max(std::abs(f.x.lo), std::abs(f.x.hi));
  for (double t : y_ticks) {
    if (t < f.y.lo - 1e-12 || t > f.y.hi + 1e-12) continue;
    out << "<line class=\"grid\" x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\"" << fmt(f.py(t))
        << "\" y2=\"" << fmt(f.py(t)) << "\"/>"
        << "<text class=\"tick\" x=\"" << kLeft - 6 << "\" y=\"" << fmt(f.py(t) + 4) << "\" text-anchor=\"end\">"
        << tick_label(t, y_step, y_largest) << "</text>\n";
  }
  for (double t : x_ticks) {
    out << "<line class=\"tickmark\" x1=\"" << fmt(f.px(t)) << "\" x2=\"" << fmt(f.px(t)) << "\" y1=\""
        << kHeight - kBottom << "\" y2=\"" << kHeight - kBottom + 5 << "\"/>"
        << "<text class=\"tick\" x=\"" << fmt(f.px(t)) << "\" y=\"" << kHeight - kBottom + 18
        << "\" text-anchor=\"middle\">" << tick_label(t, x_step, x_largest) << "</text>\n";
  }
  out << "<line class=\"axis\" x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\"" << kHeight - kBottom
      << "\" y2=\"" << kHeight - kBottom << "\"/>"
      << "<line class=\"axis\" x1=\"" << kLeft << "\" x2=\"" << kLeft << "\" y1=\"" << kTop << "\" y2=\""
      << kHeight - kBottom << "\"/>\n"
      << "<text class=\"axis-label\" x=\"" << fmt((kLeft + kWidth - kRight) / 2) << "\" y=\"" << kHeight - 8
      << "\" text-anchor=\"middle\">" << escape(x_label) << "</text>\n"
      << "<text class=\"axis-label\" transform=\"translate(11 " << fmt((kTop + kHeight - kBottom) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">" << escape(y_label) << "</text>\n</g>\n";
}

void legend(std::ostringstream& out, const std::vector<const Series*>& shown) {
  out << "<ul class=\"legend\">";
  for (size_t i = 0; i < shown.size(); ++i) {
    out << "<li data-series=\"" << escape(shown[i]->name) << "\" title=\"click to hide or show\"><span class=\"swatch\" style=\"background:"
        << series_colour(i) << "\"></span>" << escape(shown[i]->name) << "</li>";
  }
  out << "</ul>\n";
}

std::vector<const Series*> non_empty(const std::vector<Series>& series) {
  std::vector<const Series*> out;
  for (const Series& s : series) {
    if (!s.points.empty()) out.push_back(&s);
  }
  return out;
}

}  // namespace

const char* series_colour(size_t i) {
  // Okabe-Ito, reordered so the first two (train, valid) contrast most.
  static const char* palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f7f7f", "#000000"};
  return palette[i % 8];
}

std::string render(const LineChart& chart) {
  const std::vector<const Series*> shown = non_empty(chart.series);
  std::ostringstream out;
  if (shown.empty()) return "";
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series* s : shown) {
    for (const Point& p : s->points) {
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      if (std::isfinite(p.y)) y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
    }
  }
  if (!std::isfinite(y_lo)) y_lo = 0, y_hi = 1;
  if (x_hi - x_lo <= 0) x_lo -= 1, x_hi += 1;
  if (x_hi - x_lo < 4) x_lo = std::floor(x_lo), x_hi = std::ceil(x_hi);
  double y_step = 1;
  const Range y = padded(y_lo, y_hi, false, y_step);
  Frame f{{x_lo, x_hi}, y, y_step};
  open_figure(out, chart.id, chart.title);
  std::vector<double> x_ticks;
  for (double t : nice_ticks(f.x, 6, 1.0)) {  // steps are whole numbers
    if (t >= f.x.lo - 1e-9 && t <= f.x.hi + 1e-9) x_ticks.push_back(t);
  }
  axes(out, f, x_ticks, chart.x_label, chart.y_label);
  for (size_t i = 0; i < shown.size(); ++i) {
    const Series& s = *shown[i];
    out << "<g class=\"series\" data-series=\"" << escape(s.name) << "\" data-points=\"" << s.points.size()
        << "\" style=\"color:" << series_colour(i) << "\">\n<polyline points=\"";
    for (const Point& p : s.points) {
      if (std::isfinite(p.y)) out << fmt(f.px(p.x)) << "," << fmt(f.py(p.y)) << " ";
    }
    out << "\"/>\n";
    const size_t every = (s.points.size() + kMaxMarkers - 1) / kMaxMarkers;
    for (size_t k = 0; k < s.points.size(); k += every) {
      const Point& p = s.points[k];
      if (!std::isfinite(p.y)) continue;
      out << "<circle cx=\"" << fmt(f.px(p.x)) << "\" cy=\"" << fmt(f.py(p.y)) << "\" r=\""
          << (s.points.size() > 60 ? 1.6 : 3) << "\"><title>" << escape(s.name) << ", " << escape(chart.x_label) << " "
          << number(p.x, 10) << ": " << number(p.y, 8) << "</title></circle>";
    }
    out << "\n</g>\n";
  }
  out << "</svg>\n";
  legend(out, shown);
  out << "</figure>\n";
  return out.str();
}

std::string render(const BarChart& chart) {
  const std::vector<const Series*> shown = non_empty(chart.series);
  if (shown.empty() || chart.groups.empty()) return "";
  double y_hi = 0;
  for (const Series* s : shown) {
    for (const Point& p : s->points) y_hi = std::max(y_hi, p.y);
  }
  std::ostringstream out;
  const double groups = static_cast<double>(chart.groups.size());
  double y_step = 1;
  const Range y = padded(0, y_hi > 0 ? y_hi : 1, true, y_step);
  Frame f{{0, groups}, y, y_step};
  open_figure(out, chart.id, chart.title);
  axes(out, f, {}, chart.x_label, chart.y_label);
  const double slot = (f.px(1) - f.px(0));
  const double bar = slot * 0.7 / static_cast<double>(shown.size());
  for (size_t g = 0; g < chart.groups.size(); ++g) {
    out << "<text class=\"tick\" x=\"" << fmt(f.px(g + 0.5)) << "\" y=\"" << kHeight - kBottom + 18
        << "\" text-anchor=\"middle\">" << escape(chart.groups[g]) << "</text>\n";
  }
  for (size_t i = 0; i < shown.size(); ++i) {
    const Series& s = *shown[i];
    out << "<g class=\"series bars\" data-series=\"" << escape(s.name) << "\" data-points=\"" << s.points.size()
        << "\" style=\"color:" << series_colour(i) << "\">\n";
    for (size_t g = 0; g < s.points.size() && g < chart.groups.size(); ++g) {
      const double v = s.points[g].y;
      const double x = f.px(static_cast<double>(g)) + slot * 0.15 + bar * static_cast<double>(i);
      out << "<rect x=\"" << fmt(x) << "\" y=\"" << fmt(f.py(v)) << "\" width=\"" << fmt(bar * 0.92)
          << "\" height=\"" << fmt(f.py(0) - f.py(v)) << "\"><title>" << escape(s.name) << " @" << escape(chart.groups[g])
          << ": " << number(v, 8) << "</title></rect>"
          << "<text class=\"bar-value\" x=\"" << fmt(x + bar * 0.46) << "\" y=\"" << fmt(f.py(v) - 4)
          << "\" text-anchor=\"middle\">" << number(v, 3) << "</text>\n";
    }
    out << "</g>\n";
  }
  out << "</svg>\n";
  legend(out, shown);
  out << "</figure>\n";
  return out.str();
}

}  // namespace attune::report
