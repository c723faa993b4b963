#include "runtime/data/cifar.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "runtime/core/error.h"

namespace perturb {
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

// One of the two datasets' layouts: where its files live and what a record holds.
struct CifarFormat {
  std::string title;               // "CIFAR-10", for messages
  std::string folder;              // the folder the archive unpacks to
  int64_t label_bytes;             // label bytes before the pixels
  int64_t label_offset;            // which of them is the label kept
  int64_t classes;                 // labels are 0..classes-1
  std::string label_name;          // "label", "fine label", for messages
  std::vector<std::string> files;  // the split's files, in order
};

bool is_file(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(path, ignored);
}

// The folder holding the files: dir itself, or dir/<folder> when dir is the folder above it.
std::filesystem::path data_folder(const std::string& dir, const CifarFormat& format) {
  const std::filesystem::path given(dir);
  const std::string first = format.files.front();
  if (!is_file(given / first) && is_file(given / format.folder / first)) {
    return given / format.folder;
  }
  return given;
}

std::string missing_message(const std::string& path, const CifarFormat& format) {
  return format.title + " file '" + path + "' not found: download \"" + format.title +
         " binary version\" from " + kCifarUrl + " and unpack it (it unpacks to " + format.folder +
         "/); Perturb downloads nothing";
}

// The first `wanted` records of one file (all when wanted < 0), appended to pixels and labels.
// The record count comes from the file's size, so nothing is allocated beyond what the file holds.
void read_records(const std::string& path, const CifarFormat& format, int64_t wanted,
                  std::vector<uint8_t>& pixels, std::vector<int64_t>& labels) {
  if (!is_file(path)) throw IoError(missing_message(path, format));
  std::error_code size_error;
  const uintmax_t size = std::filesystem::file_size(path, size_error);
  if (size_error) throw IoError("cannot read '" + path + "': " + size_error.message());
  const int64_t record = format.label_bytes + kPixels;
  if (size % static_cast<uintmax_t>(record) != 0) {
    throw Error("'" + path + "' is " + std::to_string(size) + " bytes, not a whole number of " +
                std::to_string(record) + "-byte " + format.title + " records (truncated?)");
  }
  int64_t count = static_cast<int64_t>(size / static_cast<uintmax_t>(record));
  if (wanted >= 0 && wanted < count) count = wanted;

  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> buffer(static_cast<size_t>(record));
  const size_t pixels_before = pixels.size();
  pixels.resize(pixels_before + static_cast<size_t>(count * kPixels));
  for (int64_t i = 0; i < count; ++i) {
    if (std::fread(buffer.data(), 1, buffer.size(), file) != buffer.size()) {
      const std::string reason = std::ferror(file) ? std::strerror(errno) : "file shrank";
      std::fclose(file);
      throw IoError("cannot read '" + path + "': " + reason);
    }
    const int64_t label = buffer[static_cast<size_t>(format.label_offset)];
    if (label >= format.classes) {
      std::fclose(file);
      throw Error("'" + path + "' record " + std::to_string(i) + " (counting from 0) has " +
                  format.label_name + " " + std::to_string(label) + "; " + format.title + " " +
                  format.label_name + "s are 0.." + std::to_string(format.classes - 1));
    }
    labels.push_back(label);
    std::memcpy(pixels.data() + pixels_before + static_cast<size_t>(i * kPixels),
                buffer.data() + format.label_bytes, static_cast<size_t>(kPixels));
  }
  std::fclose(file);
}

Dataset load(const std::string& dir, const CifarFormat& format, int64_t limit,
             const std::string& name) {
  const std::filesystem::path folder = data_folder(dir, format);
  // Check every file exists first, so a partly unpacked archive is reported before any reading.
  for (const auto& file : format.files) {
    const std::string path = (folder / file).string();
    if (!is_file(path)) throw IoError(missing_message(path, format));
  }
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (const auto& file : format.files) {
    const int64_t wanted = limit < 0 ? -1 : limit - static_cast<int64_t>(labels.size());
    if (wanted == 0) break;
    read_records((folder / file).string(), format, wanted, pixels, labels);
  }
  const auto n = static_cast<int64_t>(labels.size());
  torch::Tensor x = torch::from_blob(pixels.data(), {n, 3, 32, 32}, torch::kUInt8)
                        .to(torch::kFloat32)
                        .div_(255.0);
  torch::Tensor y = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
  return {x.contiguous(), y, name};
}

std::vector<std::string> split_files(const std::string& builtin, const std::string& split,
                                     const std::vector<std::string>& train,
                                     const std::vector<std::string>& test) {
  if (split == "train") return train;
  if (split == "test") return test;
  throw Error(builtin + " has no split '" + split + "'; the splits are \"train\", \"test\"");
}

}  // namespace

Dataset cifar10(const std::string& dir, const std::string& split, int64_t limit) {
  CifarFormat format{"CIFAR-10", "cifar-10-batches-bin", 1, 0, 10, "label", {}};
  format.files = split_files("cifar10", split,
                             {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                              "data_batch_4.bin", "data_batch_5.bin"},
                             {"test_batch.bin"});
  return load(dir, format, limit, "cifar10(" + split + ")");
}

Dataset cifar100(const std::string& dir, const std::string& split, const std::string& labels,
                 int64_t limit) {
  CifarFormat format{"CIFAR-100", "cifar-100-binary", 2, 1, 100, "fine label", {}};
  if (labels == "coarse") {
    format.label_offset = 0;
    format.classes = 20;
    format.label_name = "coarse label";
  } else if (labels != "fine") {
    throw Error("cifar100 has no labels '" + labels + "'; the labels are \"fine\", \"coarse\"");
  }
  format.files = split_files("cifar100", split, {"train.bin"}, {"test.bin"});
  return load(dir, format, limit, "cifar100(" + split + ", " + labels + ")");
}

}  // namespace perturb
