// Attacks: (model, x, y, threat) → x_adv, batched, device-aware, seeded.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "runtime/attack/loss.h"
#include "runtime/model/model.h"
#include "runtime/threat/threat.h"

namespace perturb {

struct AttackStats {
  int64_t gradient_evals = 0;  // samples × gradient computations
  int64_t queries = 0;         // samples × forward passes without gradient
  // Early stop (can_stop_early): the gradient evaluations the fooled samples would still have
  // cost without it — the steps and restarts they skipped. 0 with the reference semantics.
  int64_t gradient_evals_saved = 0;
};

// The counts summed over the ranks of the process's group (runtime/distributed/share.h); the
// counts themselves for one process.
AttackStats summed_over_ranks(const AttackStats& stats);

class Attack {
 public:
  virtual ~Attack() = default;
  // "PGD"
  virtual std::string name() const = 0;
  // "PGD(Linf(eps: 0.1, domain: [0, 1]), steps: 20, step: 0.01, random_start: true, restarts: 1)"
  virtual std::string describe() const = 0;
  // x_adv for (x, y): the model is put in eval mode for the attack and its mode restored after
  // (ModeGuard); x_adv is always inside threat(); gradients are computed with
  // torch::AutoGradMode(true) even if the caller is in no-grad mode. x_adv is on the model's
  // device.
  virtual torch::Tensor run(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                            at::Generator& gen, AttackStats* stats = nullptr) const = 0;
  virtual ThreatPtr threat() const = 0;
  // Attack params (steps, step, restarts...) or threat params (eps, domain), the latter
  // forwarded to the threat.
  virtual std::shared_ptr<Attack> with(const Params& params) const = 0;
  // Whether with({{"early_stop", Interval{1, 1}}}) is understood: run() then takes a sample
  // out of the remaining steps and restarts as soon as it is fooled, keeping its first
  // adversarial example, so fooled samples cost no further gradient evaluations or queries.
  // Without it run() keeps the reference semantics (every step). evaluate() turns it on for
  // every attack that answers true here.
  virtual bool can_stop_early() const { return false; }
};

using AttackPtr = std::shared_ptr<const Attack>;

// torchattacks FGSM generalised: threat->ascend(x, ∇loss, eps), then project. `gradient`
// picks the loss, targeted mode and EOT (runtime/attack/loss.h).
AttackPtr make_fgsm(ThreatPtr threat, GradientOptions gradient = {});

struct PgdOptions {
  int64_t steps = 10;
  std::optional<double> step;  // defaults to threat->default_step(steps)
  bool random_start = true;
  int64_t restarts = 1;
  GradientOptions gradient;  // loss, target, eot (runtime/attack/loss.h)
  // A sample leaves once fooled (its first adversarial point kept), skipping its remaining
  // steps and restarts. Needs eot = 1 and objective "class"; parametric and composed threats
  // (the state search) keep every step.
  bool early_stop = false;
};

// torchattacks PGD: random start = threat->sample(x), then steps of ascend(CE grad) → project;
// restarts keep, per sample, the first x_adv that fools the model (else the last).
// early_stop: a sample leaves at the first step whose logits show it fooled.
AttackPtr make_pgd(ThreatPtr threat, PgdOptions options);

using UpdateFn =
    std::function<torch::Tensor(const torch::Tensor& x_adv, const torch::Tensor& grad)>;

struct IterativeOptions {
  int64_t steps = 10;
  bool random_start = false;
  bool early_stop = false;  // a sample leaves once misclassified, keeping that point
};

// x_adv ← project(update(x_adv, ∇CE)) for `steps`; the update is a user callback (exceptions
// it throws propagate).
AttackPtr make_iterative(ThreatPtr threat, IterativeOptions options, UpdateFn update);

}  // namespace perturb
