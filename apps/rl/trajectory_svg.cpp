#include "apps/rl/trajectory_svg.h"

#include <fmt/format.h>

#include <algorithm>

namespace cfx::rl {

namespace {

constexpr double kPanelW = 420, kPanelH = 300, kMargin = 50;

// One line chart in the box at (left, top): the polyline of (xs, ys) with its axis ranges.
std::string panel(double left, double top, const std::vector<double>& xs, const std::vector<double>& ys,
                  const std::string& x_label, const std::string& y_label, const char* colour) {
  if (xs.empty()) return "";
  auto [x_lo, x_hi] = std::minmax_element(xs.begin(), xs.end());
  auto [y_lo, y_hi] = std::minmax_element(ys.begin(), ys.end());
  const double x0 = *x_lo, x1 = std::max(*x_hi, *x_lo + 1e-9), y0 = *y_lo, y1 = std::max(*y_hi, *y_lo + 1e-9);
  auto px = [&](double v) { return left + kMargin + (v - x0) / (x1 - x0) * (kPanelW - 1.5 * kMargin); };
  auto py = [&](double v) { return top + kPanelH - kMargin - (v - y0) / (y1 - y0) * (kPanelH - 1.5 * kMargin); };
  std::string s = fmt::format(R"svg(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)svg", left + kMargin,
                              top + kMargin / 2, kPanelW - 1.5 * kMargin, kPanelH - 1.5 * kMargin);
  s += fmt::format(R"svg(<polyline fill="none" stroke="{}" stroke-width="1.5" points=")svg", colour);
  for (size_t i = 0; i < xs.size(); ++i) s += fmt::format("{:.1f},{:.1f} ", px(xs[i]), py(ys[i]));
  s += "\"/>\n";
  s += fmt::format(R"svg(<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text>)svg", left + kPanelW / 2,
                   top + kPanelH - 12, x_label);
  s += fmt::format(R"svg(<text x="{}" y="{}" font-size="12" transform="rotate(-90 {} {})" text-anchor="middle">{}</text>)svg",
                   left + 14, top + kPanelH / 2, left + 14, top + kPanelH / 2, y_label);
  s += fmt::format(R"svg(<text x="{}" y="{}" font-size="10">{:.3g}</text><text x="{}" y="{}" font-size="10" text-anchor="end">{:.3g}</text>)svg",
                   px(x0), top + kPanelH - kMargin + 12, x0, px(x1), top + kPanelH - kMargin + 12, x1);
  s += fmt::format(R"svg(<text x="{}" y="{}" font-size="10" text-anchor="end">{:.3g}</text><text x="{}" y="{}" font-size="10" text-anchor="end">{:.3g}</text>)svg",
                   left + kMargin - 4, py(y0), y0, left + kMargin - 4, py(y1) + 8, y1);
  return s + "\n";
}

}  // namespace

std::string trajectory_svg(const TrajectoryPlot& plot) {
  std::vector<double> steps(plot.cumulative.size());
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i + 1);
  std::string s = fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">)svg",
                              2 * kPanelW, kPanelH + 30);
  s += "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += fmt::format(R"svg(<text x="{}" y="18" font-size="14" text-anchor="middle">{}</text>)svg", kPanelW, plot.title) + "\n";
  s += "<g transform=\"translate(0,24)\">\n";
  s += panel(0, 0, plot.x, plot.z, "torso x (m)", "torso z (m)", "#1f77b4");
  s += panel(kPanelW, 0, steps, plot.cumulative, "step", "return so far", "#d62728");
  return s + "</g>\n</svg>\n";
}

}  // namespace cfx::rl
