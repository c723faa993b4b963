// Randomized smoothing with Gaussian noise (Cohen, Rosenfeld and Kolter 2019): the smoothed
// classifier g(x) = argmax_c P(f(x + e) = c), e ~ N(0, sigma^2 I), its PREDICT and CERTIFY
// Monte Carlo algorithms, and an anytime-valid sequential variant of CERTIFY (sequential.h).
//
// Noise is added to the input as the model receives it (pixels in [0, 1]), before any
// normalisation the model does inside itself, and is not clipped, as in the reference.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "runtime/certify/certificate.h"
#include "runtime/data/dataset.h"
#include "runtime/model/model.h"

namespace perturb {

struct SmoothOptions {
  double sigma = 0.25;   // noise standard deviation, in input units
  int64_t n0 = 100;      // samples to select the top class
  int64_t n = 100000;    // samples to estimate its probability
  double alpha = 0.001;  // failure probability of each certificate
  int64_t batch = 1000;  // noisy copies per forward pass
  // Sequential CERTIFY (sequential.h): stop an input's sampling once the confidence sequence
  // settles, for every radius in `radii`, whether the input is certified at that radius.
  bool sequential = false;
  std::vector<double> radii;  // empty → 0 to 2·sigma in steps of sigma/4
  int64_t first_look = 100;   // sequential: first look after this many samples, then doubling
  // certify's out: file (row_log.h): each row appended as it is certified, and rows a stopped
  // run left there reused. In a group of processes rank R writes PATH.rankR. "" = none.
  std::string rows_path;
};

// Checks the options in the user's terms (sigma > 0, 0 < alpha < 1, n0, n, batch >= 1, ...).
void check_smooth_options(const SmoothOptions& options);

// ---- Statistics (Boost.Math) ----
// One-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion from k successes
// in n trials: the alpha quantile of Beta(k, n - k + 1); 0 when k = 0. Equals the reference's
// statsmodels proportion_confint(k, n, alpha=2*alpha, method="beta")[0].
double clopper_pearson_lower(int64_t k, int64_t n, double alpha);
// One-sided (1 - alpha) upper bound: the 1 - alpha quantile of Beta(k + 1, n - k); 1 when k = n.
double clopper_pearson_upper(int64_t k, int64_t n, double alpha);
// Two-sided exact binomial test of H0: p = 1/2 for k successes in n trials (scipy's binom_test
// with p=0.5): min(1, 2 * P(X <= min(k, n - k))), and 1 when k = n/2.
double binomial_test_half(int64_t k, int64_t n);
// The standard normal quantile Phi^-1(p), 0 < p < 1.
double normal_quantile(double p);
// The standard normal CDF Phi(z).
double normal_cdf(double z);

// Draws noisy copies of one input on the model's device and counts the model's top-1 classes.
// Batches of `batch` copies share one preallocated buffer; runs under torch::InferenceMode.
class NoiseCounter {
 public:
  NoiseCounter(Model& model, double sigma, int64_t batch, at::Generator& gen);
  // Class counts (int64, CPU, length = number of classes) of f(x + e) over `num` samples;
  // x is C×H×W (or any single input shape the model takes).
  std::vector<int64_t> counts(const torch::Tensor& x, int64_t num);
  int64_t classes() const { return classes_; }

 private:
  Model& model_;
  double sigma_;
  int64_t batch_;
  at::Generator& gen_;
  int64_t classes_ = -1;  // learnt from the first forward pass
  torch::Tensor buffer_;  // batch × input shape on the model's device
};

struct SmoothResult {
  int64_t prediction = Certificate::kAbstain;
  double radius = 0;
  double p_lower = 0;   // lower confidence bound on p_A
  int64_t count = 0;    // samples of the top class among those counted
  int64_t samples = 0;  // noisy samples drawn (selection + estimation)
};

// CERTIFY (Cohen et al. 2019, Algorithm/Pseudocode "CERTIFY"): c_A from the counts of n0 noisy
// samples; n_A = count of c_A in n fresh samples; p_A lower bound by Clopper-Pearson at 1 - alpha;
// abstain when it is below 1/2, else radius sigma * Phi^-1(p_A lower) (Theorem 1 with
// p_B = 1 - p_A). With options.sequential, the estimation stops early (sequential.h).
SmoothResult certify_input(NoiseCounter& counter, const torch::Tensor& x,
                           const SmoothOptions& options);

// PREDICT (Cohen et al. 2019): counts of n noisy samples; the top class unless the two-sided
// binomial test of its count against the runner-up's gives a p-value above alpha (abstain).
int64_t predict_input(NoiseCounter& counter, const torch::Tensor& x, int64_t n, double alpha);

// CERTIFY on every input of a dataset, as the reference's certify.py: one row per input with
// its label, prediction (Certificate::kAbstain = -1), radius, correctness, time and samples.
// The model is put in eval mode for the call; noise comes from a generator on the model's device,
// input i's from a stream keyed by (a seed drawn from `gen`, i). In a group of processes each
// rank certifies a contiguous share of the inputs and every rank gets all rows, in order: the
// same certificate as one process's. Ctrl-C or SIGTERM stops it between inputs with Interrupted,
// the rows so far kept in options.rows_path when there is one.
Certificate certify_smoothed(Model& model, const Dataset& data, const SmoothOptions& options,
                             at::Generator& gen);

// PREDICT on each input of x (N×...); int64 CPU tensor of N classes, -1 where it abstains.
// Noise and sharing as certify_smoothed.
torch::Tensor predict_smoothed(Model& model, const torch::Tensor& x, const SmoothOptions& options,
                               at::Generator& gen);

// "Smooth(sigma: 0.25)"
std::string describe_smoothing(const SmoothOptions& options);

}  // namespace perturb
