// Co-Attack (Zhang et al. 2022) in the paper's step-wise form: eq. 4, then eq. 5.
#include "runtime/attack/multimodal/co_attack.h"

#include "runtime/attack/threat_search.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

torch::Tensor attack_images_against(TwoTower& model, const torch::Tensor& images_in,
                                    const torch::Tensor& guides_in, const Threat& threat,
                                    const ImageStepOptions& options, at::Generator& gen,
                                    AttackStats* stats, const ImageAugmentFn& augment) {
  namespace F = torch::nn::functional;
  if (options.steps < 0) throw Error("steps must not be negative");
  const torch::Tensor x = images_in.detach().to(model.device());
  const torch::Tensor guides = guides_in.detach().to(model.device());
  if (guides.dim() != 2 || guides.size(0) != x.size(0)) {
    throw Error("the image step needs one guide per image: " + std::to_string(x.size(0)) +
                " images");
  }
  // ∇ of the attack's loss −Σ cos(Φ(copy of I'_i), g_i) w.r.t. I'.
  auto gradient = [&](const torch::Tensor& x_adv) {
    torch::AutoGradMode grad_mode(true);
    torch::Tensor input = x_adv.detach().requires_grad_(true);
    torch::Tensor copies = augment ? augment(input) : input;
    const int64_t k = copies.size(0) / x.size(0);
    torch::Tensor emb = F::normalize(model.encode_image(copies), F::NormalizeFuncOptions().dim(1));
    torch::Tensor loss = -(emb * guides.repeat({k, 1})).sum();
    if (stats) stats->gradient_evals += copies.size(0);
    return torch::autograd::grad({loss}, {input})[0].detach();
  };
  if (!threat.additive()) {
    return search_state(threat, x, gen, options.random_start, options.steps, options.step, gradient)
        .detach();
  }
  const double alpha = options.step.value_or(threat.default_step(options.steps));
  torch::Tensor x_adv = options.random_start ? threat.sample(x, gen) : x.clone();
  for (int64_t i = 0; i < options.steps; ++i) {
    x_adv = threat.project(threat.ascend(x_adv, gradient(x_adv), alpha), x).detach();
  }
  return x_adv;
}

void check_text_and_image_attack(const std::string& attack, const PairThreat& threat, int64_t steps,
                                 std::optional<double> step) {
  if (!threat.image || !threat.text) {
    throw Error(attack + " needs a threat on both modalities, Pair(image: ..., text: ...), got " +
                threat.describe());
  }
  if (steps < 0) {
    throw Error(attack + "'s steps must not be negative, got " + std::to_string(steps));
  }
  if (step && *step < 0) throw Error(attack + "'s step must not be negative");
}

namespace {

class CoAttack : public MultimodalAttack {
 public:
  CoAttack(PairThreat threat, CoAttackOptions options, SynonymFn synonyms)
      : threat_(std::move(threat)), options_(options), synonyms_(std::move(synonyms)) {
    check_text_and_image_attack("CoAttack", threat_, options_.steps, options_.step);
  }
  std::string name() const override { return "CoAttack"; }
  std::string describe() const override {
    return "CoAttack(" + threat_.describe() + ", steps: " + std::to_string(options_.steps) +
           ", step: " +
           format_number(options_.step.value_or(threat_.image->default_step(options_.steps))) + ")";
  }
  PairThreat threat() const override { return threat_; }

  PairedDataset run(TwoTower& model, const PairedDataset& batch, at::Generator& gen,
                    AttackStats* stats) const override {
    batch.check();
    TwoTowerModeGuard eval(model, false);
    // Eq. 4: T' for every caption.
    const auto attacked =
        substitute_words(model, batch.all_captions(), *threat_.text, {}, stats, synonyms_);
    PairedDataset out = batch.with_captions(attacked);
    // Eq. 5: I' against the perturbed captions.
    const torch::Tensor guides = caption_guides(model, out);
    ImageStepOptions step{options_.steps, options_.step, true};
    out.images =
        attack_images_against(model, batch.images, guides, *threat_.image, step, gen, stats)
            .to(batch.images.device());
    return out;
  }

 private:
  PairThreat threat_;
  CoAttackOptions options_;
  SynonymFn synonyms_;
};

}  // namespace

MultimodalAttackPtr make_co_attack(PairThreat threat, CoAttackOptions options, SynonymFn synonyms) {
  return std::make_shared<CoAttack>(std::move(threat), options, std::move(synonyms));
}

}  // namespace perturb
