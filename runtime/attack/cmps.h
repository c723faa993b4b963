// Cross-Modality Perturbation Synergy (CMPS; Gong et al., NeurIPS 2024, "Cross-modality
// perturbation synergy attack for person re-identification"): one universal perturbation η that
// degrades visible–infrared re-ID in both directions, learnt against a feature (embedding) model
// from the clean features' identity centroids.
//
// Centroids (§3.2, reference code): k-means (20 Lloyd iterations) over the L2-normalised clean
// features of each modality's fitting data: C_RGB (visible), C_ir (infrared), C_g (the visible
// images as grayscale, eq. 2–3), k = the number of identities. For an input, the positive
// centroid C^p of a set is its most cosine-similar one, the negative C^n the least similar.
//
// Triplet loss on centroids, ρ = margin, f = the normalised perturbed feature. The paper's
// cross-modality form (eq. 1, 4, 7; centroids: "cross"):
//   visible step:   L_v = max(‖C_g^n − f_RGB^adv‖ − ‖C_ir^p − f_RGB^adv‖ + ρ, 0)
//   infrared step:  L_i = max(‖C_RGB^n − f_ir^adv‖ − ‖C_g^p − f_ir^adv‖ + ρ, 0)
// and the reference code's form (CMPS_attack.py, train_CMPS; centroids: "own", the default), each
// step against its own modality's centroids:
//   visible step:   L_v = max(‖C_RGB^n − f_RGB^adv‖ − ‖C_RGB^p − f_RGB^adv‖ + ρ, 0)
//   infrared step:  L_i = max(‖C_ir^n − f_ir^adv‖ − ‖C_ir^p − f_ir^adv‖ + ρ, 0)
// Descending L pulls the feature towards a negative centroid and pushes it from the positive
// one. What couples the modalities in the "own" form is the one η and the momentum Δ the two
// steps share.
//
// MI-SGD (eq. 5–6, Alg. 1), alternating a visible and an infrared minibatch with the momentum
// carried across the two (the "synergy"):
//   Δ ← θ·Δ + ∇_η L / ‖∇_η L‖₁
//   η ← Π_ε(η − α_t·sign(Δ))         (L2: η − α_t·Δ/‖Δ‖₂, then onto the L2 ball)
// α_t = α·exp(−decay·t) at epoch t (the reference code's ExponentialLR(exp(−0.01))). The paper
// writes η + α·sign(Δ); its code descends the triplet loss as above, and so do we.
//
// Cross-modality attack augmentation (§3.3): each visible fitting image is replaced by its
// 3-channel grayscale with probability `grayscale` (code: 0.2).
//
// modalities "visible" or "infrared": only that modality's steps, against its own centroids
// (C^p and C^n of the same modality): the single-modality UAP-Retrieval baseline (Li et al.
// 2019) of the paper's ablation (Table 5, No. 1 with grayscale 0, No. 2 with augmentation).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/attack/attack.h"
#include "runtime/data/dataset.h"

namespace perturb {

struct CmpsOptions {
  int64_t epochs = 10;
  int64_t batch = 32;          // per modality
  std::optional<double> step;  // α; default eps/12 (the paper; the code uses eps/10)
  double momentum = 1;         // θ
  double margin = 0.5;         // ρ
  double grayscale = 0.2;      // augmentation probability p
  std::string modalities = "both";
  double decay = 0.01;  // α_t = α·exp(−decay·t)
  // "own": each step against its own modality's centroids, as the reference code's two steps
  // are; "cross": the paper's eq. 4/7 centroids above. "own" is the default because "cross"
  // barely beat random noise on the stand-in (docs/crossmodal.md has both).
  std::string centroids = "own";
  int64_t kmeans_iterations = 20;

  // Throws Error naming the bad option.
  void check() const;
};

// The modalities options: "both", "visible", "infrared".
const std::vector<std::string>& cmps_modalities();

class Cmps : public Attack {
 public:
  // Throws Error for a threat other than Linf or L2 (a physical threat's parameters are drawn
  // per input and cannot be one universal η) or bad options.
  Cmps(ThreatPtr threat, CmpsOptions options);

  std::string name() const override { return "CMPS"; }
  std::string describe() const override;
  // clamp(x + η, domain); Error when not fitted (CMPS needs both modalities: fit first).
  torch::Tensor run(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                    at::Generator& gen, AttackStats* stats = nullptr) const override;
  ThreatPtr threat() const override { return threat_; }
  std::shared_ptr<Attack> with(const Params& params) const override;

  // η learnt by the equations above, a fitted copy. visible_model / infrared_model give each
  // modality's embedding (a two-branch network's features through each branch; the same model
  // twice for a one-stream network). Draws the centroid seeds, the batch order and the
  // augmentation from gen.
  std::shared_ptr<Cmps> fit(Model& visible_model, Model& infrared_model, const Dataset& visible,
                            const Dataset& infrared, at::Generator& gen) const;

  bool fitted() const { return eta_.defined(); }
  // η [1, C, H, W]; Error if not fitted.
  torch::Tensor perturbation() const;
  // The mean triplet loss of each epoch's steps (empty when not fitted).
  const std::vector<double>& fit_losses() const { return losses_; }
  const CmpsOptions& options() const { return options_; }
  double step() const;

 private:
  ThreatPtr threat_;
  ThreatPtr ball_;  // the threat's ball around 0 with the domain widened to ±(hi − lo), for η
  CmpsOptions options_;
  torch::Tensor eta_;
  std::vector<double> losses_;
  int64_t fit_samples_ = 0;
};

// k-means with `iterations` Lloyd steps on the unit sphere (cosine assignment, normalised means)
// from k distinct data points drawn from gen: centroids [k, d], unit rows. k > N → k = N.
torch::Tensor spherical_kmeans(const torch::Tensor& features, int64_t k, int64_t iterations,
                               at::Generator& gen);

}  // namespace perturb
