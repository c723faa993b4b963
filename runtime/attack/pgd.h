// PGD's class, visible inside the runtime so TRADES training can read its steps and step size.
#pragma once

#include "runtime/attack/attack.h"

namespace perturb {

class Pgd : public Attack {
 public:
  Pgd(ThreatPtr threat, PgdOptions options);

  std::string name() const override { return "PGD"; }
  std::string describe() const override;
  ThreatPtr threat() const override { return threat_; }
  torch::Tensor run(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                    at::Generator& gen, AttackStats* stats) const override;
  std::shared_ptr<Attack> with(const Params& params) const override;
  // With eot 1, objective "class", and an additive threat or a union with an additive member.
  bool can_stop_early() const override;

  int64_t steps() const { return options_.steps; }
  // The explicit step, or the threat's default for this many steps.
  double step() const;

 private:
  // After the target is resolved: unions member by member, then restarts of run_once.
  torch::Tensor run_resolved(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& target, at::Generator& gen,
                             AttackStats* stats) const;
  // One restart: optional random start, then `steps` of ascend → project (for parametric and
  // composed threats: the same on the threat's search state, runtime/attack/threat_search.h).
  torch::Tensor run_once(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                         const torch::Tensor& target, at::Generator& gen, AttackStats* stats) const;
  // Every restart with early stop on an additive threat: a sample leaves at the first point
  // whose logits (from its gradient step, or the check after a restart) show it fooled.
  torch::Tensor run_early(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                          const torch::Tensor& target, at::Generator& gen,
                          AttackStats* stats) const;

  ThreatPtr threat_;
  PgdOptions options_;
};

}  // namespace perturb
