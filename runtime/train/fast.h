// "Fast is better than free" (Wong et al. 2020): FGSM from a uniform random start.
#pragma once

#include "runtime/attack/attack.h"

namespace perturb {

// Wong et al. 2020, Algorithm 3 (FGSM adversarial training), one batch:
//   δ ~ U(−ε, ε) (threat->sample: uniform in the ball, clamped to the domain)
//   δ ← Π_ε(δ + α·sign(∇_δ CE(f(x + δ), y)))   (threat->ascend, then threat->project)
// with α = `step` (the paper's 1.25·ε for L-inf). The gradient is taken in the model's current
// mode (the paper's code keeps the network in training mode). Needs an additive threat (Lp):
// anything else → Error.
torch::Tensor fast_adversarial(Model& model, const Threat& threat, const torch::Tensor& x,
                               const torch::Tensor& y, double step, at::Generator& gen);

// The paper's step for a threat: 1.25·eps.
double default_fast_step(const Threat& threat);

}  // namespace perturb
