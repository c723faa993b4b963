// An anytime-valid confidence sequence for a binomial proportion, used by sequential CERTIFY.
//
// Construction (a union bound over a fixed set of looks): the sampler may stop only at the looks
// m_1 < m_2 < ... < m_K = n, with m_1 = first and m_{j+1} = 2 m_j (the last one clipped to n).
// At look j the interval is the Clopper-Pearson interval at level alpha / K on each side.
// Guarantee: for each side, P(exists j: p outside that side's bound at look j) <= sum_j alpha/K
// = alpha, so the one-sided lower bounds hold simultaneously at every look with probability at
// least 1 - alpha -- in particular at any data-dependent stopping look. The certificate claims
// only the lower bound, so it keeps CERTIFY's guarantee (with probability >= 1 - alpha the
// returned radius is a true robustness radius of g), whatever the stopping rule.
#pragma once

#include <cstdint>
#include <vector>

namespace perturb {

class ConfidenceSequence {
 public:
  // Looks first, 2·first, 4·first, ... up to n (n is always the last look). Error when
  // n < 1, first < 1 or alpha is not in (0, 1).
  ConfidenceSequence(int64_t n, double alpha, int64_t first);
  const std::vector<int64_t>& looks() const { return looks_; }
  double alpha_per_look() const { return alpha_per_look_; }
  // Clopper-Pearson bounds at level alpha / K for k successes in m samples.
  double lower(int64_t k, int64_t m) const;
  double upper(int64_t k, int64_t m) const;

 private:
  std::vector<int64_t> looks_;
  double alpha_per_look_ = 0;
};

// The decision at threshold t is settled when the interval lies on one side of it: lower >= t
// (certified at that threshold) or upper < t (not certifiable there).
bool settles(double lower, double upper, const std::vector<double>& thresholds);

// The sequential decision radii when the user gives none: 0, sigma/4, ..., 2·sigma.
std::vector<double> default_sequential_radii(double sigma);

}  // namespace perturb
