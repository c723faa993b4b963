// Labelled image datasets: held in memory as tensors, or streamed from a source that decodes
// batches on demand (an image folder).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/data/sample_source.h"

namespace perturb {

struct Dataset {
  torch::Tensor x;   // N×C×H×W float32 in [0, 1]; undefined when the dataset streams
  torch::Tensor y;   // N int64 labels (on the CPU when the dataset streams)
  std::string name;  // e.g. "fashion_mnist(train)"
  // Optional per-sample teacher-modality data [N, ...] (CMDA: latent embeddings of each image's
  // captions, train.cpp hands a batch's rows to the policy); undefined for image-only data.
  torch::Tensor teacher;
  // Class names by label, where the data names them (an image folder's sub-folders).
  std::vector<std::string> classes;
  // A dataset that streams: sample i is row source_rows[i] (int64, CPU) of `source`, decoded
  // when a batch needs it (runtime/data/batch_loader.h); x stays undefined.
  std::shared_ptr<const SampleSource> source;
  torch::Tensor source_rows;

  bool streams() const { return source != nullptr; }
  int64_t size() const;
  // The shape of one input, e.g. {1, 28, 28}.
  std::vector<int64_t> input_shape() const;
  // The samples at `positions` (int64 [M]), in that order.
  Dataset select(const torch::Tensor& positions) const;
  // The same samples with their inputs in memory: decoded when the dataset streams (inputs the
  // source skips as unreadable are left out), else this dataset itself.
  Dataset in_memory() const;
  // Samples [begin, end) with their labels and teacher rows (the same tensors' views).
  Dataset slice(int64_t begin, int64_t end) const;
  // The first n samples (Error if n < 0; n > size gives all).
  Dataset take(int64_t n) const;
  // A permutation drawn from make_generator(seed).
  Dataset shuffle(uint64_t seed) const;
  // Consecutive batches; the last batch may be smaller. A streaming dataset's batches stream.
  std::vector<Dataset> batches(int64_t batch_size) const;
  // The inputs and labels on `device`; a streaming dataset stays as it is (its batches are
  // decoded on the CPU, and the caller moves them).
  Dataset to(torch::Device device) const;
  // "fashion_mnist(test): 1000 images 1×28×28, 10 classes"
  std::string describe() const;
};

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// split "train" or "test"; limit < 0 means all. Missing directory/files → IoError naming the
// Debian package dataset-fashion-mnist. Bad split → Error listing the valid splits.
Dataset fashion_mnist(const std::string& split, int64_t limit = -1,
                      const std::string& dir = kFashionMnistDir);

// Images N×H×W (or N×C×H×W) uint8 IDX + labels IDX; checks the counts agree.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::string& name, int64_t limit = -1);

}  // namespace perturb
