// The Wasserstein ball with local transport and its projected-Sinkhorn projection
// (Wong, Schmidt, Kolter 2019, "Wasserstein adversarial examples via projected Sinkhorn
// iterations"; thesis ch. 4, eqs. 4.6–4.9). Images [N, C, H, W] are treated per channel as
// distributions of mass over pixels; mass moves only within a kernel×kernel neighbourhood, at
// cost C(Δi, Δj) = √(Δi² + Δj²): the Euclidean distance in pixels, i.e. the 1-Wasserstein
// distance the thesis uses (§4.4 "Implementation Details"; the reference code's p = 1 cost
// (|Δi|² + |Δj|²)^(p/2)).
#pragma once

#include <torch/torch.h>

namespace perturb {

// The local cost [kernel, kernel]; kernel must be odd and ≥ 1.
torch::Tensor wasserstein_cost(int64_t kernel, const torch::TensorOptions& options);

struct SinkhornProjection {
  torch::Tensor z;     // the projection, same shape as y, non-negative
  torch::Tensor cost;  // [N]: ⟨T, C⟩ of the final transport plan, in units of x's mass
  torch::Tensor psi;   // [N]: the constraint's dual variable (0 when the ball is inactive)
};

// Projects y onto {z : W(x, z) ≤ eps} under the entropy-regularised objective of eq. 4.6,
// by `iters` projected Sinkhorn iterations on the dual (4.7–4.8): closed-form updates of the
// two potentials (the second through the Lambert W function) and a Newton step on the
// constraint's multiplier ψ ≥ 0; z is read off the potentials (4.9). x and y are [N, C, H, W]
// with x ≥ 0; both are divided by x's total mass per sample first (eps is in those units,
// like the reference), and z is scaled back. Computed in float64.
SinkhornProjection projected_sinkhorn(const torch::Tensor& x, const torch::Tensor& y, double eps,
                                      int64_t kernel, double reg, int64_t iters);

}  // namespace perturb
