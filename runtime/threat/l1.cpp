// The L1 ball: the perturbation's absolute sum (per sample) is at most eps.
#include <algorithm>
#include <cmath>

#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

constexpr double kNormFloor = 1e-12;
// SLIDE (Tramèr & Boneh 2019) steps along the coordinates whose |g| is in the top 1 − q.
constexpr double kSparsity = 0.99;

class L1Threat : public LpThreat {
 public:
  using LpThreat::LpThreat;

  std::string name() const override { return "L1"; }

  // Exact Euclidean projection of delta onto the L1 ball (Duchi et al. 2008, Fig. 1), then the
  // domain clamp. The clamp only shrinks coordinates towards x (x in the domain), so the result
  // stays in the ball; like L2 it is not the exact projection onto ball ∩ box.
  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    const auto delta = (x_adv - x).reshape({x.size(0), -1});
    if (delta.size(1) == 0) return clamp_to_domain(x_adv).detach();
    const auto projected = project_l1_ball(delta, eps_).reshape(x.sizes());
    return clamp_to_domain(x + projected).detach();
  }

  // A Laplace direction (the L1 analogue of torchattacks' Gaussian one) scaled to a radius
  // eps·U(0, 1), clamped to the domain.
  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    const auto u = rand_like_with(x, gen).clamp(1e-7, 1 - 1e-7);
    const auto sign = (rand_like_with(x, gen) < 0.5).to(x.scalar_type()) * 2 - 1;
    const auto direction = sign * -torch::log(u);
    const auto norms = l1_norms(direction).clamp_min(kNormFloor);
    auto radius = rand_like_with(torch::zeros({x.size(0)}, x.options()), gen);
    std::vector<int64_t> shape(x.dim(), 1);
    shape[0] = x.size(0);
    const auto delta = direction / norms * radius.reshape(shape) * eps_;
    return clamp_to_domain(x + delta).detach();
  }

  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    const double slack = tol * std::max(1.0, eps_);
    const auto within = l1_norms(x_adv - x).reshape({x.size(0)}) <= eps_ + slack;
    return within & in_domain(x_adv, tol);
  }

  // SLIDE / APGD-L1's sparse step: e = sign(g) on the coordinates whose |g| reaches the q-th
  // quantile (coordinates at a domain bound that would push outward are left out first), then
  // x + step·e/‖e‖₁ — a step of L1 length `step`.
  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    auto g = grad.clone();
    g.masked_fill_((x_adv <= domain_.lo) & (grad < 0), 0);
    g.masked_fill_((x_adv >= domain_.hi) & (grad > 0), 0);
    const auto flat = g.reshape({g.size(0), -1}).abs();
    const int64_t d = flat.size(1);
    if (d == 0) return x_adv.detach();
    const int64_t k = std::clamp<int64_t>(static_cast<int64_t>(std::floor(kSparsity * d)), 1, d);
    const auto threshold = std::get<0>(flat.kthvalue(k, 1, /*keepdim=*/true));
    const auto chosen = (flat >= threshold) & (flat > 0);
    const auto e = (g.sign().reshape({g.size(0), -1}) * chosen).reshape(g.sizes());
    return (x_adv + step * e / l1_norms(e).clamp_min(1.0)).detach();
  }

 protected:
  std::shared_ptr<Threat> make(double eps, Domain domain) const override {
    check_lp_arguments(name(), eps, domain);
    return std::make_shared<L1Threat>(eps, domain);
  }

 private:
  static torch::Tensor l1_norms(const torch::Tensor& t) {
    std::vector<int64_t> shape(t.dim(), 1);
    shape[0] = t.size(0);
    return t.reshape({t.size(0), -1}).abs().sum(1).reshape(shape);
  }
};

}  // namespace

// Duchi, Shalev-Shwartz, Singer, Chandra (2008), "Efficient projections onto the l1-ball",
// Figure 1: sort |v| descending, ρ = max{j : u_j − (Σ_{r≤j} u_r − z)/j > 0},
// θ = (Σ_{r≤ρ} u_r − z)/ρ, w = sign(v)·max(|v| − θ, 0). Rows already inside are kept.
torch::Tensor project_l1_ball(const torch::Tensor& v, double radius) {
  if (radius <= 0) return torch::zeros_like(v);
  const auto a = v.abs();
  const auto inside = a.sum(1, true) <= radius;
  const auto u = std::get<0>(a.sort(1, /*descending=*/true));
  const auto cssv = u.cumsum(1);
  const auto j = torch::arange(1, v.size(1) + 1, v.options()).reshape({1, -1});
  const auto positive = (u - (cssv - radius) / j) > 0;
  const auto rho = positive.sum(1, true).clamp_min(1);  // a prefix: its length is ρ
  const auto theta = (cssv.gather(1, rho - 1) - radius) / rho.to(v.scalar_type());
  const auto w = v.sign() * (a - theta).clamp_min(0);
  return torch::where(inside, v, w);
}

ThreatPtr make_l1(double eps, Domain domain) {
  check_lp_arguments("L1", eps, domain);
  return std::make_shared<L1Threat>(eps, domain);
}

}  // namespace perturb
