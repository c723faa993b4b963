// FGSM (Goodfellow et al. 2015): one full-size step along the loss gradient.
#include "runtime/attack/attack_util.h"

namespace perturb {
namespace {

class Fgsm : public Attack {
 public:
  Fgsm(ThreatPtr threat, GradientOptions gradient)
      : threat_(std::move(threat)), gradient_(std::move(gradient)) {
    gradient_.check("FGSM");
  }

  std::string name() const override { return "FGSM"; }
  std::string describe() const override {
    return "FGSM(" + threat_->describe() + gradient_.describe() + ")";
  }
  ThreatPtr threat() const override { return threat_; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    AttackModeGuard mode(model, gradient_);
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    const auto target = resolve_target(model, x, y, gradient_.target, gen, stats);
    const auto grad = loss_gradient(model, x, y, gradient_, stats, target);
    return threat_->project(threat_->ascend(x, grad, threat_->eps()), x);
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    GradientOptions gradient = gradient_;
    for (const auto& [key, value] : params) apply_gradient_param(name(), gradient, key, value);
    return std::make_shared<Fgsm>(forward_to_threat(name(), kGradientParamNames, threat_, params),
                                  gradient);
  }

 private:
  ThreatPtr threat_;
  GradientOptions gradient_;
};

}  // namespace

AttackPtr make_fgsm(ThreatPtr threat, GradientOptions gradient) {
  return std::make_shared<Fgsm>(std::move(threat), std::move(gradient));
}

}  // namespace perturb
