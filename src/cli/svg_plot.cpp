#include "svg_plot.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "rtml/core/file_io.h"

namespace rtml::cli {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" tick step for a range: 1, 2 or 5 times a power of ten, about n ticks.
double tick_step(double range, int n) {
  if (!(range > 0)) return 1;
  double raw = range / n;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

}  // namespace

void write_svg(const LinePlot& p, const std::string& path) {
  const double width = 760, height = 420, left = 70, right = 170, top = 40, bottom = 55;
  const double pw = width - left - right, ph = height - top - bottom;
  double x0 = p.x.empty() ? 0 : p.x.front(), x1 = p.x.empty() ? 1 : p.x.back();
  if (!(x1 > x0)) x1 = x0 + 1;
  double y1 = 0;
  for (const auto& s : p.series) {
    for (double v : s.y) {
      if (std::isfinite(v)) y1 = std::max(y1, v);
    }
  }
  const double ystep = tick_step(y1 > 0 ? y1 : 1, 5);
  y1 = std::ceil((y1 > 0 ? y1 : 1) / ystep) * ystep;
  auto X = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto Y = [&](double y) { return top + ph - y / y1 * ph; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{3}</text>\n",
      width, height, left, escape(p.title));
  // Grid and ticks.
  for (double y = 0; y <= y1 + ystep / 2; y += ystep) {
    svg += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#e5e5e5\"/>\n"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
        left, left + pw, Y(y), left - 6, Y(y) + 4, std::round(y * 1e6) / 1e6);
  }
  const double xstep = tick_step(x1 - x0, 6);
  for (double x = std::ceil(x0 / xstep) * xstep; x <= x1; x += xstep) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e5e5e5\"/>\n"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:g}</text>\n",
        X(x), top, top + ph, top + ph + 16, std::round(x * 1e6) / 1e6);
  }
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      left, top, pw, ph, left + pw / 2, height - 14, escape(p.x_label), top + ph / 2,
      escape(p.y_label));
  if (p.marker_x >= x0 && p.marker_x <= x1) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#444\" "
        "stroke-dasharray=\"5,4\"/>\n<text x=\"{3:.1f}\" y=\"{4}\">{5}</text>\n",
        X(p.marker_x), top, top + ph, X(p.marker_x) + 4, top + 14, escape(p.marker_label));
  }
  // The curves, the first series drawn last so that it stays on top where curves meet;
  // then the legend, in order.
  for (size_t i = p.series.size(); i-- > 0;) {
    const auto& s = p.series[i];
    std::string points;
    for (size_t j = 0; j < s.y.size() && j < p.x.size(); ++j) {
      if (!std::isfinite(s.y[j])) continue;
      points += fmt::format("{:.1f},{:.1f} ", X(p.x[j]), Y(s.y[j]));
    }
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                       s.colour, points);
  }
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    svg += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"/>\n"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        left + pw + 12, left + pw + 34, top + 20 + 22 * i, top + 20 + 22 * i, s.colour,
        left + pw + 40, top + 24 + 22 * i, escape(s.name));
  }
  svg += "</svg>\n";
  write_file_atomically(path, svg);
}

}  // namespace rtml::cli
