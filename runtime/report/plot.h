// Line plots written as PNG (OpenCV drawing): several series, axes with ticks, labels, a legend.
// Used for certified accuracy against radius and for accuracy against eps.
#pragma once

#include <string>
#include <vector>

namespace perturb {

struct PlotSeries {
  std::string label;      // legend entry; an empty label leaves the series out of the legend
  std::vector<double> x;  // same length as y; drawn in this order
  std::vector<double> y;
  bool step = false;     // a step function (holds y until the next x), as certified accuracy is
  bool markers = false;  // a small circle at each point
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 800;  // pixels
  int height = 560;
  // Axis limits; when lo >= hi the limit comes from the data (with a little margin for y).
  double x_min = 0, x_max = 0;
  double y_min = 0, y_max = 0;
};

// Draws the series on one set of axes and writes a PNG to `path` atomically (write_atomic).
// Throws Error when there is no series, a series has x and y of different lengths, or a value is
// not finite; IoError naming the path when it cannot be written.
void write_line_plot(const std::string& path, const std::vector<PlotSeries>& series,
                     const PlotOptions& options);

// "Nice" tick positions (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi], about `count`.
std::vector<double> nice_ticks(double lo, double hi, int count = 6);

}  // namespace perturb
