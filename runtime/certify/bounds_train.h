// Certified training with bound propagation: the IBP loss of Gowal et al. 2018 and the
// CROWN-IBP loss of Zhang et al. 2020, with an eps ramp.
//
// For a batch (x, y) and the current radius eps_t, the margin specification C (f_y − f_j, j ≠ y)
// gets lower bounds m over the threat's set at eps_t; the worst-case logits are z = [0, −m]
// (class 0 of z standing for y), and the robust loss is CE(z, 0) — a cross-entropy on logits
// no input of the set can beat (Wong and Kolter 2018; auto_LiRPA's `lb_padded` construction).
//   IBP:       loss = κ·CE(f(x), y) + (1 − κ)·CE(z_IBP, 0)          (Gowal et al. 2018, eq. 12)
//   CROWN-IBP: m = β·m_CROWN-IBP + (1 − β)·m_IBP, loss = κ·CE + (1 − κ)·CE(z, 0)
//                                                                     (Zhang et al. 2020, eq. 7)
// Schedule over the run (t = fraction of all batches done):
//   t < warmup: eps_t = 0 and κ = 1 (clean training);
//   over the next `ramp` fraction, eps_t rises linearly from 0 to eps, κ falls linearly from
//   1 to kappa_end and β from 1 to beta_end; after that eps_t = eps, κ = kappa_end, β = beta_end.
// The bounds read the model's layers through BoundNetwork (BatchNorm with its running
// statistics, not the batch's: certified training of networks with BatchNorm is approximate).
#pragma once

#include <string>

#include "runtime/certify/bounds.h"
#include "runtime/train/train.h"

namespace perturb {

struct CertifiedTrainOptions {
  BoundMethod method = BoundMethod::kIbp;
  ThreatPtr threat;   // Linf or L2; its eps is the final radius
  double warmup = 0;  // fraction of the run trained clean
  double ramp = 0.5;  // fraction of the run over which eps, κ and β move to their end values
  double kappa_end = 0.5;
  double beta_end = 0;  // CROWN-IBP only
};

// The schedule at a point of the run: fraction t ∈ [0, 1] of the batches done.
struct CertifiedSchedule {
  double eps = 0, kappa = 1, beta = 1;
};
CertifiedSchedule certified_schedule(const CertifiedTrainOptions& options, double t);

// The robust cross-entropy CE([0, −m], 0) for margin lower bounds m [B, K−1] (mean over B).
torch::Tensor robust_cross_entropy(const torch::Tensor& margin_lower);

// Margin lower bounds [B, K−1] at radius eps with gradients to the model's parameters; the
// CROWN-IBP mix uses beta (1: CROWN-IBP alone, 0: IBP alone).
torch::Tensor training_margin_bounds(Model& model, const Threat& threat, double eps,
                                     const torch::Tensor& x, const torch::Tensor& y,
                                     BoundMethod method, double beta);

// The per-batch loss for train(): TrainOptions::batch_loss. `epochs` is the run's length.
BatchLossFn certified_batch_loss(const CertifiedTrainOptions& options, int64_t epochs);

}  // namespace perturb
