// Universal adversarial perturbations: one perturbation delta, shared by every input, learnt over
// a dataset (Moosavi-Dezfooli et al. 2017, "Universal adversarial perturbations"), with the
// stochastic-gradient solver of Shafahi et al. 2020 ("Universal adversarial training", Alg. 1
// with the clipped loss of their eq. 5):
//
//   max_{δ ∈ B}  E_{(x,y)} [ min( ℓ(f(clamp(x + δ, domain)), y), β ) ]
//
// solved by projected steps on minibatches, epoch by epoch over the data:
//   g ← ∇_δ (1/|B|) Σ_{(x,y)∈B} min(ℓ(f(clamp(x + δ)), y), β)
//   δ ← Π_B(ascend(δ, g, step))
// where ascend is the threat's steepest-ascent step (sign for Linf, normalised for L2, sparse
// for L1) and Π_B the threat's projection onto its ball (the domain box is enforced on x + δ,
// not on δ). Applying the attack to x gives clamp(x + δ, domain).
#pragma once

#include <optional>

#include "runtime/attack/attack.h"

namespace perturb {

struct UapOptions {
  int64_t epochs = 5;          // passes over the data
  int64_t batch = 128;         // minibatch size of each step
  std::optional<double> step;  // defaults to eps/2 (L0: the threat's own step, 1)
  double beta = 9;             // Shafahi et al.'s loss clip β (eq. 5); infinity disables it
  GradientOptions gradient;    // loss "ce" (default), "cw", "dlr"; target:; eot:
};

// A universal perturbation attack. Not fitted: run(x, y) first learns δ on (x, y) itself (the
// semantics of ART's UniversalPerturbation.generate), then applies it. fit(data) returns a
// fitted copy whose run applies the one δ learnt on the data to any input.
class Uap : public Attack {
 public:
  // Throws Error for a threat that is not an additive Lp ball (Linf, L2, L1, L0) or bad options.
  Uap(ThreatPtr threat, UapOptions options);

  std::string name() const override { return "UAP"; }
  std::string describe() const override;
  torch::Tensor run(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                    at::Generator& gen, AttackStats* stats = nullptr) const override;
  ThreatPtr threat() const override { return threat_; }
  // Options or threat parameters changed; the result is not fitted (δ belongs to the old ones).
  std::shared_ptr<Attack> with(const Params& params) const override;

  // δ learnt over (x [N, ...], y [N]) by the equations above; a fitted copy of this attack.
  // After each epoch the fooling rate of δ on (x, y) is measured (the fraction of inputs whose
  // predicted class changes under δ, ART's fooling_rate); the epoch-end δ with the highest rate
  // is kept (with a fixed target class: the highest share classified as the target; with
  // "random"/"least_likely" targets: the last δ), and its fooling rate recorded.
  std::shared_ptr<Uap> fit(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                           at::Generator& gen, AttackStats* stats = nullptr) const;

  bool fitted() const { return delta_.defined(); }
  // δ shaped [1, ...] like one input; Error if not fitted.
  torch::Tensor perturbation() const;
  // Fooling rate on the data fit() used, and its size (0 when not fitted).
  double fit_fooling_rate() const { return fooling_rate_; }
  int64_t fit_samples() const { return fit_samples_; }
  const UapOptions& options() const { return options_; }
  // The step size of a fit with `steps` updates in all.
  double step(int64_t steps) const;

 private:
  ThreatPtr threat_;
  ThreatPtr ball_;  // the threat's ball around 0 with the domain widened to ±(hi − lo), for δ
  UapOptions options_;
  torch::Tensor delta_;
  double fooling_rate_ = 0;
  int64_t fit_samples_ = 0;
};

std::shared_ptr<const Uap> make_uap(ThreatPtr threat, UapOptions options);

// The fraction of inputs whose predicted class changes between x and x_adv (batched, no grad,
// eval mode): ART's fooling rate.
double fooling_rate(Model& model, const torch::Tensor& x, const torch::Tensor& x_adv,
                    int64_t batch = 512);

}  // namespace perturb
