// The L0 threat: at most `pixels` changed pixels (a pixel is one spatial position of an image
// [N, C, H, W], all channels together; for other inputs [N, ...] one coordinate).
#include <algorithm>
#include <cmath>

#include "runtime/core/error.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

constexpr double kNormFloor = 1e-12;

class L0Threat : public LpThreat {
 public:
  using LpThreat::LpThreat;

  std::string name() const override { return "L0"; }
  std::string describe() const override {
    return "L0(pixels: " + format_number(eps_) + ", domain: [" + format_number(domain_.lo) + ", " +
           format_number(domain_.hi) + "])";
  }
  std::vector<std::string> parameter_names() const override { return {"pixels", "domain"}; }

  std::shared_ptr<Threat> with(const Params& params) const override {
    Params renamed;
    for (const auto& [key, value] : params) {
      if (key == "pixels") {
        renamed["eps"] = value;
      } else if (key == "domain") {
        renamed["domain"] = value;
      } else {
        throw Error("L0 has no parameter '" + key + "'; it has pixels, domain");
      }
    }
    return LpThreat::with(renamed);
  }

  // Exact Euclidean projection onto {at most k changed pixels} ∩ box: clamp every coordinate
  // to the domain, then keep the k pixels whose keeping gains the most,
  // gain = ‖δ‖² − ‖δ − clamp(δ)‖² (the squared error saved against resetting the pixel to x).
  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    const auto delta = x_adv - x;
    const auto clamped = clamp_to_domain(x_adv) - x;
    const auto gain = pixel_sum(delta * delta - (delta - clamped).pow(2), x);  // [N, P]
    const auto mask = top_pixels(gain);
    return (x + clamped * expand_mask(mask, x)).detach();
  }

  // k random pixels set to uniform values in the domain.
  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    const auto scores = rand_like_with(pixel_sum(torch::zeros_like(x), x), gen);
    const auto mask = expand_mask(top_pixels(scores), x);
    const auto values = domain_.lo + (domain_.hi - domain_.lo) * rand_like_with(x, gen);
    return torch::where(mask, values, x).detach();
  }

  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    const auto changed = pixel_sum((x_adv - x).abs(), x) > tol;
    return (changed.sum(1) <= static_cast<int64_t>(eps_)) & in_domain(x_adv, tol);
  }

  // Sparse PGD's step (Croce & Hein 2019, PGD-L0): a normalised gradient step scaled by √D,
  // x + step·√D·g/‖g‖₂, so step 1 is an RMS move of 1 per coordinate; the projection then keeps
  // the k most useful pixels.
  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    const double d = static_cast<double>(x_adv[0].numel());
    return (x_adv + step * std::sqrt(d) * grad / (l2_norms(grad) + kNormFloor)).detach();
  }

  double default_step(int64_t /*steps*/) const override { return 1.0; }

 protected:
  std::shared_ptr<Threat> make(double eps, Domain domain) const override {
    check_l0(eps, domain);
    return std::make_shared<L0Threat>(eps, domain);
  }

 private:
  // [N, P]: the value summed over channels per pixel (images) or per coordinate.
  static torch::Tensor pixel_sum(const torch::Tensor& t, const torch::Tensor& x) {
    if (x.dim() == 4) return t.sum(1).reshape({x.size(0), -1});
    return t.reshape({x.size(0), -1});
  }
  // [N, P] → bool shaped like x.
  static torch::Tensor expand_mask(const torch::Tensor& mask, const torch::Tensor& x) {
    if (x.dim() == 4) {
      return mask.reshape({x.size(0), 1, x.size(2), x.size(3)}).expand(x.sizes());
    }
    return mask.reshape(x.sizes());
  }
  // The k largest entries per row (ties broken by index), as a bool mask [N, P].
  torch::Tensor top_pixels(const torch::Tensor& scores) const {
    const int64_t p = scores.size(1);
    const int64_t k = std::min<int64_t>(static_cast<int64_t>(eps_), p);
    auto mask = torch::zeros(scores.sizes(), scores.options().dtype(torch::kBool));
    if (k == 0 || p == 0) return mask;
    const auto idx = std::get<1>(scores.topk(k, 1));
    return mask.scatter(1, idx, true);
  }
};

}  // namespace

void check_l0(double pixels, Domain domain) {
  if (!std::isfinite(pixels) || pixels < 0 || pixels != std::floor(pixels)) {
    throw Error("L0 pixels must be a whole number ≥ 0, got " + format_number(pixels));
  }
  check_lp_arguments("L0", 0, domain);
}

ThreatPtr make_l0(int64_t pixels, Domain domain) {
  check_l0(static_cast<double>(pixels), domain);
  return std::make_shared<L0Threat>(static_cast<double>(pixels), domain);
}

}  // namespace perturb
