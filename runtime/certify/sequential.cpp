#include "runtime/certify/sequential.h"

#include <string>

#include "runtime/certify/smoothing.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

ConfidenceSequence::ConfidenceSequence(int64_t n, double alpha, int64_t first) {
  if (n < 1) throw Error("a confidence sequence needs at least 1 sample, got " + std::to_string(n));
  if (first < 1)
    throw Error("the first look must be at least 1 sample, got " + std::to_string(first));
  if (!(alpha > 0 && alpha < 1))
    throw Error("alpha must be between 0 and 1 (exclusive), got " + format_number(alpha));
  for (int64_t m = first; m < n; m *= 2) looks_.push_back(m);
  looks_.push_back(n);
  // Bonferroni over the K looks (union bound): each look spends alpha / K.
  alpha_per_look_ = alpha / static_cast<double>(looks_.size());
}

double ConfidenceSequence::lower(int64_t k, int64_t m) const {
  return clopper_pearson_lower(k, m, alpha_per_look_);
}

double ConfidenceSequence::upper(int64_t k, int64_t m) const {
  return clopper_pearson_upper(k, m, alpha_per_look_);
}

bool settles(double lower, double upper, const std::vector<double>& thresholds) {
  for (double t : thresholds) {
    if (!(lower >= t || upper < t)) return false;
  }
  return true;
}

std::vector<double> default_sequential_radii(double sigma) {
  std::vector<double> radii;
  for (int i = 0; i <= 8; ++i) radii.push_back(sigma * i / 4.0);
  return radii;
}

}  // namespace perturb
