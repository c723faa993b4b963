// A given perturbation added to every input (fixed_perturbation.h).
#include "runtime/attack/fixed_perturbation.h"

#include "runtime/attack/attack_util.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

class FixedPerturbation : public Attack {
 public:
  FixedPerturbation(ThreatPtr threat, torch::Tensor delta)
      : threat_(std::move(threat)), delta_(std::move(delta)) {}

  std::string name() const override { return "Universal"; }
  std::string describe() const override {
    return "Universal(" + threat_->describe() + ", perturbation " +
           format_shape(delta_.sizes().vec()) + ")";
  }
  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator&, AttackStats*) const override {
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    const auto one = x.sizes().slice(1);
    torch::Tensor delta;
    if (delta_.sizes() == one) {
      delta = delta_.unsqueeze(0);
    } else if (delta_.dim() == x.dim() && delta_.size(0) == 1 && delta_.sizes().slice(1) == one) {
      delta = delta_;
    } else {
      throw Error("this universal perturbation is shaped " + format_shape(delta_.sizes().vec()) +
                  ", got inputs " + format_shape(one.vec()) +
                  " (it must be shaped like one "
                  "input, with or without a batch of 1)");
    }
    // δ is kept inside the threat's ball around 0 (the domain box applies to x + δ, not δ).
    const Domain domain = threat_domain(*threat_);
    const double width = domain.hi - domain.lo;
    const auto ball = threat_->with({{"domain", Interval{-width, width}}});
    delta = ball->project(delta.to(x.device()), torch::zeros_like(delta, x.device()));
    return (x + delta).clamp(domain.lo, domain.hi).detach();
  }
  ThreatPtr threat() const override { return threat_; }
  std::shared_ptr<Attack> with(const Params& params) const override {
    auto threat = forward_to_threat(name(), {}, threat_, params);
    return std::const_pointer_cast<Attack>(make_fixed_perturbation(threat, delta_));
  }

 private:
  ThreatPtr threat_;
  torch::Tensor delta_;
};

}  // namespace

AttackPtr make_fixed_perturbation(ThreatPtr threat, const torch::Tensor& delta_in) {
  if (!threat) throw Error("Universal needs a threat");
  const std::string n = threat->name();
  if (dynamic_cast<const LpThreat*>(threat.get()) == nullptr ||
      (n != "Linf" && n != "L2" && n != "L1")) {
    throw Error(
        "Universal adds one perturbation to every input, so it needs a Linf, L2 or L1 "
        "threat, got " +
        threat->describe());
  }
  if (delta_in.dim() == 0) {
    throw Error("Universal's perturbation must be shaped like one input, got a number");
  }
  const auto delta = delta_in.detach().to(torch::kFloat32);
  return std::make_shared<FixedPerturbation>(std::move(threat), delta);
}

}  // namespace perturb
