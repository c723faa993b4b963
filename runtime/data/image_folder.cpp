#include "runtime/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>
#if PERTURB_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "runtime/core/error.h"
#include "runtime/core/opencv_required.h"

namespace perturb {
namespace fs = std::filesystem;
namespace {

// torchvision's IMG_EXTENSIONS that OpenCV decodes.
bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known :
       {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}) {
    if (ext == known) return true;
  }
  return false;
}

struct Listing {
  std::vector<std::string> classes;
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
};

Listing list_folder(const fs::path& root) {
  if (!fs::is_directory(root)) {
    throw IoError("image_folder: '" + root.string() + "' is not a folder");
  }
  Listing listing;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) listing.classes.push_back(entry.path().filename().string());
  }
  std::sort(listing.classes.begin(), listing.classes.end());
  if (listing.classes.empty()) {
    throw IoError("image_folder: '" + root.string() +
                  "' has no class folders; it needs one sub-folder of images per class");
  }
  for (size_t label = 0; label < listing.classes.size(); ++label) {
    std::vector<std::string> files;
    const auto options = fs::directory_options::follow_directory_symlink;
    for (const auto& entry :
         fs::recursive_directory_iterator(root / listing.classes[label], options)) {
      if (entry.is_regular_file() && is_image_file(entry.path())) {
        files.push_back(entry.path().string());
      }
    }
    if (files.empty()) {
      throw IoError("image_folder: class folder '" + (root / listing.classes[label]).string() +
                    "' holds no JPEG, PNG, BMP, WebP, TIFF or PPM images");
    }
    std::sort(files.begin(), files.end());
    listing.paths.insert(listing.paths.end(), files.begin(), files.end());
    listing.labels.insert(listing.labels.end(), files.size(), static_cast<int64_t>(label));
  }
  return listing;
}

// A JPEG cut short: libjpeg decodes what is there and greys the rest with only a warning, where
// PIL (torchvision's loader) raises "image file is truncated". The end-of-image marker FF D9 must
// be in the last kilobyte (an EXIF thumbnail's own marker sits near the start).
#if PERTURB_HAVE_OPENCV
bool truncated_jpeg(const std::vector<char>& bytes) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.size() < 4 || byte(0) != 0xFF || byte(1) != 0xD8) return false;
  const size_t from = bytes.size() > 1024 ? bytes.size() - 1024 : 2;
  for (size_t i = bytes.size() - 1; i > from; --i) {
    if (byte(i - 1) == 0xFF && byte(i) == 0xD9) return false;
  }
  return true;
}

// The file's bytes decoded, as 8-bit grey or RGB; IoError when unreadable.
cv::Mat read_image(const std::string& path, int64_t channels) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError("cannot read '" + path + "': " + std::strerror(errno));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                                std::istreambuf_iterator<char>());
  if (!file.good() && !file.eof()) throw IoError("cannot read '" + path + "'");
  if (truncated_jpeg(bytes)) {
    throw IoError("'" + path + "' is not a readable image: a JPEG cut short (no end-of-image " +
                  "marker)");
  }
  cv::Mat image;
  try {
    image = cv::imdecode(bytes, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    image = cv::Mat();  // OpenCV throws on some malformed headers: as unreadable
  }
  if (image.empty()) {
    throw IoError("'" + path + "' is not a readable image (empty, truncated or not JPEG, PNG, " +
                  "BMP, WebP, TIFF or PPM)");
  }
  if (channels == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  return image;
}

// torchvision's Resize(resize) (shorter side to `resize`, the longer one scaled and truncated)
// and CenterCrop(size). OpenCV's area interpolation when shrinking, bilinear when enlarging:
// close to PIL's antialiased bilinear, not bit-equal (docs/formats.md).
cv::Mat resize_and_crop(const cv::Mat& image, int64_t resize, int64_t size) {
  const bool wide = image.cols >= image.rows;
  const int64_t shorter = wide ? image.rows : image.cols;
  const int64_t longer = wide ? image.cols : image.rows;
  const auto scaled_longer = static_cast<int>(resize * longer / shorter);
  const cv::Size target = wide ? cv::Size(scaled_longer, static_cast<int>(resize))
                               : cv::Size(static_cast<int>(resize), scaled_longer);
  cv::Mat resized = image;
  if (target != image.size()) {
    const int interpolation = shorter > resize ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::resize(image, resized, target, 0, 0, interpolation);
  }
  // Python's round (half to even), as torchvision's crop offsets.
  const auto top = static_cast<int>(std::nearbyint((resized.rows - size) / 2.0));
  const auto left = static_cast<int>(std::nearbyint((resized.cols - size) / 2.0));
  return resized(cv::Rect(left, top, static_cast<int>(size), static_cast<int>(size)));
}

class ImageFolderSource : public SampleSource {
 public:
  ImageFolderSource(std::vector<std::string> paths, std::vector<int64_t> shape,
                    ImageFolderOptions options)
      : paths_(std::move(paths)), shape_(std::move(shape)), options_(options) {}

  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  std::vector<int64_t> input_shape() const override { return shape_; }
  int workers() const override { return options_.workers; }
  int prefetch() const override { return options_.prefetch; }

  DecodedInputs decode(const std::vector<int64_t>& rows) const override {
    auto x = torch::empty({static_cast<int64_t>(rows.size()), shape_[0], shape_[1], shape_[2]});
    DecodedInputs out;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& path = paths_.at(static_cast<size_t>(rows[i]));
      try {
        write_planes(fitted(read_image(path, shape_[0]), path),
                     x[static_cast<int64_t>(out.kept.size())]);
        out.kept.push_back(static_cast<int64_t>(i));
      } catch (const IoError& e) {
        if (!options_.skip_unreadable) throw;
        warn_skipped(rows[i], e.what());
      }
    }
    out.x = x.slice(0, 0, static_cast<int64_t>(out.kept.size()));
    return out;
  }

  // Once per image, however often a pass reads it.
  void warn_skipped(int64_t row, const std::string& why) const {
    std::lock_guard<std::mutex> lock(skipped_mutex_);
    if (!skipped_.insert(row).second) return;
    spdlog::warn("image_folder: {}; skipped ({} so far)", why, skipped_.size());
  }

  // The image at the folder's size: resized and cropped when asked, else checked.
  cv::Mat fitted(const cv::Mat& image, const std::string& path) const {
    if (options_.size > 0) return resize_and_crop(image, options_.resize, options_.size);
    if (image.rows != shape_[1] || image.cols != shape_[2]) {
      throw Error("image_folder: '" + path + "' is " + std::to_string(image.cols) + "×" +
                  std::to_string(image.rows) + " but the folder's first image is " +
                  std::to_string(shape_[2]) + "×" + std::to_string(shape_[1]) +
                  "; pass size: to resize them all");
    }
    return image;
  }

  // 8-bit H×W×C pixels into a C×H×W float32 tensor in [0, 1], one plane per channel; OpenCV
  // writes straight into the tensor's memory. Divided by 255 (not multiplied by 1/255) to give
  // torchvision's ToTensor values bit for bit.
  static void write_planes(const cv::Mat& image, torch::Tensor out) {
    cv::Mat pixels;
    image.convertTo(pixels, CV_32F);
    std::vector<cv::Mat> planes;
    for (int64_t c = 0; c < out.size(0); ++c) {
      planes.emplace_back(pixels.rows, pixels.cols, CV_32F, out[c].data_ptr<float>());
    }
    cv::split(pixels, planes);
    float* value = out.data_ptr<float>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) value[i] /= 255.0f;
  }

 private:
  std::vector<std::string> paths_;
  std::vector<int64_t> shape_;
  ImageFolderOptions options_;
  mutable std::mutex skipped_mutex_;
  mutable std::set<int64_t> skipped_;
};
#endif  // PERTURB_HAVE_OPENCV

void check_options(const ImageFolderOptions& o) {
  if (o.channels != 1 && o.channels != 3) {
    throw Error("image_folder: channels must be 1 (grey) or 3 (RGB), got " +
                std::to_string(o.channels));
  }
  if (o.size < 0) throw Error("image_folder: size must be positive");
  if (o.resize != 0 && o.resize < o.size) {
    throw Error("image_folder: resize (" + std::to_string(o.resize) + ") must be at least size (" +
                std::to_string(o.size) + ")");
  }
  if (o.workers < 0 || o.prefetch < 1) {
    throw Error("image_folder: workers must be ≥ 0 and prefetch ≥ 1");
  }
}

}  // namespace

Dataset image_folder(const std::string& dir, const ImageFolderOptions& requested) {
  ImageFolderOptions options = requested;
  check_options(options);
  if (options.size > 0 && options.resize == 0) options.resize = options.size;
  Listing listing = list_folder(dir);
#if !PERTURB_HAVE_OPENCV
  throw_without_opencv("image_folder (decoding the images of " + dir + ")");
#else
  if (options.limit >= 0 && options.limit < static_cast<int64_t>(listing.paths.size())) {
    listing.paths.resize(static_cast<size_t>(options.limit));
    listing.labels.resize(static_cast<size_t>(options.limit));
  }
  std::vector<int64_t> shape{options.channels, options.size, options.size};
  if (options.size == 0 && !listing.paths.empty()) {
    const cv::Mat first = read_image(listing.paths.front(), options.channels);
    shape = {options.channels, first.rows, first.cols};
  }
  Dataset data;
  data.name = "image_folder(" + dir + ")";
  data.y = torch::tensor(listing.labels, torch::kInt64);
  data.classes = std::move(listing.classes);
  data.source_rows = torch::arange(data.y.size(0), torch::kInt64);
  data.source = std::make_shared<ImageFolderSource>(std::move(listing.paths), shape, options);
  return data;
#endif
}

}  // namespace perturb
