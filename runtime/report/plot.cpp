#include "runtime/report/plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#if PERTURB_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/opencv_required.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

#if PERTURB_HAVE_OPENCV
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kTickFontScale = 0.45;
constexpr double kLabelFontScale = 0.55;
constexpr double kTitleFontScale = 0.65;

// Tableau-like colours in BGR, distinct for the first ten series.
const std::vector<cv::Scalar>& palette() {
  static const std::vector<cv::Scalar> colors = {
      {180, 119, 31}, {14, 127, 255},  {44, 160, 44},   {40, 39, 214},  {189, 103, 148},
      {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};
  return colors;
}

cv::Size text_size(const std::string& text, double scale, int thickness = 1) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, thickness, &baseline);
}

void put_text(cv::Mat& img, const std::string& text, cv::Point origin, double scale,
              int thickness = 1) {
  cv::putText(img, text, origin, kFont, scale, cv::Scalar(30, 30, 30), thickness, cv::LINE_AA);
}

// Limits from the data when the user gave none (lo >= hi).
std::pair<double, double> data_range(const std::vector<PlotSeries>& series, bool use_x) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (const auto& s : series) {
    for (double v : use_x ? s.x : s.y) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo < 1e-12) {
    const double pad = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1;
    return {lo - pad, hi + pad};
  }
  return {lo, hi};
}

std::string tick_text(double v, double step) {
  // Round away float noise relative to the step (0.30000000000000004 → 0.3).
  if (std::abs(v) < step * 1e-9) v = 0;
  return format_number(v);
}

#endif  // PERTURB_HAVE_OPENCV

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo) || count < 1) return {lo};
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0; first + i * step <= hi + step * 1e-9; ++i) ticks.push_back(first + i * step);
  return ticks;
}

void write_line_plot(const std::string& path, const std::vector<PlotSeries>& series,
                     const PlotOptions& options) {
#if !PERTURB_HAVE_OPENCV
  (void)series;
  (void)options;
  throw_without_opencv("writing the plot " + path);
#else
  if (series.empty()) throw Error("a plot needs at least one series");
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw Error("plot series '" + s.label + "' has " + std::to_string(s.x.size()) +
                  " x values but " + std::to_string(s.y.size()) + " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]))
        throw Error("plot series '" + s.label + "' has a value that is not finite");
    }
  }
  if (options.width < 200 || options.height < 150)
    throw Error("a plot needs at least 200×150 pixels");

  // Plain doubles, not structured bindings: C++17 lambdas cannot capture those (clang).
  const auto x_range = options.x_min < options.x_max
                           ? std::pair<double, double>{options.x_min, options.x_max}
                           : data_range(series, true);
  const auto y_range = options.y_min < options.y_max
                           ? std::pair<double, double>{options.y_min, options.y_max}
                           : data_range(series, false);
  const double x_lo = x_range.first, x_hi = x_range.second;
  double y_lo = y_range.first, y_hi = y_range.second;
  if (!(options.y_min < options.y_max)) {
    const double pad = (y_hi - y_lo) * 0.05;
    y_lo -= pad;
    y_hi += pad;
  }
  const std::vector<double> x_ticks = nice_ticks(x_lo, x_hi);
  const std::vector<double> y_ticks = nice_ticks(y_lo, y_hi);
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;

  // Margins: room for tick labels and axis labels on the left and bottom, the title on top.
  int y_tick_width = 0;
  for (double t : y_ticks)
    y_tick_width = std::max(y_tick_width, text_size(tick_text(t, y_step), kTickFontScale).width);
  const int left = 20 + y_tick_width + (options.y_label.empty() ? 0 : 28);
  const int right = 25;
  const int top = options.title.empty() ? 20 : 45;
  const int bottom = 40 + (options.x_label.empty() ? 0 : 26);
  const int plot_w = options.width - left - right;
  const int plot_h = options.height - top - bottom;
  if (plot_w < 50 || plot_h < 50) throw Error("the plot is too small for its labels");

  auto px = [&](double x) {
    return left + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * plot_w));
  };
  auto py = [&](double y) {
    return top + plot_h - static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * plot_h));
  };

  cv::Mat img(options.height, options.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Scalar grid(225, 225, 225), axis(60, 60, 60);

  // Grid and ticks.
  for (double t : x_ticks) {
    const int x = px(t);
    cv::line(img, {x, top}, {x, top + plot_h}, grid, 1);
    cv::line(img, {x, top + plot_h}, {x, top + plot_h + 5}, axis, 1);
    const std::string text = tick_text(t, x_step);
    const cv::Size size = text_size(text, kTickFontScale);
    put_text(img, text, {x - size.width / 2, top + plot_h + 8 + size.height}, kTickFontScale);
  }
  for (double t : y_ticks) {
    const int y = py(t);
    cv::line(img, {left, y}, {left + plot_w, y}, grid, 1);
    cv::line(img, {left - 5, y}, {left, y}, axis, 1);
    const std::string text = tick_text(t, y_step);
    const cv::Size size = text_size(text, kTickFontScale);
    put_text(img, text, {left - 8 - size.width, y + size.height / 2}, kTickFontScale);
  }
  cv::rectangle(img, {left, top}, {left + plot_w, top + plot_h}, axis, 1);

  // Labels and title.
  if (!options.x_label.empty()) {
    const cv::Size size = text_size(options.x_label, kLabelFontScale);
    put_text(img, options.x_label, {left + (plot_w - size.width) / 2, options.height - 12},
             kLabelFontScale);
  }
  if (!options.y_label.empty()) {
    // Drawn horizontally on a strip, then rotated a quarter turn to read bottom to top.
    const cv::Size size = text_size(options.y_label, kLabelFontScale);
    cv::Mat strip(size.height + 10, size.width + 10, CV_8UC3, cv::Scalar(255, 255, 255));
    put_text(strip, options.y_label, {5, size.height + 3}, kLabelFontScale);
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int x0 = 4;
    const int y0 = std::max(0, top + (plot_h - rotated.rows) / 2);
    if (y0 + rotated.rows <= img.rows && x0 + rotated.cols <= img.cols)
      rotated.copyTo(img(cv::Rect(x0, y0, rotated.cols, rotated.rows)));
  }
  if (!options.title.empty()) {
    const cv::Size size = text_size(options.title, kTitleFontScale);
    put_text(img, options.title, {left + (plot_w - size.width) / 2, 28}, kTitleFontScale);
  }

  // Series, clipped to the plot area.
  cv::Mat area = img(cv::Rect(left, top, plot_w + 1, plot_h + 1));
  auto local = [&](double x, double y) { return cv::Point(px(x) - left, py(y) - top); };
  for (size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    const cv::Scalar color = palette()[i % palette().size()];
    for (size_t k = 0; k + 1 < s.x.size(); ++k) {
      if (s.step) {
        cv::line(area, local(s.x[k], s.y[k]), local(s.x[k + 1], s.y[k]), color, 2, cv::LINE_AA);
        cv::line(area, local(s.x[k + 1], s.y[k]), local(s.x[k + 1], s.y[k + 1]), color, 2,
                 cv::LINE_AA);
      } else {
        cv::line(area, local(s.x[k], s.y[k]), local(s.x[k + 1], s.y[k + 1]), color, 2, cv::LINE_AA);
      }
    }
    if (s.markers || s.x.size() == 1) {
      for (size_t k = 0; k < s.x.size(); ++k)
        cv::circle(area, local(s.x[k], s.y[k]), 4, color, cv::FILLED, cv::LINE_AA);
    }
  }

  // Legend in the top-right corner of the plot area.
  std::vector<size_t> listed;
  int legend_w = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].label.empty()) continue;
    listed.push_back(i);
    legend_w = std::max(legend_w, text_size(series[i].label, kTickFontScale).width);
  }
  if (!listed.empty()) {
    const int row = 20;
    const int box_w = legend_w + 50, box_h = static_cast<int>(listed.size()) * row + 10;
    const int bx = left + plot_w - box_w - 8, by = top + 8;
    cv::rectangle(img, {bx, by}, {bx + box_w, by + box_h}, cv::Scalar(255, 255, 255), cv::FILLED);
    cv::rectangle(img, {bx, by}, {bx + box_w, by + box_h}, cv::Scalar(180, 180, 180), 1);
    for (size_t r = 0; r < listed.size(); ++r) {
      const int y = by + 5 + static_cast<int>(r) * row + row / 2;
      const cv::Scalar color = palette()[listed[r] % palette().size()];
      cv::line(img, {bx + 8, y}, {bx + 36, y}, color, 2, cv::LINE_AA);
      put_text(img, series[listed[r]].label, {bx + 42, y + 5}, kTickFontScale);
    }
  }

  std::vector<uchar> png;
  if (!cv::imencode(".png", img, png)) throw IoError("cannot encode the plot for '" + path + "'");
  write_file_atomic(path, std::string(png.begin(), png.end()));
#endif
}

}  // namespace perturb
