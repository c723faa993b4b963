// The model interface the attacks, training and evaluation work against.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

class Model {
 public:
  virtual ~Model() = default;
  // Logits for a batch; checks the input shape first and throws Error in the user's terms.
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual std::vector<torch::Tensor> parameters() = 0;
  // State that is not trained by gradients (batch-norm running statistics); none by default.
  virtual std::vector<torch::Tensor> buffers() { return {}; }
  virtual void set_training(bool training) = 0;
  virtual bool training() const = 0;
  virtual void to(torch::Device device) = 0;
  virtual torch::Device device() const = 0;
  // e.g. "small_cnn(classes: 10, channels: 1)" or "torchscript('m.ts')"
  virtual std::string describe() const = 0;
  // Atomic (write_atomic). Throws IoError naming the path.
  virtual void save(const std::string& path) const = 0;
};

using ModelPtr = std::shared_ptr<Model>;

// Puts the model in a mode for a scope and restores the previous mode after (attacks run in
// eval mode).
class ModeGuard {
 public:
  ModeGuard(Model& model, bool training);
  ~ModeGuard();
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  Model& model_;
  bool previous_;
};

// body() under torch::InferenceMode, which skips all of autograd's bookkeeping (more than
// NoGradGuard does), for passes that need no gradient: clean accuracy, success checks,
// predictions. The result is copied out as an ordinary tensor, because an inference tensor
// cannot later be modified in place or saved for a backward pass outside inference mode; keep
// the result small (labels, logits).
template <class Body>
torch::Tensor without_autograd(Body body) {
  torch::Tensor result;
  {
    c10::InferenceMode inference;
    result = body();
  }
  return result.clone();
}

// The model's outputs for x [N, ...], `batch` inputs at a time, without gradient, on the model's
// device, in the model's current mode. x must hold at least one input.
torch::Tensor forward_batched(Model& model, const torch::Tensor& x, int64_t batch);
// The predicted class of each input of x [N, ...], int64 [N] on the CPU: in eval mode, without
// gradient, `batch` inputs at a time.
torch::Tensor predict_classes(Model& model, const torch::Tensor& x, int64_t batch);

// Loads Perturb's own saved models (Model::save) and TorchScript files exported from PyTorch
// (torch.jit.trace/script). Missing file → IoError; not a model → Error "'x' is neither a
// Perturb model nor a TorchScript module".
ModelPtr load_model(const std::string& path, torch::Device device);

}  // namespace perturb
