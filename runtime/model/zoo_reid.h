// A two-branch visible–infrared re-identification network in the spirit of AGW (Ye et al. 2021,
// "Deep learning for person re-identification", §4: modality-specific shallow layers, shared
// deeper layers, a BN-neck embedding and an identity classifier), scaled down to small images:
//
//   stem_m   = conv 3×3 (16) → BN → ReLU → max-pool 2     one per modality m (or one shared)
//   trunk    = conv 3×3 (32) → BN → ReLU → max-pool 2 → conv 3×3 (64) → BN → ReLU →
//              global average pool → fc embedding → BN   (the BN-neck output is the embedding)
//   head     = fc classes                                 (identity logits, for training only)
//
// The Model interface takes one tensor, so the network is seen through branches: the visible
// and infrared branches share every weight and differ only in the stem an input goes through.
// A branch's output is the identity logits; features() of a branch outputs its embedding.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "runtime/model/model.h"

namespace perturb {

struct ReidOptions {
  int64_t classes = 10;  // identities of the training set
  int64_t channels = 3;
  int64_t size = 28;  // square inputs size×size
  int64_t embedding = 128;
  bool shared_stem = false;  // one stem for both modalities (a one-stream network)
};

// The modalities' names, "visible" and "infrared".
const std::vector<std::string>& reid_modalities();

struct ReidNetImpl : torch::nn::Module {
  explicit ReidNetImpl(const ReidOptions& options);
  // (embedding [N, d], logits [N, classes]) through `modality`'s stem.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x,
                                                  const std::string& modality);
  // Both modalities in one pass: (embeddings, logits) of [visible; infrared] concatenated.
  std::pair<torch::Tensor, torch::Tensor> forward_pair(const torch::Tensor& visible,
                                                       const torch::Tensor& infrared);

  torch::nn::Sequential stem_visible{nullptr}, stem_infrared{nullptr}, trunk{nullptr};
  torch::nn::Linear head{nullptr};
  bool shared_stem = false;
};
TORCH_MODULE(ReidNet);

class ReidModel : public Model {
 public:
  ReidModel(ReidOptions options, ReidNet net, std::string modality, bool embedding_output);

  // Logits, or the embedding for a features() view. Error unless x is N×channels×size×size.
  torch::Tensor forward(const torch::Tensor& x) override;
  // (embedding, logits) in one pass, for training both heads.
  std::pair<torch::Tensor, torch::Tensor> forward_both(const torch::Tensor& x);
  // A visible and an infrared minibatch through their stems and one trunk pass (training):
  // (embeddings, logits) of the two concatenated, visible rows first.
  std::pair<torch::Tensor, torch::Tensor> forward_pair(const torch::Tensor& visible,
                                                       const torch::Tensor& infrared);
  std::vector<torch::Tensor> parameters() override { return net_->parameters(); }
  std::vector<torch::Tensor> buffers() override { return net_->buffers(); }
  void set_training(bool training) override { net_->train(training); }
  bool training() const override { return net_->is_training(); }
  void to(torch::Device device) override;
  torch::Device device() const override { return device_; }
  // "reid_two_branch(classes: 10, ...).branch("infrared")"
  std::string describe() const override;
  // The whole network, with this view's branch and output (load_model gives this view back).
  void save(const std::string& path) const override;

  // The same weights seen through `modality`'s stem (Error for an unknown modality).
  std::shared_ptr<ReidModel> branch(const std::string& modality) const;
  // This branch with the embedding as output.
  std::shared_ptr<ReidModel> features() const;
  const std::string& modality() const { return modality_; }
  const ReidOptions& options() const { return options_; }

  static ModelPtr load(torch::serialize::InputArchive& archive, const std::string& path,
                       torch::Device device);

 private:
  ReidOptions options_;
  ReidNet net_;
  std::string modality_;
  bool embedding_output_;
  torch::Device device_ = torch::kCPU;
};

constexpr const char* kReidArchitecture = "reid_two_branch";

// A freshly initialised network seen through its visible branch; weights from `seed`.
// Error for bad options (classes, channels, embedding < 1; images too small).
std::shared_ptr<ReidModel> make_reid_model(const ReidOptions& options, uint64_t seed);

// `model` seen through `modality`'s branch: a two-branch network's branch, any other model
// itself (it has one branch for every modality). Error for an unknown modality.
ModelPtr model_branch(const ModelPtr& model, const std::string& modality);

// The embedding model of `modality`: a two-branch network's features() through that branch;
// any other model itself (its output is the embedding, as retrieval() takes it).
ModelPtr branch_embedding(const ModelPtr& model, const std::string& modality);

}  // namespace perturb
