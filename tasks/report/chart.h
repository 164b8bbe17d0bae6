// Inline SVG charts for the run report: no library and no network, so the report is
// one file that opens anywhere. Each series is a <g class="series"> carrying
// data-series (its name) and data-points (how many points it has), which the tests and
// the report's script read; every point has a <title> with its exact value (hover).
#pragma once
#include <string>
#include <vector>

namespace attune::report {

struct Point {
  double x, y;
};

struct Series {
  std::string name;  // e.g. "valid/loss": also the legend text
  std::vector<Point> points;
};

struct LineChart {
  std::string id;       // unique in the page; the figure's id is "chart-" + id
  std::string title;    // shown above the chart
  std::string x_label = "step";
  std::string y_label;
  std::vector<Series> series;
};

// Bars grouped along x (e.g. K of HR@K), one bar per series in each group.
struct BarChart {
  std::string id, title, x_label, y_label;
  std::vector<std::string> groups;  // x labels ("5", "10", ...)
  std::vector<Series> series;       // points[i].y is the bar of groups[i]
};

// A <figure> with the title, the SVG and an HTML legend; series without points are left out.
std::string render(const LineChart& chart);
std::string render(const BarChart& chart);

// The colour of the i-th series (a palette readable on white and by most colour-blind readers).
const char* series_colour(size_t i);

}  // namespace attune::report
