// What the Lp-ball threats share: eps, the domain box, parameter handling, random draws.
#pragma once

#include <string>

#include "runtime/threat/threat.h"

namespace perturb {

class LpThreat : public Threat {
 public:
  LpThreat(double eps, Domain domain);

  std::string describe() const override;
  double default_step(int64_t steps) const override;
  double eps() const override { return eps_; }
  std::vector<std::string> parameter_names() const override { return {"eps", "domain"}; }
  std::shared_ptr<Threat> with(const Params& params) const override;
  const Domain& domain() const { return domain_; }

 protected:
  // A fresh threat of the same kind; with() fills in the changed parameters through it.
  virtual std::shared_ptr<Threat> make(double eps, Domain domain) const = 0;
  torch::Tensor clamp_to_domain(const torch::Tensor& x) const;
  // Per-sample membership of the domain box, with tolerance.
  torch::Tensor in_domain(const torch::Tensor& x, double tol) const;

  double eps_;
  Domain domain_;
};

// Per-sample L2 norms over all non-batch dims, shaped [N, 1, 1, ...] to broadcast against x.
torch::Tensor l2_norms(const torch::Tensor& t);

// Uniform [0, 1) / standard normal noise shaped like x, drawn from `gen` on the generator's
// own device and then moved to x's device (a CPU generator can serve a CUDA model).
torch::Tensor rand_like_with(const torch::Tensor& x, at::Generator& gen);
torch::Tensor randn_like_with(const torch::Tensor& x, at::Generator& gen);

// Throws Error unless eps >= 0 and lo < hi; `name` says which threat is being made.
void check_lp_arguments(const std::string& name, double eps, Domain domain);

}  // namespace perturb

namespace perturb {
// Rows of v [N, D] projected onto the L1 ball of the radius (Duchi et al. 2008), exactly.
torch::Tensor project_l1_ball(const torch::Tensor& v, double radius);
// Rows of v [N, D] projected onto the L1 ball ∩ the box [lo, hi] (lo ≤ 0 ≤ hi, broadcast to v),
// exactly; the L1 threat's projection with lo = domain.lo − x, hi = domain.hi − x.
torch::Tensor project_l1_box(const torch::Tensor& v, double radius, const torch::Tensor& lo,
                             const torch::Tensor& hi);
}  // namespace perturb

namespace perturb {
// Throws Error unless pixels is a whole number ≥ 0 and lo < hi.
void check_l0(double pixels, Domain domain);
}  // namespace perturb
