// Zeroth-order (ZO) gradient estimates for a black box reachable only through queries
// (thesis ch. 6, eqs. 6.15–6.16 and 6.19; Liu et al. 2020, "A primer on zeroth-order
// optimization"). The black box maps a batch z [B, ...] to a loss made of one value per sample
// plus a batch-level term (the MMD of eq. 6.11): L(z) = mean_i l_i(z_i) + b(z).
//
// RGE (eq. 6.16): ∇̂_i = d/(ξ·q) Σ_k [L(z + ξ·u_k) − L(z)]·u_k,i with u_k,i drawn uniformly from
//   the unit sphere of R^d independently for every sample (d the per-sample dimension); the
//   per-sample terms enter with their own difference l_i(z_i + ξu_k,i) − l_i(z_i) (the other
//   samples' differences have mean zero against u_k,i, so dropping them removes variance only).
//   q + 1 queries per sample.
// CGE (eq. 6.19): ∇̂_i,j = [L(z + ξ·s_i·e_j) − L(z − ξ·s_i·e_j)] / (2ξ·s_i) for every
//   coordinate j. The thesis's eq. 6.19 divides by ξ, not 2ξ, which doubles the estimate (a
//   rescaled step); we use the central difference, which converges to the gradient. All samples
//   are perturbed at coordinate j at once, sample i with a random sign s_i = ±1, so the
//   batch-level term's cross-sample contributions cancel in expectation; the per-sample terms
//   are exact central differences. 2·d queries per sample.
// A query is one sample through the black box; the estimates report how many they made.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <torch/torch.h>

namespace perturb {

struct BlackBoxLoss {
  torch::Tensor per_sample;  // [B]: l_i
  torch::Tensor batch;       // scalar b (zero when the loss has no batch-level term)
  torch::Tensor total() const { return per_sample.mean() + batch; }
};
// Evaluates the black box's loss at a batch z (called without gradients).
using BlackBoxFn = std::function<BlackBoxLoss(const torch::Tensor& z)>;

struct ZoEstimate {
  torch::Tensor grad;   // like z
  int64_t queries = 0;  // samples sent through the black box
  torch::Tensor value;  // L(z) when the estimate evaluated it (RGE), else undefined
};

enum class ZoMethod { kRge, kCge };
// "rge" or "cge"; anything else → Error naming both.
ZoMethod parse_zo_method(const std::string& name);

ZoEstimate rge_gradient(const BlackBoxFn& f, const torch::Tensor& z, int64_t q, double xi,
                        at::Generator& gen);
ZoEstimate cge_gradient(const BlackBoxFn& f, const torch::Tensor& z, double xi, at::Generator& gen);

}  // namespace perturb
