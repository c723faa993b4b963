#include "runtime/report/image_grid.h"

#include <algorithm>
#include <cmath>

#if PERTURB_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/opencv_required.h"

namespace perturb {
namespace {

#if PERTURB_HAVE_OPENCV
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kFontScale = 0.45;
constexpr int kTextPad = 6;
constexpr double kCaptionScale = 0.35;  // captions sit under 64-pixel cells: smaller than labels
constexpr int kCaptionGap = 3;          // pixels between caption lines, and around them
#endif

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

#if PERTURB_HAVE_OPENCV
// [N, C, H, W] float on the CPU in [0, 1], or an Error naming the row.
torch::Tensor as_batch(const GridRow& row, size_t index) {
  torch::Tensor t = row.images;
  const std::string which =
      row.label.empty() ? "row " + std::to_string(index) : "row '" + row.label + "'";
  if (!t.defined()) throw Error("image grid: " + which + " has no images");
  if (t.dim() == 3) t = t.unsqueeze(0);
  if (t.dim() != 4 || (t.size(1) != 1 && t.size(1) != 3)) {
    throw Error("image grid: " + which +
                " must be images [N, C, H, W] with 1 or 3 channels, got shape " + shape_text(t));
  }
  return t.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1).contiguous();
}

// One image [C, H, W] as an 8-bit BGR cv::Mat, each pixel scale×scale.
cv::Mat to_mat(const torch::Tensor& image, int64_t scale) {
  torch::Tensor hwc = (image * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1));
  cv::Mat mat(h, w, hwc.size(2) == 1 ? CV_8UC1 : CV_8UC3, hwc.data_ptr<uint8_t>());
  cv::Mat bgr;
  if (hwc.size(2) == 1) {
    cv::cvtColor(mat, bgr, cv::COLOR_GRAY2BGR);
  } else {
    cv::cvtColor(mat, bgr, cv::COLOR_RGB2BGR);
  }
  cv::Mat scaled;
  cv::resize(bgr, scaled, cv::Size(w * static_cast<int>(scale), h * static_cast<int>(scale)), 0, 0,
             cv::INTER_NEAREST);
  return scaled;
}

std::vector<std::string> caption_lines(const std::string& caption) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = caption.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(caption.substr(start, end - start));
  }
  lines.push_back(caption.substr(start));
  return lines;
}

// The space every caption needs: the widest line and the most lines, and one line's height.
struct CaptionBox {
  int width = 0, lines = 0, line_height = 0;
  int height() const { return lines == 0 ? 0 : lines * (line_height + kCaptionGap) + kCaptionGap; }
};

CaptionBox caption_box(const std::vector<GridRow>& rows) {
  CaptionBox box;
  int baseline = 0;
  for (const auto& row : rows) {
    for (const auto& caption : row.captions) {
      const auto lines = caption_lines(caption);
      box.lines = std::max(box.lines, static_cast<int>(lines.size()));
      for (const auto& line : lines) {
        cv::Size size = cv::getTextSize(line, kFont, kCaptionScale, 1, &baseline);
        box.width = std::max(box.width, size.width + 2 * kCaptionGap);
        box.line_height = std::max(box.line_height, size.height + baseline);
      }
    }
  }
  return box;
}

void draw_caption(cv::Mat& canvas, const std::string& caption, int left, int top,
                  const CaptionBox& box) {
  int y = top + kCaptionGap;
  for (const auto& line : caption_lines(caption)) {
    y += box.line_height;
    cv::putText(canvas, line, cv::Point(left + kCaptionGap, y - kCaptionGap), kFont, kCaptionScale,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    y += kCaptionGap;
  }
}

#endif  // PERTURB_HAVE_OPENCV

}  // namespace

std::vector<unsigned char> encode_image_grid(const std::vector<GridRow>& rows,
                                             const ImageGridOptions& options) {
#if !PERTURB_HAVE_OPENCV
  (void)rows;
  (void)options;
  throw_without_opencv("drawing image grids");
#else
  if (rows.empty()) throw Error("image grid: nothing to draw (no rows)");
  std::vector<torch::Tensor> batches;
  int64_t height = -1, width = -1, most = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    torch::Tensor b = as_batch(rows[i], i);
    if (height < 0) {
      height = b.size(2);
      width = b.size(3);
    } else if (b.size(2) != height || b.size(3) != width) {
      throw Error("image grid: all rows need images of one size, got " + std::to_string(height) +
                  "x" + std::to_string(width) + " and " + std::to_string(b.size(2)) + "x" +
                  std::to_string(b.size(3)));
    }
    most = std::max(most, b.size(0));
    batches.push_back(b);
  }
  if (most == 0) throw Error("image grid: nothing to draw (every row is empty)");
  if (options.scale < 0 || options.padding < 0) {
    throw Error("image grid: scale and padding must be at least 0");
  }
  const int64_t scale =
      options.scale > 0
          ? options.scale
          : std::max<int64_t>(1, (64 + std::max(height, width) - 1) / std::max(height, width));
  const int pad = static_cast<int>(options.padding);
  const int cell_h = static_cast<int>(height * scale), cell_w = static_cast<int>(width * scale);

  int label_w = 0, baseline = 0;
  for (const auto& row : rows) {
    if (row.label.empty()) continue;
    cv::Size size = cv::getTextSize(row.label, kFont, kFontScale, 1, &baseline);
    label_w = std::max(label_w, size.width + 2 * kTextPad);
  }
  int title_h = 0;
  if (!options.title.empty()) {
    title_h =
        cv::getTextSize(options.title, kFont, kFontScale * 1.2, 1, &baseline).height + 2 * kTextPad;
  }
  const CaptionBox captions = caption_box(rows);
  const int column_w = std::max(cell_w, captions.width);
  const int row_h = cell_h + captions.height();
  const int n_rows = static_cast<int>(rows.size());
  const int total_w = label_w + pad + static_cast<int>(most) * (column_w + pad);
  const int total_h = title_h + pad + n_rows * (row_h + pad);
  cv::Mat canvas(total_h, total_w, CV_8UC3, cv::Scalar(255, 255, 255));
  if (title_h > 0) {
    cv::putText(canvas, options.title, cv::Point(kTextPad, title_h - kTextPad), kFont,
                kFontScale * 1.2, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  for (int r = 0; r < n_rows; ++r) {
    const int top = title_h + pad + r * (row_h + pad);
    if (!rows[r].label.empty()) {
      cv::Size size = cv::getTextSize(rows[r].label, kFont, kFontScale, 1, &baseline);
      cv::putText(canvas, rows[r].label, cv::Point(kTextPad, top + cell_h / 2 + size.height / 2),
                  kFont, kFontScale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
    for (int64_t c = 0; c < batches[r].size(0); ++c) {
      const int left = label_w + pad + static_cast<int>(c) * (column_w + pad);
      const int image_left = left + (column_w - cell_w) / 2;
      to_mat(batches[r][c], scale).copyTo(canvas(cv::Rect(image_left, top, cell_w, cell_h)));
      if (c < static_cast<int64_t>(rows[r].captions.size())) {
        draw_caption(canvas, rows[r].captions[c], left, top + cell_h, captions);
      }
    }
  }
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", canvas, png)) throw Error("image grid: PNG encoding failed");
  return png;
#endif
}

void save_image_grid(const std::string& path, const std::vector<GridRow>& rows,
                     const ImageGridOptions& options) {
  std::vector<unsigned char> png = encode_image_grid(rows, options);
  write_file_atomic(path, std::string(png.begin(), png.end()));
}

void save_image_grid(const std::string& path, const torch::Tensor& batch,
                     const ImageGridOptions& options) {
  torch::Tensor b = batch.defined() && batch.dim() == 3 ? batch.unsqueeze(0) : batch;
  if (!b.defined() || b.dim() != 4) {
    throw Error("image grid: expected images [N, C, H, W], got shape " +
                (b.defined() ? shape_text(b) : std::string("(none)")));
  }
  const int64_t n = b.size(0);
  int64_t columns = options.columns > 0
                        ? options.columns
                        : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::sqrt(n))));
  std::vector<GridRow> rows;
  for (int64_t start = 0; start < n; start += columns) {
    rows.push_back({"", b.slice(0, start, std::min(n, start + columns))});
  }
  if (rows.empty()) throw Error("image grid: nothing to draw (the batch is empty)");
  save_image_grid(path, rows, options);
}

}  // namespace perturb
