// Cross-modal Data Augmentation, CMDA (Chen et al., "Cross-modal Data Augmentation for Tasks of
// Different Modalities", §III): new samples of the student modality (images) interpolated in
// RAW space with weights that the teacher modality (captions) gives in a common latent space.
//
//   - The common latent space: the multi-modal contrastive losses eq. 7 (unsupervised) and eq. 8
//     (supervised), learnt offline (CMDA (offline), Algorithm 1 line 3) by train_common_space on
//     a two-tower model, or any two-tower model trained by other means (contrastive InfoNCE).
//   - Double Cross-Attention (DCA, eq. 10–11, Algorithm 1 lines 5–12): inter-modal weights from
//     the teacher–student latent dot products normalised over the batch, times intra-modal
//     weights from a Gaussian mixture fitted to the batch (gmm.h).
//   - CmdaPolicy: the augmentation policy (`CMDA(teacher: "text", clusters: 2)`), which reads
//     the batch's teacher latents from AugmentBatch::teacher.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/augment/gmm.h"
#include "runtime/augment/policy.h"
#include "runtime/data/pairs.h"
#include "runtime/model/two_tower.h"

namespace perturb {

// ---- The common latent space (eq. 7, 8) ----

// Per-sample losses ℓ_i [m] of eq. 7 for K ≥ 2 modalities z[k] [m, d] (rows are the same m
// samples in every modality; sim is the cosine similarity):
//   ℓ_i = −log Σ_{p≠q} exp(sim(z_i^p, z_i^q)/τ) / Σ_{p≠q} Σ_{l≠i} exp(sim(z_i^p, z_l^q)/τ).
// The denominator leaves out l = i, as the equation reads. Eq. 9's L_g is the sum over i.
torch::Tensor cmda_unsupervised_terms(const std::vector<torch::Tensor>& z, double tau);

// Per-sample losses ℓ_i [m] of eq. 8 with labels y [m]:
//   ℓ_i = −1/(m_{y_i} − 1) Σ_j 1[y_i = y_j] log Σ_{p≠q} e(i,j)^{p,q} / Σ_{p≠q} Σ_{l≠i} e(i,l)^{p,q}
// with e(i,j)^{p,q} = exp(sim(z_i^p, z_j^q)/τ). The sum over j includes j = i (the other modality
// of the same sample, eq. 7's positive), as written; a class seen once in the batch divides by
// 1 instead of 0, so with all labels distinct eq. 8 equals eq. 7.
torch::Tensor cmda_supervised_terms(const std::vector<torch::Tensor>& z, const torch::Tensor& y,
                                    double tau);

struct SpaceTrainOptions {
  int64_t epochs = 10;
  int64_t batch = 128;
  double lr = 1e-3;  // Adam
  double tau = 0.1;
  bool supervised = false;  // eq. 8 (needs labels) instead of eq. 7
  uint64_t seed = 0;
  bool quiet = false;
};

struct SpaceEpoch {
  int64_t epoch = 0;
  double loss = 0;  // mean ℓ_i over the epoch
};

// CMDA (offline): learns the two-tower model's common space by minimising the mean of eq. 7's
// (or eq. 8's) ℓ_i over image–caption batches (each image with one of its captions, drawn
// afresh every epoch). Every draw derives from options.seed.
std::vector<SpaceEpoch> train_common_space(TwoTower& space, const PairedDataset& data,
                                           const SpaceTrainOptions& options);

struct SpaceOptions {
  int64_t dim = 32;      // latent dimension
  int64_t hidden = 256;  // hidden units of each tower
  uint64_t seed = 0;     // weight initialisation
};

// A small two-tower space for CMDA, as the paper's (§IV-B: fully-connected layers with ReLUs
// between them project each modality into the common space): image tower flatten → hidden →
// dim; text tower bag of words over the captions' vocabulary (lower-cased words, divided by the
// caption's length) → hidden → dim. Its tokenizer is a word-level one of its own.
TwoTowerPtr make_cmda_space(const PairedDataset& data, const SpaceOptions& options);

// Teacher latents for every image: the L2-normalised text embeddings of each image's captions,
// [N, K, d] with K the most captions of any image (images with fewer repeat theirs cyclically).
torch::Tensor caption_latents(TwoTower& space, const PairedDataset& data, int64_t batch = 256);

// ---- Double Cross-Attention (eq. 10, 11) ----

// Inter-modal weights [m', m] (eq. 10 / Algorithm 1 line 11): the dot products z_t · ẑ_jᵀ of
// teacher and student latents, normalised over the student batch. Negative products count as
// 0 (with cosine latents the paper's sum can be near zero or negative, which would not give an
// interpolation); `samples` > 0 keeps each row's m' = samples largest; a row with no positive
// product puts all its weight on its own sample (the diagonal; m' must equal m then).
torch::Tensor inter_modal_weights(const torch::Tensor& teacher, const torch::Tensor& student,
                                  int64_t samples = 0);

// Intra-modal weights [m, m] (eq. 11 / Algorithm 1 line 6) from the responsibilities r [m, M]
// of the batch under the mixture (r_i(h) = α_h φ(x_i|θ_h) / Σ_h' α_h' φ(x_i|θ_h')):
//   w_ij = r_i(c_j) + r_i(c_i),  c_k = the cluster of sample k (argmax_h r_k(h)).
// Each w_ij lies in [0, 2]; w_ii = 2 r_i(c_i); samples of i's own cluster weigh the most.
torch::Tensor intra_modal_weights(const torch::Tensor& responsibilities);

// DCA weights [m', m]: inter ⊙ intra, each row divided by its sum so that the new sample is a
// convex combination of the batch (the raw product's rows sum to between 0 and 2, which would
// darken or brighten the interpolated image); a zero row falls back to the inter weights.
torch::Tensor dca_weights(const torch::Tensor& inter, const torch::Tensor& intra);

// x_new_i = Σ_j w_ij x̂_j (Algorithm 1 line 12) for x [m, ...] in raw space and w [m', m].
torch::Tensor interpolate_raw(const torch::Tensor& x, const torch::Tensor& weights);

// ---- The policy ----

struct CmdaOptions {
  std::string teacher = "text";        // the teacher modality (captions)
  int64_t clusters = 2;                // M; 0 = chosen by BIC on each batch (M = 1..6)
  double p = 0.5;                      // chance that a sample is replaced by its interpolation
  int64_t samples = 0;                 // m' (0 = the whole batch, Algorithm 1 line 12)
  std::string cluster_on = "teacher";  // fit the mixture to the "teacher" or "student" latents
  GmmOptions gmm;                      // the paper's EM settings by default
  // CMDA with the downstream task (eq. 9): every batch also takes one SGD step on the space
  // with lambda · L_g (the mean of eq. 7's ℓ_i, or eq. 8's when supervised), so that with the
  // classifier's own step on L_f the two minimise L_f + λ·L_g together (they share no
  // parameters). The batch's teacher is then caption indices into the policy's caption table.
  bool joint = false;
  double lambda = 0.1;     // the paper's λ
  double space_lr = 0.01;  // the paper's SGD learning rate
  double tau = 0.1;
  bool supervised = false;
};

class CmdaPolicy : public Policy {
 public:
  // space may be null: the policy then fails when applied, naming what is missing (the
  // interpreter trains one on the paired data before training, train_classifier_on_pairs).
  CmdaPolicy(CmdaOptions options, TwoTowerPtr space);
  std::string name() const override { return "CMDA"; }
  std::string describe() const override;
  // Needs batch.teacher: [N, d] or [N, K, d] teacher latents (one of the K captions is drawn
  // per sample). Selected samples (chance p) become x_new of eq. 11 with soft labels mixed by
  // the same weights.
  AugmentBatch apply(AugmentBatch batch, at::Generator& gen) const override;
  // Images alone carry no teacher modality: always an Error saying so.
  torch::Tensor apply(const torch::Tensor& x, at::Generator& gen) const override;
  bool mixes_labels() const override { return true; }

  const CmdaOptions& options() const { return options_; }
  const TwoTowerPtr& space() const { return space_; }
  std::shared_ptr<const CmdaPolicy> with_space(TwoTowerPtr space) const;
  // For joint training (options().joint): the policy with its space, the caption table the
  // batches' teacher indices point into, and the space's optimizer (state shared by copies).
  std::shared_ptr<const CmdaPolicy> joint_with(
      TwoTowerPtr space, std::shared_ptr<const std::vector<std::string>> captions) const;

 private:
  // eq. 9's latent-space step on this batch of images and their chosen captions (joint mode).
  void joint_step(const torch::Tensor& x, const torch::Tensor& y,
                  const std::vector<std::string>& captions) const;
  // The batch's teacher latents z_i^t of eq. 10 [N, d], unit rows: one of each image's
  // captions, drawn from `gen` when it has several.
  torch::Tensor teacher_latents(const AugmentBatch& batch, const torch::Tensor& x,
                                at::Generator& gen) const;
  // Joint mode: the embeddings of captions drawn from the batch's indices, after the space's
  // step on them (eq. 9).
  torch::Tensor joint_teacher_latents(const torch::Tensor& caption_ids, const torch::Tensor& x,
                                      const torch::Tensor& y, at::Generator& gen) const;
  CmdaOptions options_;
  TwoTowerPtr space_;
  std::shared_ptr<const std::vector<std::string>> captions_;
  std::shared_ptr<torch::optim::SGD> optimizer_;
};

// Caption indices for joint CMDA: [N, K] int64 into data.all_captions() (images with fewer than K
// captions repeat theirs cyclically).
torch::Tensor caption_indices(const PairedDataset& data);

}  // namespace perturb
