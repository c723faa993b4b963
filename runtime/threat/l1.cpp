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

  // The exact Euclidean projection onto the L1 ball ∩ the domain box (project_l1_box below:
  // Duchi et al. 2008 with the box, as APGD-L1's L1_projection solves it). Where the box is not
  // active it is Duchi's projection onto the ball.
  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    const auto flat_x = x.reshape({x.size(0), -1});
    const auto delta = x_adv.reshape({x.size(0), -1}) - flat_x;
    if (delta.size(1) == 0) return clamp_to_domain(x_adv).detach();
    const auto lo = (domain_.lo - flat_x).clamp_max(0);
    const auto hi = (domain_.hi - flat_x).clamp_min(0);
    const auto projected = project_l1_box(delta, eps_, lo, hi).reshape(x.sizes());
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

// The nearest point to v [N, D] of {w : ‖w‖₁ ≤ radius, lo ≤ w ≤ hi} (lo ≤ 0 ≤ hi), exactly.
// The KKT conditions give w_i = sign(v_i)·min(max(|v_i| − θ, 0), b_i) with b_i the box bound
// in v_i's direction and one multiplier θ ≥ 0 (Duchi et al. 2008, §4, with the box constraint
// folded into each coordinate). f(θ) = Σ_i min(max(|v_i| − θ, 0), b_i) is piecewise linear and
// non-increasing with breakpoints max(|v_i| − b_i, 0) (coordinate i leaves its bound) and |v_i|
// (it reaches 0): sort the 2D breakpoints, follow f along them by the running slope, and solve
// f(θ) = radius on the segment where f crosses it. O(D log D) per row, float64 inside.
torch::Tensor project_l1_box(const torch::Tensor& v_in, double radius, const torch::Tensor& lo_in,
                             const torch::Tensor& hi_in) {
  const auto v = v_in.to(torch::kFloat64);
  const auto lo = lo_in.to(v.device(), torch::kFloat64).expand_as(v);
  const auto hi = hi_in.to(v.device(), torch::kFloat64).expand_as(v);
  const auto a = v.abs();
  const auto b = torch::where(v >= 0, hi, -lo).clamp_min(0);
  const auto clipped = torch::min(a, b);  // f(0): the box alone
  const auto f0 = clipped.sum(1, true);
  const auto inside = f0 <= radius;
  if (radius <= 0) return torch::zeros_like(v_in);
  if (inside.all().item<bool>()) return (v.sign() * clipped).to(v_in.scalar_type());
  const int64_t d = v.size(1);
  const auto starts = (a - b).clamp_min(0);
  auto points = torch::cat({starts, a}, 1);  // [N, 2D]
  auto slopes = torch::cat({-torch::ones_like(a), torch::ones_like(a)}, 1);
  const auto order = std::get<1>(points.sort(1));
  points = points.gather(1, order);
  slopes = slopes.gather(1, order).cumsum(1);  // f's slope just after each breakpoint
  // f at every breakpoint: f(p_0) = f(0) (nothing decreases before the first breakpoint).
  const auto gaps = points.narrow(1, 1, 2 * d - 1) - points.narrow(1, 0, 2 * d - 1);
  const auto drops = (slopes.narrow(1, 0, 2 * d - 1) * gaps).cumsum(1);
  const auto f = torch::cat({f0, f0 + drops}, 1);
  // The first breakpoint where f ≤ radius (f(max |v|) = 0 < radius, so there is one; it is not
  // the first when the row is outside, f(p_0) = f(0) > radius); θ lies on the segment before it.
  const auto below = (f <= radius).to(torch::kInt64);
  const auto k = below.argmax(1, true).clamp_min(1);
  const auto p_prev = points.gather(1, k - 1), f_prev = f.gather(1, k - 1);
  const auto slope = slopes.gather(1, k - 1).clamp_max(-1);  // ≤ −1 on a segment where f falls
  const auto theta = p_prev + (f_prev - radius) / (-slope);
  const auto w = v.sign() * torch::min((a - theta).clamp_min(0), b);
  return torch::where(inside, v.sign() * clipped, w).to(v_in.scalar_type());
}

ThreatPtr make_l1(double eps, Domain domain) {
  check_lp_arguments("L1", eps, domain);
  return std::make_shared<L1Threat>(eps, domain);
}

}  // namespace perturb
