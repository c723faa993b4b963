// The zoo's Model implementation: a torch::nn::Sequential plus what it takes to rebuild it.
#pragma once

#include <string>

#include "runtime/model/zoo.h"

namespace perturb {

class ZooModel : public Model {
 public:
  ZooModel(std::string architecture, const ZooOptions& options, torch::nn::Sequential net);

  torch::Tensor forward(const torch::Tensor& x) override;
  std::vector<torch::Tensor> parameters() override;
  std::vector<torch::Tensor> buffers() override;
  void set_training(bool training) override;
  bool training() const override;
  void to(torch::Device device) override;
  torch::Device device() const override;
  std::string describe() const override;
  void save(const std::string& path) const override;

  // The layers (shared, not copied), the architecture and its options: the stochastic-network
  // wrapper (runtime/model/noise.h) runs these layers with noise injected between them.
  torch::nn::Sequential layers() const { return net_; }
  const std::string& architecture() const { return architecture_; }
  const ZooOptions& options() const { return options_; }

  // Rebuilds a model written by save(); `archive` must hold the "perturb_format" marker.
  static ModelPtr load(torch::serialize::InputArchive& archive, const std::string& path,
                       torch::Device device);

 private:
  std::string architecture_;
  ZooOptions options_;
  torch::nn::Sequential net_;
  torch::Device device_ = torch::kCPU;
};

// Throws Error, naming `model`, unless x is a batch N×channels×height×width of the options' size:
// the check of every model built on zoo layers (the zoo, its stochastic and feature variants).
void check_zoo_input(const ZooOptions& options, const torch::Tensor& x, const std::string& model);

// Marker key written into every saved zoo model, so load_model can tell ours from TorchScript.
constexpr const char* kPerturbFormatKey = "perturb_format";
constexpr int64_t kPerturbFormatVersion = 1;

// Writes a model's archive to `path` through a temporary file and a rename (a failed save keeps
// the old file); a LibTorch failure becomes IoError naming the path.
void save_archive_atomic(torch::serialize::OutputArchive& archive, const std::string& path);

}  // namespace perturb
