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

// The default stopping tolerance of projected_sinkhorn: a sample stops iterating once an
// iteration moves no pixel of its projection by more than this (in x's units, e.g. [0, 1]
// intensities) and changes ψ by at most this relative to 1 + ψ.
constexpr double kSinkhornTol = 1e-4;

struct SinkhornProjection {
  torch::Tensor z;        // the projection, same shape and type as y, non-negative
  torch::Tensor cost;     // [N] float64: ⟨T, C⟩ of the final plan, in units of x's mass
  torch::Tensor psi;      // [N] float64: the constraint's multiplier (0: the ball is inactive)
  torch::Tensor iters;    // [N] int64: the iterations each sample ran before it stopped
  torch::Tensor refined;  // [N] bool: left float32's range and was computed again in float64
};

// Projects y onto {z : W(x, z) ≤ eps} under the entropy-regularised objective of eq. 4.6,
// by projected Sinkhorn iterations on the dual (4.7–4.8): closed-form updates of the two
// potentials (the second through the Lambert W function) and a Newton step on the constraint's
// multiplier ψ ≥ 0; z is read off the potentials (4.9). x and y are [N, C, H, W] with x ≥ 0;
// both are divided by x's total mass per sample first (eps is in those units, like the
// reference), and z is scaled back.
//
// Each sample iterates until a step moves z by at most `tol` (max over pixels, x's units) and
// ψ by at most tol·(1 + ψ), or for `iters` iterations; stopped samples leave the batch. tol 0
// runs every sample `iters` times. The potentials live in log space and every exp() is shifted
// by the sample's largest exponent, so nothing overflows for any mass (the reference's
// e^{λY} does in float32 on low-mass images). `dtype` is the compute type: float32 (default;
// measured within 1e-5 of float64 on z, tests/unit/test_wasserstein.cpp) or float64. A sample
// whose float32 iterates leave the finite range (a very large ψ on a low-mass image) is
// computed again in float64 (`refined`); should that fail too, z = x (cost 0, ψ = NaN).
SinkhornProjection projected_sinkhorn(const torch::Tensor& x, const torch::Tensor& y, double eps,
                                      int64_t kernel, double reg, int64_t iters,
                                      double tol = kSinkhornTol,
                                      torch::ScalarType dtype = torch::kFloat32);

}  // namespace perturb
