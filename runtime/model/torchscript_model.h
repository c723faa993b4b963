// A TorchScript module (torch.jit.trace/script from PyTorch) behind the Model interface.
#pragma once

#include <string>

#include <torch/script.h>

#include "runtime/model/model.h"

namespace perturb {

class TorchScriptModel : public Model {
 public:
  TorchScriptModel(torch::jit::Module module, std::string path, torch::Device device);

  // TorchScript modules do not declare their input shape, so shape errors come from inside
  // the module; they are caught and rethrown as Error in the user's terms.
  torch::Tensor forward(const torch::Tensor& x) override;
  std::vector<torch::Tensor> parameters() override;
  std::vector<torch::Tensor> buffers() override;
  void set_training(bool training) override;
  bool training() const override;
  void to(torch::Device device) override;
  torch::Device device() const override;
  std::string describe() const override;
  void save(const std::string& path) const override;

  // The module itself (shared, not copied): bound propagation walks its forward graph.
  const torch::jit::Module& module() const { return module_; }

 private:
  torch::jit::Module module_;
  std::string path_;
  torch::Device device_;
};

// The user's terms for a c10 error raised by a model's forward on an input of `shape`.
std::string explain_forward_error(const std::string& message, const std::vector<int64_t>& shape);

}  // namespace perturb
