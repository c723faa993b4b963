// The attack library beyond FGSM/PGD: the momentum FGSM family, CW, APGD, FAB and Square.
// Each follows its paper and the reference implementation's defaults; docs/attacks.md lists
// them side by side with torchattacks / AutoAttack / Foolbox.
#pragma once

#include <optional>
#include <string>

#include "runtime/attack/attack.h"

namespace perturb {

// MI-FGSM (Dong et al. 2018), NI-FGSM and SI-NI-FGSM (Lin et al. 2020), DI-FGSM (Xie et al. 2019)
// with torchattacks' update rules:
//   g ← μ·g + ∇/mean|∇| (per sample);  x ← project(ascend(x, g, step)).
// NI/SI-NI take the gradient at the look-ahead x + μ·step·g; SI-NI averages it over the scales
// x/2^i, i < scales; DI takes it through a random resize-and-pad with probability
// diversity_prob. step defaults to the threat's 2.5·eps/steps, torchattacks' alpha = 2/255 at its
// eps = 8/255 and 10 steps (the MI-FGSM paper's α = ε/T is step: eps / steps).
struct MomentumOptions {
  std::string kind = "MIFGSM";  // "MIFGSM", "NIFGSM", "SINIFGSM" or "DIFGSM"
  int64_t steps = 10;
  std::optional<double> step;
  double decay = 1.0;  // μ; DI-FGSM's default is 0 (torchattacks)
  int64_t scales = 5;  // SI-NI-FGSM's m
  double resize_rate = 0.9;
  double diversity_prob = 0.5;
  bool random_start = false;
  GradientOptions gradient;
  // MIFGSM only (the others take their gradient away from x_adv, so its logits do not say
  // whether x_adv fools): a sample leaves once fooled, keeping that point. Needs eot = 1.
  bool early_stop = false;
};
AttackPtr make_momentum(ThreatPtr threat, MomentumOptions options);

// Carlini & Wagner (2017) L2: Adam on w with x' = lo + (hi − lo)·(tanh(w) + 1)/2, minimising
// ‖x' − x‖₂² + c·max(z_y − max_{j≠y} z_j, −kappa) (targeted: max(max_{j≠t} z_j − z_t, −kappa)).
// search_steps > 1 runs the paper's binary search over c per sample. The smallest successful
// perturbation is kept; the result is projected onto the threat (an L2 ball), so a sample whose
// smallest adversarial perturbation is larger than eps stays robust.
struct CwOptions {
  double c = 1;
  double kappa = 0;
  int64_t steps = 50;  // torchattacks
  double lr = 0.01;
  int64_t search_steps = 1;
  TargetSpec target;
};
AttackPtr make_cw(ThreatPtr threat, CwOptions options);

// APGD (Croce & Hein 2020, Algorithm 1) as in AutoAttack: step 2·eps, momentum 0.75, checkpoints
// at p_j (0.22 then −0.03 per checkpoint, at least 0.06 of the steps), halving the step on
// oscillation (rho) or no improvement and restarting from the best point. `targets` > 0 runs
// APGD-T: each of the `targets` most likely classes after the true one in turn (loss "dlr" then
// means targeted DLR). restarts re-run on samples not yet fooled.
struct ApgdOptions {
  int64_t steps = 100;
  int64_t restarts = 1;
  double rho = 0.75;
  int64_t targets = 0;
  GradientOptions gradient;  // loss "ce" by default; "dlr"; target:; eot:
  // A sample leaves a run at its first misclassified iterate, which it keeps (AutoAttack keeps
  // running and keeps the last one). Needs eot = 1 and objective "class".
  bool early_stop = false;
};
AttackPtr make_apgd(ThreatPtr threat, ApgdOptions options);

// Square attack (Andriushchenko et al. 2020), scores only: random square updates of size
// √(p·features/channels) with AutoAttack's p schedule (p_init halved at 10, 50, 200, 500, 1000,
// 2000, 4000, 6000, 8000 of 10000 iterations, rescaled to `queries`), margin loss, a sample
// stops once fooled. Linf: vertical-stripe start, squares of ±2·eps. L2: the paper's
// pseudo-Gaussian squares moving mass between two windows.
struct SquareOptions {
  int64_t queries = 5000;
  double p_init = 0.8;
  int64_t restarts = 1;
};
AttackPtr make_square(ThreatPtr threat, SquareOptions options);

// FAB (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive
// boundary attack"), targeted version FAB-T as in AutoAttack: linearise the logit difference to
// the target, project the current point and the original onto the hyperplane ∩ box, take the
// biased convex combination (alpha_max, eta, beta), keep the smallest successful perturbation.
// `targets` most likely classes in turn (AutoAttack: 9). The result is projected onto the threat.
struct FabOptions {
  int64_t steps = 100;
  int64_t restarts = 1;
  int64_t targets = 9;
  double alpha_max = 0.1;
  double eta = 1.05;
  double beta = 0.9;
};
AttackPtr make_fab(ThreatPtr threat, FabOptions options);

}  // namespace perturb
