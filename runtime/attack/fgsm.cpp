// FGSM (Goodfellow et al. 2015): one full-size step along the loss gradient.
#include "runtime/attack/attack_util.h"

namespace perturb {
namespace {

class Fgsm : public Attack {
 public:
  explicit Fgsm(ThreatPtr threat) : threat_(std::move(threat)) {}

  std::string name() const override { return "FGSM"; }
  std::string describe() const override { return "FGSM(" + threat_->describe() + ")"; }
  ThreatPtr threat() const override { return threat_; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    ModeGuard eval(model, /*training=*/false);
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    const auto grad = loss_gradient(model, x, y, stats);
    return threat_->project(threat_->ascend(x, grad, threat_->eps()), x);
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    return std::make_shared<Fgsm>(forward_to_threat(name(), {}, threat_, params));
  }

 private:
  ThreatPtr threat_;
};

}  // namespace

AttackPtr make_fgsm(ThreatPtr threat) {
  return std::make_shared<Fgsm>(std::move(threat));
}

}  // namespace perturb
