#include "runtime/threat/wasserstein.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/image/transforms.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

namespace F = torch::nn::functional;

// The reference attack's Linf step size alpha (locuslab projected_sinkhorn, attack()).
constexpr double kDefaultStep = 0.1;

// Per-sample kernels [N] × [k, k] applied to every channel: v [N, C, H, W] → same shape,
// out_i = Σ_{j in the window of i} kernel(i − j) v_j, zero outside the image (no transport out).
torch::Tensor local_apply(const torch::Tensor& kernels, const torch::Tensor& v) {
  const int64_t n = v.size(0), c = v.size(1), k = kernels.size(-1);
  auto weight = kernels.repeat_interleave(c, 0).reshape({n * c, 1, k, k});
  auto out = F::conv2d(v.reshape({1, n * c, v.size(2), v.size(3)}), weight,
                       F::Conv2dFuncOptions().padding(k / 2).groups(n * c));
  return out.reshape(v.sizes());
}

// log(local_apply(kernels, exp(lv))) without overflow: shift by the per-sample maximum.
torch::Tensor log_local_apply(const torch::Tensor& kernels, const torch::Tensor& lv) {
  auto m = std::get<0>(lv.reshape({lv.size(0), -1}).max(1));
  m = torch::where(torch::isfinite(m), m, torch::zeros_like(m)).reshape({-1, 1, 1, 1});
  return torch::log(local_apply(kernels, torch::exp(lv - m))) + m;
}

// Σ over a sample of exp(la) ⊙ local_apply(kernels, exp(lb)), computed stably.
torch::Tensor plan_sum(const torch::Tensor& kernels, const torch::Tensor& la,
                       const torch::Tensor& lb) {
  return torch::exp(la + log_local_apply(kernels, lb)).reshape({la.size(0), -1}).sum(1);
}

// W(e^L) for the principal branch, elementwise: the root of w + log w = L (w > 0), by Newton
// from L − log L (large L) or e^L/(1 + e^L) (small L); f is concave and increasing, so after the
// first step the iterates approach the root from below. L = −inf gives 0.
torch::Tensor lambert_w_exp(const torch::Tensor& L) {
  const auto finite = torch::isfinite(L);
  const auto l = torch::where(finite, L, torch::zeros_like(L));
  auto w = torch::where(l > 1, l - torch::log(l.clamp_min(1)), torch::sigmoid(l));
  for (int i = 0; i < 30; ++i) {
    auto next = w - w * (w + torch::log(w) - l) / (1 + w);
    w = torch::max(next, w * 0.1);
  }
  return torch::where(finite, w, torch::zeros_like(w));
}

void check_wasserstein(const WassersteinOptions& o) {
  check_lp_arguments("Wasserstein", o.eps, o.domain);
  if (o.kernel < 1 || o.kernel % 2 == 0) {
    throw Error("Wasserstein kernel must be an odd whole number ≥ 1, got " +
                std::to_string(o.kernel));
  }
  if (!(o.reg > 0) || !std::isfinite(o.reg)) {
    throw Error("Wasserstein reg must be a positive number, got " + format_number(o.reg));
  }
  if (o.iters < 1) throw Error("Wasserstein iters must be at least 1");
}

class WassersteinThreat : public LpThreat {
 public:
  explicit WassersteinThreat(WassersteinOptions o) : LpThreat(o.eps, o.domain), options_(o) {}

  std::string name() const override { return "Wasserstein"; }
  std::string describe() const override {
    return "Wasserstein(eps: " + format_number(eps_) +
           ", kernel: " + std::to_string(options_.kernel) +
           ", reg: " + format_number(options_.reg) + ", iters: " + std::to_string(options_.iters) +
           ", domain: [" + format_number(domain_.lo) + ", " + format_number(domain_.hi) + "])";
  }
  std::vector<std::string> parameter_names() const override {
    return {"eps", "kernel", "reg", "iters", "domain"};
  }
  std::shared_ptr<Threat> with(const Params& params) const override {
    WassersteinOptions o = options_;
    for (const auto& [key, value] : params) {
      auto number = [&] {
        if (!value.is_point()) throw Error("Wasserstein " + key + " must be a number");
        return value.lo;
      };
      if (key == "eps") {
        o.eps = number();
      } else if (key == "kernel") {
        o.kernel = static_cast<int64_t>(number());
        if (number() != static_cast<double>(o.kernel)) o.kernel = -1;  // rejected below
      } else if (key == "reg") {
        o.reg = number();
      } else if (key == "iters") {
        o.iters = static_cast<int64_t>(number());
      } else if (key == "domain") {
        o.domain = {value.lo, value.hi};
      } else {
        throw Error("Wasserstein has no parameter '" + key +
                    "'; it has eps, kernel, reg, iters, domain");
      }
    }
    check_wasserstein(o);
    return std::make_shared<WassersteinThreat>(o);
  }

  // Thesis Algorithm 1, lines 4–5: the Wasserstein projection, then the clamp to the domain.
  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    image::check_images(x, "Wasserstein");
    const auto p =
        projected_sinkhorn(x, x_adv, eps_, options_.kernel, options_.reg, options_.iters);
    return clamp_to_domain(p.z.to(x.scalar_type())).detach();
  }

  // Uniform noise of the default step's size, projected: a random point near x in the ball.
  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    const auto noise = (rand_like_with(x, gen) * 2 - 1) * kDefaultStep;
    return project(clamp_to_domain(x + noise), x);
  }

  // A point of the ball is (nearly) a fixed point of the projection: x_adv is accepted when
  // projecting it moves it by at most 2% of x's mass in L1 (the entropic projection blurs
  // slightly), besides the domain check. Approximate by nature; see docs/threats.md.
  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    const auto moved = (project(x_adv, x) - x_adv).abs().reshape({x.size(0), -1}).sum(1);
    const auto mass = x.abs().reshape({x.size(0), -1}).sum(1);
    return (moved <= 0.02 * mass + tol) & in_domain(x_adv, tol);
  }

  // Thesis Algorithm 1, line 3: an L∞ (sign) step.
  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    return (x_adv + step * grad.sign()).detach();
  }

  double default_step(int64_t /*steps*/) const override { return kDefaultStep; }

 protected:
  std::shared_ptr<Threat> make(double eps, Domain domain) const override {
    WassersteinOptions o = options_;
    o.eps = eps;
    o.domain = domain;
    check_wasserstein(o);
    return std::make_shared<WassersteinThreat>(o);
  }

 private:
  WassersteinOptions options_;
};

}  // namespace

torch::Tensor wasserstein_cost(int64_t kernel, const torch::TensorOptions& options) {
  if (kernel < 1 || kernel % 2 == 0) {
    throw Error("Wasserstein kernel must be an odd whole number ≥ 1, got " +
                std::to_string(kernel));
  }
  auto r = torch::arange(kernel, options) - static_cast<double>(kernel / 2);
  return (r.reshape({-1, 1}).pow(2) + r.reshape({1, -1}).pow(2)).sqrt();
}

SinkhornProjection projected_sinkhorn(const torch::Tensor& x_in, const torch::Tensor& y_in,
                                      double eps, int64_t kernel, double reg, int64_t iters) {
  image::check_images(x_in, "Wasserstein");
  if (x_in.sizes() != y_in.sizes()) throw Error("Wasserstein projection needs matching shapes");
  const auto opts = x_in.options().dtype(torch::kFloat64);
  const int64_t n = x_in.size(0);
  auto x = x_in.to(torch::kFloat64).clamp_min(0);
  const auto mass = x.reshape({n, -1}).sum(1).clamp_min(1e-12).reshape({n, 1, 1, 1});
  const auto X = x / mass;
  const auto Y = y_in.to(torch::kFloat64) / mass;
  const auto C = wasserstein_cost(kernel, opts);
  const double m = static_cast<double>(X[0].numel());
  const double lam = reg;

  // Potentials in log form: la = −α, lb = −β of the reference (so e^{−α} = exp(la)); both start
  // at log m (α = β = log(1/m)); ψ starts at 1.
  auto la = torch::full(X.sizes(), std::log(m), opts);
  auto lb = la.clone();
  auto psi = torch::ones({n}, opts);
  auto kernels_for = [&](const torch::Tensor& p) {
    return torch::exp(-p.reshape({n, 1, 1}) * C.unsqueeze(0) - 1);  // K = exp(−ψC − 1)
  };
  auto K = kernels_for(psi);
  const auto logX = torch::log(X);
  for (int64_t it = 0; it < iters; ++it) {
    // ∂F/∂α = 0: α = log(K e^{−β}) − log X.
    la = logX - log_local_apply(K, lb);
    // ∂F/∂β = 0: β = W(λ e^{λY} K e^{−α}) − λY, W the Lambert function.
    const auto L = std::log(lam) + lam * Y + log_local_apply(K, la);
    const auto w = lambert_w_exp(L);
    lb = lam * Y - w;
    // Newton on ψ ≥ 0: F'(ψ) = −ε + ⟨e^{−α}, (C⊙K) e^{−β}⟩, F'' = −⟨e^{−α}, (C²⊙K) e^{−β}⟩,
    // halving the step while it would leave ψ ≥ 0 (down to 1/64), then clamping.
    const auto d1 = -eps + plan_sum(K * C, la, lb);
    const auto d2 = -plan_sum(K * C * C, la, lb);
    const auto delta = d1 / d2.clamp_max(-1e-300);
    auto t = torch::ones_like(psi);
    for (int h = 0; h < 6; ++h) {
      const auto neg = (psi - t * delta) < 0;
      t = torch::where(neg, t / 2, t);
    }
    psi = (psi - t * delta).clamp_min(0);
    psi = torch::where(torch::isfinite(psi), psi, torch::zeros_like(psi));
    K = kernels_for(psi);
  }
  // Eq. 4.9 in the reference's variables: z = β/λ + Y = W(·)/λ with the last β; the plan's
  // cost uses the last potentials and ψ.
  const auto L = std::log(lam) + lam * Y + log_local_apply(K, la);
  const auto z = lambert_w_exp(L) / lam;
  SinkhornProjection out;
  out.cost = plan_sum(K * C, la, lam * Y - lambert_w_exp(L));
  out.z = (z * mass).to(y_in.scalar_type());
  out.psi = psi;
  return out;
}

ThreatPtr make_wasserstein(WassersteinOptions o) {
  check_wasserstein(o);
  return std::make_shared<WassersteinThreat>(o);
}

}  // namespace perturb
