// SGA, the set-level guidance attack (Lu et al. 2023, ICCV): Co-Attack's step-wise scheme with
// set-level guidance — the image attacked against ALL its captions and through scale-augmented
// copies of itself, the captions attacked against the adversarial image.
#pragma once
#include <optional>
#include <vector>

#include "runtime/attack/multimodal/attack.h"
#include "runtime/attack/multimodal/co_attack.h"
#include "runtime/attack/multimodal/word_attack.h"

namespace perturb {

struct SgaOptions {
  int64_t steps = 10;
  std::optional<double> step;  // the image threat's default_step(steps) when absent
  std::vector<double> scales = {0.5, 0.75, 1.25, 1.5};
  double noise = 0.05;  // std of the Gaussian noise added to each copy before resizing
};

// The image set of SGA for a batch: the images themselves followed by, for each scale s, the
// images plus N(0, noise²) noise, resized to round(s·H)×round(s·W) (bicubic), clamped to [0, 1]
// and resized back to H×W so the image tower sees its usual size; differentiable in `images`.
torch::Tensor sga_scaled_copies(const torch::Tensor& images, const std::vector<double>& scales,
                                double noise, at::Generator& gen);

// SGA(Pair(image:, text:)):
//   1. I'' = the image step (attack_images_against) against the clean captions' embeddings of
//      each image, through sga_scaled_copies;
//   2. every caption T' = substitute_words guided by its image's adversarial embedding Φ(I'')
//      (the substitution that most lowers cos(Ψ(T'), Φ(I''))), within the text threat;
//   3. I' = the image step from the clean image again, against the perturbed captions'
//      embeddings, through the scale set.
// Errors when the threat lacks either part or a scale is not positive.
MultimodalAttackPtr make_sga(PairThreat threat, SgaOptions options = {}, SynonymFn synonyms = {});

}  // namespace perturb
