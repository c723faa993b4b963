// Co-Attack (Zhang et al. 2022) as the multimodal-adversarial-training paper uses it: the text
// first (eq. 4, WordAttack), then the image against the perturbed text (eq. 5).
#pragma once
#include <functional>
#include <optional>

#include <torch/torch.h>

#include "runtime/attack/multimodal/attack.h"
#include "runtime/attack/multimodal/word_attack.h"

namespace perturb {

// Copies of a batch of images the image step differentiates through, [K·N, C, H, W] with the
// N originals' copies in K consecutive blocks (SGA's scale set; none for Co-Attack).
using ImageAugmentFn = std::function<torch::Tensor(const torch::Tensor& images)>;

struct ImageStepOptions {
  int64_t steps = 10;
  std::optional<double> step;  // the threat's default_step(steps) when absent
  bool random_start = true;
};

// The checks of an attack on both modalities (Co-Attack, SGA): an image and a text threat,
// steps and step not negative. Throws Error naming `attack`.
void check_text_and_image_attack(const std::string& attack, const PairThreat& threat, int64_t steps,
                                 std::optional<double> step);

// The image step of eq. 5: projected steepest descent of Σ_i cos(Φ(I'_i), g_i) inside the
// image threat, g_i [N, d] the guide of image i (the mean of its captions' unit embeddings: the
// same gradient direction as the sum of the cosines to each caption). With `augment`, the
// cosines of every copy are summed (SGA). Additive threats (Lp) step on I' and project;
// other threats search their state (runtime/attack/threat_search.h). Gradient evaluations are
// counted per image copy in `stats`. Returns I' on the model's device.
torch::Tensor attack_images_against(TwoTower& model, const torch::Tensor& images,
                                    const torch::Tensor& guides, const Threat& threat,
                                    const ImageStepOptions& options, at::Generator& gen,
                                    AttackStats* stats = nullptr,
                                    const ImageAugmentFn& augment = {});

struct CoAttackOptions {
  int64_t steps = 10;
  std::optional<double> step;
};

// CoAttack(Pair(image:, text:)): every caption attacked by substitute_words (eq. 4), then each
// image by attack_images_against with the mean of its perturbed captions' embeddings (eq. 5;
// with several captions per image the image is attacked against all of them at once). Error
// when the threat lacks either part.
MultimodalAttackPtr make_co_attack(PairThreat threat, CoAttackOptions options = {},
                                   SynonymFn synonyms = {});

}  // namespace perturb
