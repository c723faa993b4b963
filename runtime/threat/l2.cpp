// The L2 ball: the perturbation's Euclidean norm (per sample) is at most eps.
#include <algorithm>

#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

// Guards divisions by a norm that may be zero (an unperturbed sample, a zero gradient).
constexpr double kNormFloor = 1e-12;

class L2Threat : public LpThreat {
 public:
  using LpThreat::LpThreat;

  std::string name() const override { return "L2"; }

  // Like torchattacks PGDL2: scale into the ball, then clamp to the domain. The clamp only
  // shrinks each coordinate of delta towards 0 when x is in the domain, so the result stays in
  // the ball (it is not the exact projection onto ball ∩ box, which has no closed form).
  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    const auto delta = x_adv - x;
    const auto factor = (eps_ / l2_norms(delta).clamp_min(kNormFloor)).clamp_max(1.0);
    return clamp_to_domain(x + delta * factor).detach();
  }

  // torchattacks PGDL2's random start: a Gaussian direction scaled to a radius eps·U(0, 1).
  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    const auto direction = randn_like_with(x, gen);
    std::vector<int64_t> shape(x.dim(), 1);
    shape[0] = x.size(0);
    auto radius_options = x.options().device(gen.device());
    const auto radius = torch::rand({x.size(0)}, gen, radius_options).to(x.device()).reshape(shape);
    const auto delta = direction / l2_norms(direction).clamp_min(kNormFloor) * radius * eps_;
    return clamp_to_domain(x + delta).detach();
  }

  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    // Relative slack for large eps: float32 rounding grows with the norm.
    const double slack = tol * std::max(1.0, eps_);
    const auto within = l2_norms(x_adv - x).reshape({x.size(0)}) <= eps_ + slack;
    return within & in_domain(x_adv, tol);
  }

  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    return (x_adv + step * grad / (l2_norms(grad) + kNormFloor)).detach();
  }

 protected:
  std::shared_ptr<Threat> make(double eps, Domain domain) const override {
    check_lp_arguments(name(), eps, domain);
    return std::make_shared<L2Threat>(eps, domain);
  }
};

}  // namespace

ThreatPtr make_l2(double eps, Domain domain) {
  check_lp_arguments("L2", eps, domain);
  return std::make_shared<L2Threat>(eps, domain);
}

}  // namespace perturb
