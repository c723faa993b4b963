// Two-tower image–text models (CLIP, Radford et al. 2021): an image encoder Φ and a text
// encoder Ψ into one d-dimensional space, a learnable temperature, and the cosine similarity
// S(I, T) = sim(Φ(I), Ψ(T)) of the multimodal-adversarial-training paper (§3.1).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/data/pairs.h"
#include "runtime/text/tokenizer.h"

namespace perturb {

class TwoTower {
 public:
  virtual ~TwoTower() = default;
  // Φ(I): embeddings [N, d], not normalised, with gradient. images N×C×H×W in [0, 1]; a wrong
  // shape throws Error in the user's terms.
  virtual torch::Tensor encode_image(const torch::Tensor& images) = 0;
  // Ψ(T): embeddings [N, d], not normalised, with gradient; tokenizes with tokenizer().
  virtual torch::Tensor encode_text(const std::vector<std::string>& texts) = 0;
  // log(1/τ), CLIP's learnable logit scale: logits = exp(logit_scale) · cos.
  virtual torch::Tensor logit_scale() = 0;
  virtual TokenizerPtr tokenizer() const = 0;
  virtual std::vector<torch::Tensor> parameters() = 0;
  // The image encoder's parameters (TeCoA fine-tunes only these).
  virtual std::vector<torch::Tensor> image_parameters() = 0;
  virtual void set_training(bool training) = 0;
  virtual bool training() const = 0;
  virtual void to(torch::Device device) = 0;
  virtual torch::Device device() const = 0;
  // "two_tower(image: small_cnn(...), text: text_encoder(...), dim: 64)"
  virtual std::string describe() const = 0;
  // Atomic (write_atomic). Throws IoError naming the path.
  virtual void save(const std::string& path) const = 0;
};
using TwoTowerPtr = std::shared_ptr<TwoTower>;

// Cosine similarities [Ni, Nt] between image and text embeddings.
torch::Tensor cosine_similarity_matrix(const torch::Tensor& image_embeddings,
                                       const torch::Tensor& text_embeddings);
// L2-normalised embeddings of all images / texts, `batch` at a time, without gradient, in the
// model's current mode, on the model's device.
torch::Tensor embed_images(TwoTower& model, const torch::Tensor& images, int64_t batch);
torch::Tensor embed_texts(TwoTower& model, const std::vector<std::string>& texts, int64_t batch);

// The mean of the unit embeddings of each image's captions, [N, d] (not renormalised).
torch::Tensor caption_guides(TwoTower& model, const PairedDataset& batch);

// Puts a two-tower in a mode for a scope and restores its previous mode after (as ModeGuard for
// a Model): attacks and evaluation run in eval mode, training in training mode.
class TwoTowerModeGuard {
 public:
  TwoTowerModeGuard(TwoTower& model, bool training)
      : model_(model), was_training_(model.training()) {
    model_.set_training(training);
  }
  ~TwoTowerModeGuard() { model_.set_training(was_training_); }
  TwoTowerModeGuard(const TwoTowerModeGuard&) = delete;
  TwoTowerModeGuard& operator=(const TwoTowerModeGuard&) = delete;

 private:
  TwoTower& model_;
  bool was_training_;
};

}  // namespace perturb
