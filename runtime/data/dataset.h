// Labelled image datasets held in memory as tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

struct Dataset {
  torch::Tensor x;   // N×C×H×W float32 in [0, 1]
  torch::Tensor y;   // N int64 labels
  std::string name;  // e.g. "fashion_mnist(train)"
  // Optional per-sample teacher-modality data [N, ...] (CMDA: latent embeddings of each image's
  // captions, train.cpp hands a batch's rows to the policy); undefined for image-only data.
  torch::Tensor teacher;

  int64_t size() const;
  // Samples [begin, end) with their labels and teacher rows (the same tensors' views).
  Dataset slice(int64_t begin, int64_t end) const;
  // The first n samples (Error if n < 0; n > size gives all).
  Dataset take(int64_t n) const;
  // A permutation drawn from make_generator(seed).
  Dataset shuffle(uint64_t seed) const;
  // Consecutive batches; the last batch may be smaller.
  std::vector<Dataset> batches(int64_t batch_size) const;
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
