// FGSM (Goodfellow et al. 2015): one full-size step along the loss gradient.
#include "runtime/attack/attack_util.h"
#include "runtime/attack/feature.h"
#include "runtime/attack/threat_search.h"

namespace perturb {
namespace {

class Fgsm : public Attack {
 public:
  Fgsm(ThreatPtr threat, GradientOptions gradient)
      : threat_(std::move(threat)), gradient_(std::move(gradient)) {
    gradient_.check("FGSM");
    check_feature_start("FGSM", gradient_, /*random_start=*/false);
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
    const auto target = resolve_target(model, x, y, gradient_, gen, stats);
    return attack(*threat_, model, x, y, target, gen, stats);
  }

  // One full step under `threat`; a union keeps the worse member per sample; parametric and
  // composed threats step once on their search state (each part's default step for one step:
  // parameters go to the ends of their ranges, like an Lp FGSM goes to the ball's surface).
  torch::Tensor attack(const Threat& threat, Model& model, const torch::Tensor& x,
                       const torch::Tensor& y, const torch::Tensor& target, at::Generator& gen,
                       AttackStats* stats) const {
    const auto score = goal_score(model, y, target, gradient_, stats);
    const auto worst = worst_over_members(
        threat, [&](const ThreatPtr& m) { return attack(*m, model, x, y, target, gen, stats); },
        score);
    if (worst.defined()) return worst;
    auto gradient = [&](const torch::Tensor& x_adv) {
      return loss_gradient(model, x_adv, y, gradient_, stats, target);
    };
    if (!threat.additive()) {
      const auto grid = threat.grid_states(x);
      if (!grid.empty()) {
        return search_grid(threat, x, grid, score);
      }
      return search_state(threat, x, gen, /*random_start=*/false, 1, std::nullopt, gradient);
    }
    const auto grad = gradient(x);
    return threat.project(threat.ascend(x, grad, threat.eps()), x);
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
