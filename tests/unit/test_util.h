// Helpers shared by the runtime unit tests: temp directories, tiny models, dataset access.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "runtime/data/dataset.h"
#include "runtime/model/model.h"

namespace perturb::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return (root_ / name).string(); }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

void write_bytes(const std::string& path, const std::string& bytes);
void write_gzip(const std::string& path, const std::string& bytes);
std::string read_text(const std::string& path);

// A linear classifier logits = (flatten(x) − center)·W, small enough to differentiate by hand.
// With center 0.5 the boundaries between classes are hyperplanes through the [0, 1] box's
// middle, so the minimal perturbation is |f|/‖w‖_dual while the box does not bind.
class LinearModel : public Model {
 public:
  explicit LinearModel(torch::Tensor weight, double center = 0)
      : weight_(std::move(weight)), center_(center) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    const auto flat = x.reshape({x.size(0), -1});
    return (center_ == 0 ? flat : flat - center_).matmul(weight_);
  }
  std::vector<torch::Tensor> parameters() override { return {weight_}; }
  void set_training(bool training) override { training_ = training; }
  bool training() const override { return training_; }
  void to(torch::Device) override {}
  torch::Device device() const override { return torch::kCPU; }
  std::string describe() const override { return "linear"; }
  void save(const std::string&) const override {}
  const torch::Tensor& weight() const { return weight_; }

 private:
  torch::Tensor weight_;
  double center_;
  bool training_ = true;
};

// Fashion-MNIST if installed; otherwise WARNs and returns nullopt so the test can skip.
std::optional<Dataset> fashion_mnist_or_warn(const std::string& split, int64_t limit);

// Random images in [0, 1] and labels in [0, classes).
Dataset random_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed);

}  // namespace perturb::test
