// The L∞ ball: every pixel moves by at most eps.
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

class LinfThreat : public LpThreat {
 public:
  using LpThreat::LpThreat;

  std::string name() const override { return "Linf"; }

  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    // Clamping per coordinate is the exact Euclidean projection onto a box, and the ball ∩
    // domain is itself a box, so doing the two clamps in turn is exact.
    const auto delta = (x_adv - x).clamp(-eps_, eps_);
    return clamp_to_domain(x + delta).detach();
  }

  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    const auto delta = (rand_like_with(x, gen) * 2 - 1) * eps_;
    return clamp_to_domain(x + delta).detach();
  }

  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    const auto delta = (x_adv - x).abs().reshape({x.size(0), -1});
    const auto within = delta.size(1) == 0
                            ? torch::ones({x.size(0)}, x.options().dtype(torch::kBool))
                            : std::get<0>(delta.max(1)) <= eps_ + tol;
    return within & in_domain(x_adv, tol);
  }

  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    return (x_adv + step * grad.sign()).detach();
  }

 protected:
  std::shared_ptr<Threat> make(double eps, Domain domain) const override {
    check_lp_arguments(name(), eps, domain);
    return std::make_shared<LinfThreat>(eps, domain);
  }
};

}  // namespace

ThreatPtr make_linf(double eps, Domain domain) {
  check_lp_arguments("Linf", eps, domain);
  return std::make_shared<LinfThreat>(eps, domain);
}

}  // namespace perturb
