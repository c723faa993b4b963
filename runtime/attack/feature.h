// Feature (metric) attacks on embedding models, for retrieval and re-identification: the
// objective "feature" of GradientOptions (runtime/attack/loss.h).
//
// Thesis ch. 4, §4.3.1: for a query image I, a gallery image I_g of the same identity and an
// embedding model f, the attack pushes f(Ĩ), Ĩ = I + δ, away from f(I_g) with the metric loss
//   l(f(I_g), f(Ĩ)) = ‖f(I_g) − f(Ĩ)‖₂                                          (eq. 4.3)
// (the thesis writes the difference; "we use Euclidean distance", so the loss is its norm),
// ascended with the threat's step (eq. 4.4: the sign step for Linf) and projected onto the
// threat (eq. 4.5 for Wasserstein; Algorithm 1). The targeted attack of §4.1 instead pulls f(Ĩ)
// towards a target identity: the loss is −‖f(I_t) − f(Ĩ)‖₂.
//
// The anchor f(I_g) per query:
// - with a gallery (images and identity labels): the mean embedding of the gallery images that
//   share the query's label (its matches). For one match this is eq. 4.3 exactly; for several,
//   ‖f(Ĩ) − mean_g f(I_g)‖² equals the mean of ‖f(Ĩ) − f(I_g)‖² up to a constant, so pushing
//   away from the centroid pushes away from the identity as a whole. A query whose label has
//   no image in the gallery falls back to its own clean embedding.
// - without a gallery: the clean query's own embedding f(I) (a query's gallery matches lie
//   near it for any useful embedding). The distance and its gradient are zero at Ĩ = I, so
//   such an attack must start from a random point (check_feature_start).
#pragma once

#include <memory>
#include <string>

#include <torch/torch.h>

#include "runtime/attack/loss.h"
#include "runtime/model/model.h"

namespace perturb {

struct FeatureGallery {
  torch::Tensor x;  // gallery images [G, ...]
  torch::Tensor y;  // identity labels [G]
  // Throws Error when the shapes do not match or the gallery is empty.
  void check() const;
};

// The model's outputs for x, flattened to embeddings [N, d], in batches, without gradient.
// Counts the forward passes as queries.
torch::Tensor embed(Model& model, const torch::Tensor& x, int64_t batch = 256,
                    AttackStats* stats = nullptr);

// Per-sample anchors [N, d] for the feature objective (see above). Targeted mode (needs a
// gallery): the mean embedding of the target identity's gallery images — a label (which must
// appear in the gallery) or "random" (an identity of the gallery other than y, drawn
// uniformly per sample).
torch::Tensor feature_anchors(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                              const GradientOptions& options, at::Generator& gen,
                              AttackStats* stats);

// eq. 4.3 per sample: ‖anchor − f(Ĩ)‖₂ over the flattened embeddings, shape [N];
// differentiable in `embedding` (the distance carries 1e-12 under the root so it stays finite).
torch::Tensor feature_distance(const torch::Tensor& embedding, const torch::Tensor& anchor);

// Throws Error for a feature objective without a gallery on an attack that starts at the clean
// input (its gradient there is zero): FGSM, or random_start: false.
void check_feature_start(const std::string& owner, const GradientOptions& options,
                         bool random_start);

}  // namespace perturb
