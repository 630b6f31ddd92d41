// A line plot as a standalone SVG file, for curves the CLI writes (rtml demo).
#pragma once

#include <string>
#include <vector>

namespace rtml::cli {

struct PlotSeries {
  std::string name;
  std::string colour;  // any SVG colour, e.g. "#1f77b4"
  std::vector<double> y;
};

struct LinePlot {
  std::string title;
  std::string x_label, y_label;
  std::vector<double> x;  // shared by every series
  std::vector<PlotSeries> series;
  double marker_x = -1;  // a dashed vertical line there (if within x's range)
  std::string marker_label;
};

// Writes plot to path (atomically). Throws Error naming the path if it cannot.
void write_svg(const LinePlot& plot, const std::string& path);

}  // namespace rtml::cli
