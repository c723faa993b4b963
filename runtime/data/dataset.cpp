#include "runtime/data/dataset.h"

#include <filesystem>
#include <sstream>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/batch_loader.h"
#include "runtime/data/idx.h"

namespace perturb {
namespace fs = std::filesystem;

int64_t Dataset::size() const {
  if (x.defined()) return x.size(0);
  return y.defined() ? y.size(0) : 0;
}

std::vector<int64_t> Dataset::input_shape() const {
  if (streams()) return source->input_shape();
  if (!x.defined() || x.dim() == 0) return {};
  return x.sizes().slice(1).vec();
}

namespace {

torch::Tensor rows_of(const torch::Tensor& t, int64_t begin, int64_t end) {
  return t.defined() ? t.slice(0, begin, end) : t;
}

torch::Tensor rows_at(const torch::Tensor& t, const torch::Tensor& positions) {
  return t.defined() ? t.index_select(0, positions.to(t.device())) : t;
}

}  // namespace

Dataset Dataset::slice(int64_t begin, int64_t end) const {
  Dataset part = *this;
  part.x = rows_of(x, begin, end);
  part.y = rows_of(y, begin, end);
  part.teacher = rows_of(teacher, begin, end);
  part.source_rows = rows_of(source_rows, begin, end);
  return part;
}

Dataset Dataset::select(const torch::Tensor& positions) const {
  Dataset part = *this;
  part.x = rows_at(x, positions);
  part.y = rows_at(y, positions);
  part.teacher = rows_at(teacher, positions);
  part.source_rows = rows_at(source_rows, positions);
  return part;
}

Dataset Dataset::in_memory() const {
  return streams() ? load_part(*this).data : *this;
}

Dataset Dataset::take(int64_t n) const {
  if (n < 0) throw Error("take(" + std::to_string(n) + "): the count must not be negative");
  return slice(0, std::min(n, size()));
}

Dataset Dataset::shuffle(uint64_t seed) const {
  auto gen = make_generator(seed);
  return select(torch::randperm(size(), gen, torch::TensorOptions().dtype(torch::kInt64)));
}

std::vector<Dataset> Dataset::batches(int64_t batch_size) const {
  if (batch_size <= 0) {
    throw Error("batch size must be positive, got " + std::to_string(batch_size));
  }
  std::vector<Dataset> out;
  for (int64_t start = 0; start < size(); start += batch_size) {
    out.push_back(slice(start, std::min(start + batch_size, size())));
  }
  return out;
}

Dataset Dataset::to(torch::Device device) const {
  if (streams()) return *this;
  Dataset moved = *this;
  moved.x = x.to(device);
  moved.y = y.to(device);
  if (teacher.defined()) moved.teacher = teacher.to(device);
  return moved;
}

std::string Dataset::describe() const {
  std::ostringstream out;
  out << name << ": " << size() << " images";
  const auto shape = input_shape();
  if (shape.size() == 3) out << " " << shape[0] << "×" << shape[1] << "×" << shape[2];
  if (streams()) out << " (streamed)";
  // Labels are 0..K-1, so the largest label tells the number of classes.
  const int64_t classes = size() > 0 ? y.max().item<int64_t>() + 1 : 0;
  out << ", " << classes << (classes == 1 ? " class" : " classes");
  return out.str();
}

namespace {

// uint8 images become float32 in [0, 1]; N×H×W gains a channel dimension.
torch::Tensor to_images(const torch::Tensor& raw, const std::string& path) {
  torch::Tensor images = raw;
  if (images.dim() == 3) images = images.unsqueeze(1);
  if (images.dim() != 4) {
    throw Error("'" + path + "' holds " + std::to_string(raw.dim()) +
                "-dimensional data; expected images N×H×W or N×C×H×W");
  }
  if (images.scalar_type() == torch::kUInt8) return images.to(torch::kFloat32).div_(255.0);
  return images.to(torch::kFloat32);
}

// The first existing of `stem.gz` and `stem`, or "" if neither exists.
std::string find_file(const fs::path& dir, const std::string& stem) {
  for (const auto& name : {stem + ".gz", stem}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  return "";
}

}  // namespace

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::string& name, int64_t limit) {
  const torch::Tensor raw_images = read_idx(images_path);
  const torch::Tensor raw_labels = read_idx(labels_path);
  if (raw_labels.dim() != 1) {
    throw Error("'" + labels_path + "' holds " + std::to_string(raw_labels.dim()) +
                "-dimensional data; expected one label per image");
  }
  if (raw_images.size(0) != raw_labels.size(0)) {
    throw Error("'" + images_path + "' has " + std::to_string(raw_images.size(0)) +
                " images but '" + labels_path + "' has " + std::to_string(raw_labels.size(0)) +
                " labels");
  }
  const int64_t count = limit < 0 ? raw_images.size(0) : std::min(limit, raw_images.size(0));
  // Slice before converting so a small limit does not convert the whole file.
  return {to_images(raw_images.slice(0, 0, count), images_path),
          raw_labels.slice(0, 0, count).to(torch::kInt64), name};
}

Dataset fashion_mnist(const std::string& split, int64_t limit, const std::string& dir) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    throw Error("fashion_mnist has no split '" + split + "'; the splits are \"train\", \"test\"");
  }
  const std::string images = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels = find_file(dir, prefix + "-labels-idx1-ubyte");
  if (images.empty() || labels.empty()) {
    throw IoError("Fashion-MNIST not found under " + dir +
                  ": install the Debian package dataset-fashion-mnist "
                  "(apt-get install dataset-fashion-mnist)");
  }
  return load_idx_dataset(images, labels, "fashion_mnist(" + split + ")", limit);
}

}  // namespace perturb
