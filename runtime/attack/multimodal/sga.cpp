// SGA (Lu et al. 2023), written from the paper's description. Where we simplify: the candidate
// words come from WordNet rather than BERT's masked language model (as in WordAttack); the text
// step is guided by the adversarial image at its own scale only (the paper uses the image set's
// embeddings); one image per caption set (the paper's image set is the scale-augmented copies,
// its text set the image's captions, which is what we use); no momentum.
#include "runtime/attack/multimodal/sga.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

torch::Tensor sga_scaled_copies(const torch::Tensor& images, const std::vector<double>& scales,
                                double noise, at::Generator& gen) {
  namespace F = torch::nn::functional;
  if (images.dim() != 4) {
    throw Error("SGA's scale set needs images N×C×H×W, got " + std::to_string(images.dim()) +
                " dimensions");
  }
  const int64_t h = images.size(2), w = images.size(3);
  std::vector<torch::Tensor> copies = {images};
  for (double s : scales) {
    torch::Tensor noisy = images;
    if (noise > 0) {
      torch::Tensor eps;
      {
        torch::NoGradGuard no_grad;
        eps = torch::randn(images.sizes(), gen, torch::TensorOptions().dtype(images.dtype()))
                  .to(images.device()) *
              noise;
      }
      noisy = images + eps;
    }
    const int64_t sh = std::max<int64_t>(1, std::lround(s * static_cast<double>(h)));
    const int64_t sw = std::max<int64_t>(1, std::lround(s * static_cast<double>(w)));
    auto down = F::interpolate(noisy, F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{sh, sw})
                                          .mode(torch::kBicubic)
                                          .align_corners(false))
                    .clamp(0, 1);
    copies.push_back(F::interpolate(down, F::InterpolateFuncOptions()
                                              .size(std::vector<int64_t>{h, w})
                                              .mode(torch::kBicubic)
                                              .align_corners(false)));
  }
  return torch::cat(copies);
}

namespace {

std::string scales_text(const std::vector<double>& scales) {
  std::string text = "[";
  for (size_t i = 0; i < scales.size(); ++i) {
    if (i) text += ", ";
    text += format_number(scales[i]);
  }
  return text + "]";
}

class Sga : public MultimodalAttack {
 public:
  Sga(PairThreat threat, SgaOptions options, SynonymFn synonyms)
      : threat_(std::move(threat)), options_(std::move(options)), synonyms_(std::move(synonyms)) {
    check_text_and_image_attack("SGA", threat_, options_.steps, options_.step);
    for (double s : options_.scales) {
      if (!(s > 0)) throw Error("SGA's scales must be positive, got " + format_number(s));
    }
  }
  std::string name() const override { return "SGA"; }
  std::string describe() const override {
    return "SGA(" + threat_.describe() + ", steps: " + std::to_string(options_.steps) + ", step: " +
           format_number(options_.step.value_or(threat_.image->default_step(options_.steps))) +
           ", scales: " + scales_text(options_.scales) + ")";
  }
  PairThreat threat() const override { return threat_; }

  PairedDataset run(TwoTower& model, const PairedDataset& batch, at::Generator& gen,
                    AttackStats* stats) const override {
    namespace F = torch::nn::functional;
    batch.check();
    TwoTowerModeGuard eval(model, false);
    ImageAugmentFn augment = [&](const torch::Tensor& images) {
      return sga_scaled_copies(images, options_.scales, options_.noise, gen);
    };
    ImageStepOptions step{options_.steps, options_.step, true};
    // 1. The image against the set of its clean captions.
    torch::Tensor clean_guides = caption_guides(model, batch);
    torch::Tensor first = attack_images_against(model, batch.images, clean_guides, *threat_.image,
                                                step, gen, stats, augment);
    // 2. Each caption pushed away from its image's adversarial embedding.
    torch::Tensor image_emb = embed_images(model, first, 512).cpu();
    if (stats) stats->queries += batch.size();
    const auto owners = batch.caption_owners();
    torch::Tensor guides = image_emb.index_select(
        0, torch::tensor(std::vector<int64_t>(owners.begin(), owners.end())));
    const auto attacked =
        substitute_words(model, batch.all_captions(), *threat_.text, guides, stats, synonyms_);
    PairedDataset out = batch.with_captions(attacked);
    // 3. The clean image again, against the set of adversarial captions.
    out.images = attack_images_against(model, batch.images, caption_guides(model, out),
                                       *threat_.image, step, gen, stats, augment)
                     .to(batch.images.device());
    return out;
  }

 private:
  PairThreat threat_;
  SgaOptions options_;
  SynonymFn synonyms_;
};

}  // namespace

MultimodalAttackPtr make_sga(PairThreat threat, SgaOptions options, SynonymFn synonyms) {
  return std::make_shared<Sga>(std::move(threat), std::move(options), std::move(synonyms));
}

}  // namespace perturb
