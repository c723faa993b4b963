// Gaussian mixture models fitted by expectation–maximisation (Dempster et al. 1977; Moon 1996),
// for CMDA's intra-modal relation weights (cross-modal-data-augmentation paper, eq. 11, Algorithm
// 1 line 5) and for choosing the number of clusters M by AIC/BIC (§IV-C, Fig. 5).
//
// Diagonal covariances: CMDA fits one mixture per training batch (m ≈ 128 points) in a latent
// space of d = 32..512 dimensions, where a full d×d covariance per component has more parameters
// than the batch has points; the diagonal model is O(m·M·d) per EM step instead of the paper's
// O(m·M·d³) (§IV-K). The paper's settings are the defaults: at most 100 EM iterations, stop when
// the mean log-likelihood per point changes by less than 1e-3, 1e-6 added to every variance
// (scikit-learn's GaussianMixture max_iter, tol and reg_covar). Initialisation: k-means++ seeds
// (Arthur and Vassilvitskii 2007) drawn from the caller's generator, 10 Lloyd iterations, and the
// hard assignment as the first responsibilities (scikit-learn's init_params="kmeans").
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace perturb {

struct GmmOptions {
  int64_t components = 2;  // M
  int64_t max_iter = 100;
  double tol = 1e-3;  // on the change of the mean log-likelihood per point
  double reg = 1e-6;  // added to every variance
};

struct Gmm {
  torch::Tensor weights;      // α_h [M] float64, sums to 1
  torch::Tensor means;        // μ_h [M, d] float64
  torch::Tensor variances;    // σ²_h [M, d] float64 (diagonal covariances)
  double log_likelihood = 0;  // Σ_i log p(x_i) on the data it was fitted on
  int64_t points = 0;         // N it was fitted on
  int64_t iterations = 0;     // EM iterations run
  bool converged = false;

  int64_t components() const { return weights.size(0); }
  int64_t dim() const { return means.size(1); }
  // log(α_h φ(x_i | θ_h)) [N, M] float64 for x [N, d].
  torch::Tensor log_joint(const torch::Tensor& x) const;
  // Posterior P(h | x_i) [N, M]: α_h φ(x_i|θ_h) / Σ_h' α_h' φ(x_i|θ_h').
  torch::Tensor responsibilities(const torch::Tensor& x) const;
  // The most probable component of each point, [N] int64.
  torch::Tensor predict(const torch::Tensor& x) const;
  // Σ_i log p(x_i).
  double total_log_likelihood(const torch::Tensor& x) const;
  // Free parameters: M·d means + M·d variances + (M − 1) weights.
  int64_t parameter_count() const;
  // Akaike: −2 log L + 2p; Bayesian (Schwarz): −2 log L + p ln N, on the fitted data.
  double aic() const;
  double bic() const;
};

// Fits a mixture to x [N, d] (any float dtype, any device; computed in float64 on the CPU).
// Throws Error for N < components, a non-2-D x, or non-finite values.
Gmm fit_gmm(const torch::Tensor& x, const GmmOptions& options, at::Generator& gen);

struct GmmSelection {
  std::vector<int64_t> components;  // 1..max
  std::vector<double> aic, bic;
  std::vector<double> log_likelihood;
  int64_t best = 1;  // the M of the lowest BIC
  Gmm model;         // the mixture with M = best
};

// Fits M = 1..max_components (each from a seed drawn from gen) and picks the lowest BIC (the
// paper's criterion; AIC is reported beside it).
GmmSelection select_gmm(const torch::Tensor& x, int64_t max_components, GmmOptions options,
                        at::Generator& gen);

}  // namespace perturb
