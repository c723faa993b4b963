// The image-only attack on an image–text model: any classifier attack, run on the similarity
// logits of each image against the batch's captions (TeCoA, Mao et al. 2022; the paper's eq. 3).
#include <algorithm>

#include "runtime/attack/multimodal/attack.h"
#include "runtime/core/error.h"

namespace perturb {
namespace {

// A classifier view of a two-tower for one batch: the logits of image i are
// exp(logit_scale)·cos(Φ(x_i), t_j) over the batch's caption embeddings t_j (one per image, the
// normalised mean of its captions' embeddings), so label i is image i's own captions and
// cross-entropy is L_CLIP_I.
class SimilarityClassifier : public Model {
 public:
  SimilarityClassifier(TwoTower& model, torch::Tensor captions)
      : model_(model), captions_(std::move(captions)) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    namespace F = torch::nn::functional;
    torch::Tensor images = F::normalize(model_.encode_image(x), F::NormalizeFuncOptions().dim(1));
    return model_.logit_scale().detach().exp() * images.matmul(captions_.t());
  }
  std::vector<torch::Tensor> parameters() override { return model_.image_parameters(); }
  void set_training(bool training) override { model_.set_training(training); }
  bool training() const override { return model_.training(); }
  void to(torch::Device device) override { model_.to(device); }
  torch::Device device() const override { return model_.device(); }
  std::string describe() const override { return model_.describe(); }
  void save(const std::string&) const override {
    throw Error("the similarity view of a two-tower model cannot be saved");
  }

 private:
  TwoTower& model_;
  torch::Tensor captions_;  // [N, d], unit rows, no gradient
};

class ImageAttack : public MultimodalAttack {
 public:
  explicit ImageAttack(AttackPtr attack) : attack_(std::move(attack)) {}
  std::string name() const override { return attack_->name(); }
  std::string describe() const override { return attack_->describe(); }
  PairThreat threat() const override { return {attack_->threat(), std::nullopt}; }

  PairedDataset run(TwoTower& model, const PairedDataset& batch, at::Generator& gen,
                    AttackStats* stats) const override {
    batch.check();
    torch::Tensor targets;
    {
      TwoTowerModeGuard eval(model, false);
      targets = torch::nn::functional::normalize(
          caption_guides(model, batch), torch::nn::functional::NormalizeFuncOptions().dim(1));
    }
    SimilarityClassifier view(model, targets);
    torch::Tensor own = torch::arange(
        batch.size(), torch::TensorOptions().dtype(torch::kInt64).device(model.device()));
    PairedDataset out = batch;
    out.images = attack_->run(view, batch.images.to(model.device()), own, gen, stats);
    return out;
  }

 private:
  AttackPtr attack_;
};

}  // namespace

MultimodalAttackPtr make_image_attack(AttackPtr attack) {
  if (!attack) throw Error("make_image_attack needs an attack");
  return std::make_shared<ImageAttack>(std::move(attack));
}

}  // namespace perturb
