#include "runtime/threat/lp_threat.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

LpThreat::LpThreat(double eps, Domain domain) : eps_(eps), domain_(domain) {}

std::string LpThreat::describe() const {
  return name() + "(eps: " + format_number(eps_) + ", domain: [" + format_number(domain_.lo) +
         ", " + format_number(domain_.hi) + "])";
}

// Madry et al. (2018) take steps of 2.5·eps/steps so that the walk can cross the ball and
// back; it is the usual default step size for PGD.
double LpThreat::default_step(int64_t steps) const {
  return steps > 0 ? 2.5 * eps_ / static_cast<double>(steps) : eps_;
}

std::shared_ptr<Threat> LpThreat::with(const Params& params) const {
  double eps = eps_;
  Domain domain = domain_;
  for (const auto& [key, value] : params) {
    if (key == "eps") {
      if (!value.is_point()) {
        throw Error(name() + " eps must be a number, got the interval [" + format_number(value.lo) +
                    ", " + format_number(value.hi) + "]");
      }
      eps = value.lo;
    } else if (key == "domain") {
      domain = {value.lo, value.hi};
    } else {
      throw Error(name() + " has no parameter '" + key + "'; it has eps, domain");
    }
  }
  return make(eps, domain);
}

torch::Tensor LpThreat::clamp_to_domain(const torch::Tensor& x) const {
  return x.clamp(domain_.lo, domain_.hi);
}

torch::Tensor LpThreat::in_domain(const torch::Tensor& x, double tol) const {
  const auto flat = x.reshape({x.size(0), -1});
  if (flat.size(1) == 0) return torch::ones({x.size(0)}, x.options().dtype(torch::kBool));
  return (std::get<0>(flat.min(1)) >= domain_.lo - tol) &
         (std::get<0>(flat.max(1)) <= domain_.hi + tol);
}

torch::Tensor l2_norms(const torch::Tensor& t) {
  std::vector<int64_t> shape(t.dim(), 1);
  shape[0] = t.size(0);
  return t.reshape({t.size(0), -1}).norm(2, {1}).reshape(shape);
}

torch::Tensor rand_like_with(const torch::Tensor& x, at::Generator& gen) {
  auto options = x.options().device(gen.device());
  return torch::rand(x.sizes(), gen, options).to(x.device());
}

torch::Tensor randn_like_with(const torch::Tensor& x, at::Generator& gen) {
  auto options = x.options().device(gen.device());
  return torch::randn(x.sizes(), gen, options).to(x.device());
}

void check_lp_arguments(const std::string& name, double eps, Domain domain) {
  if (!std::isfinite(eps) || eps < 0) {
    throw Error(name + " eps must be a non-negative number, got " + format_number(eps));
  }
  if (!(domain.lo < domain.hi)) {
    throw Error(name + " domain must have lo < hi, got [" + format_number(domain.lo) + ", " +
                format_number(domain.hi) + "]");
  }
}

}  // namespace perturb
