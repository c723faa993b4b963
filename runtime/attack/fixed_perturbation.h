// A given perturbation added to every input: x ↦ clamp(x + Π(δ), domain), Π the threat's
// projection onto its ball around 0. The baselines of universal attacks are written with it: a
// random sign tensor of the same norm (random noise), or an η saved from an earlier fit.
#pragma once

#include "runtime/attack/attack.h"

namespace perturb {

// δ shaped like one input, with or without a leading batch of 1 (checked against each batch;
// projected onto the ball when applied). Error for a threat that is not an Lp ball (Linf, L2,
// L1) or a number.
AttackPtr make_fixed_perturbation(ThreatPtr threat, const torch::Tensor& delta);

}  // namespace perturb
