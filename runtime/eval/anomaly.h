// Anomaly (out-of-distribution) detection: the detector the CMDA paper evaluates with (SSD,
// Sehwag et al. 2021: features of the normal training data, score = Mahalanobis distance to
// them) and the two metrics of its Table I, AUROC and AUPR.
//
// Scores are "higher = more abnormal" throughout; labels are 1 (abnormal, the positive class)
// and 0 (normal).
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "runtime/model/model.h"

namespace perturb {

// Area under the ROC curve: the probability that a random abnormal sample scores above a
// random normal one, ties counting one half (Mann–Whitney U with mid-ranks; equal to
// scikit-learn's roc_auc_score). scores [N] and labels [N] (bool or 0/1); Error when a class is
// missing or the sizes differ.
double auroc(const torch::Tensor& scores, const torch::Tensor& labels);

// Area under the precision–recall curve as scikit-learn's average_precision_score:
// Σ_k (R_k − R_{k−1}) P_k over the distinct score thresholds taken from high to low (tied scores
// enter together), abnormal = positive.
double aupr(const torch::Tensor& scores, const torch::Tensor& labels);

struct MahalanobisOptions {
  bool normalize = true;  // L2-normalise the features first (SSD does)
  double reg = 1e-6;      // added to the covariance's diagonal (relative to its mean variance)
};

// SSD's detector: the normal features' class means (one cluster when labels are undefined) and
// their pooled (tied) covariance Σ; score(f) = min_c (f − μ_c)ᵀ Σ⁻¹ (f − μ_c).
class MahalanobisDetector {
 public:
  // features [N, d]; labels [N] int64 or undefined (one cluster).
  MahalanobisDetector(const torch::Tensor& features, const torch::Tensor& labels,
                      MahalanobisOptions options = {});
  torch::Tensor score(const torch::Tensor& features) const;  // [M] float64 on the CPU
  int64_t clusters() const { return means_.size(0); }

 private:
  torch::Tensor prepare(const torch::Tensor& f) const;
  torch::Tensor means_;      // [C, d]
  torch::Tensor precision_;  // [d, d] Σ⁻¹
  MahalanobisOptions options_;
};

// The model's outputs (flattened) as features of the normal data (x_normal, labels or
// undefined) and of the test inputs, `batch` at a time in eval mode; the test inputs'
// Mahalanobis scores [M].
torch::Tensor mahalanobis_scores(Model& model, const torch::Tensor& x_normal,
                                 const torch::Tensor& y_normal, const torch::Tensor& x_test,
                                 int64_t batch = 256, MahalanobisOptions options = {});

}  // namespace perturb
